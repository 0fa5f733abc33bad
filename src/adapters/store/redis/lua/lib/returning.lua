-- Returning users: one bit per number of a block, set when the number verifies, in generations
-- of half the window each (`otp:proven:{<tag>}<rest of the block>:<generation>`, the block's hash
-- tag, so on its pump hash's slot). A number is proven while its bit is set in the generation of
-- now or the one before (or the one after: gateways' clocks may straddle a boundary). verified.lua
-- sets the bits.
--
-- is_proven(keys, index): whether the bit `index` is set in any of the generations' keys.
local function is_proven(keys, index)
  for _, key in ipairs(keys) do
    if redis.call('GETBIT', key, index) == 1 then return true end
  end
  return false
end

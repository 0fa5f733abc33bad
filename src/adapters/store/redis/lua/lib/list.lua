-- list(text): a comma-joined argument as a Lua list. A policy's numbers travel as one
-- argument (`1,60000,3,600000`): a script's arguments cost the gateway by their count.
local function list(text)
  local items = {}
  for item in string.gmatch(text, '[^,]+') do items[#items + 1] = item end
  return items
end

import { PUMP_FN } from "./pumping-scripts";
import { WINDOW_FN } from "./redis-scripts";

/**
 * A send's phone windows and its prefix's pumping check in one atomic step: the
 * two keys share a hash tag (the number's prefix), so one Cluster slot.
 * KEYS[1]: the phone's send events; KEYS[2]: the prefix's hash.
 * ARGV[1]: member; ARGV[2]: n, the count of window arguments; ARGV[3..2+n]:
 * limit and window ms of each window; ARGV[3+n]: `monitor` or `enforce`; then
 * PUMP_CHECK's arguments (number, window ms, …).
 * When the windows refuse, the prefix is not asked (nothing counted); when the
 * prefix is blocked in enforce mode, the phone's event is not recorded.
 * Returns the window's six numbers (as HIT) and the pumping verdict's four
 * (state, remaining ms, strikes, counted bucket or -1), the verdict -1 when not asked.
 */
export const ADMIT_LUA = `${WINDOW_FN}${PUMP_FN}
local n = tonumber(ARGV[2])
local w, pa = {}, {}
for i = 3, 2 + n do w[#w + 1] = ARGV[i] end
for i = 4 + n, #ARGV do pa[#pa + 1] = ARGV[i] end
local now, longest, counted, r = window_decide(KEYS[1], ARGV[1], w)
if r[1] == 0 then return {r[1], r[2], r[3], r[4], r[5], 0, -1, 0, 0, -1} end
local p = pump_check(KEYS[2], pa, now)
local recorded = 0
if p[1] == 0 or ARGV[3 + n] ~= 'enforce' then
  if not counted then
    window_record(KEYS[1], ARGV[1], now, longest)
    recorded = 1
  end
end
return {r[1], r[2], r[3], r[4], r[5], recorded, p[1], p[2] or 0, p[3] or 0, p[4] or -1}
`;

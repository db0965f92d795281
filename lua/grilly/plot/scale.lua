-- Axis ranges, tick positions and tick labels shared by every renderer, so
-- that the SVG, the PNG and the terminal plot of one figure agree.
local scale = {}

local floor, ceil, abs, log10 = math.floor, math.ceil, math.abs, math.log10

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- Smallest and largest finite value of the arrays in list (nil when none);
-- with positive_only, only values > 0 count (for a log axis).
function scale.extent(list, positive_only)
  local lo, hi
  for _, values in ipairs(list) do
    for i = 1, #values do
      local v = values[i]
      if finite(v) and (not positive_only or v > 0) then
        if not lo or v < lo then lo = v end
        if not hi or v > hi then hi = v end
      end
    end
  end
  return lo, hi
end

-- A step of 1, 2 or 5 times a power of ten that cuts span into about n parts.
local function nice_step(span, n)
  local raw = span / n
  local mag = 10 ^ floor(log10(raw))
  local r = raw / mag
  local m = r < 1.5 and 1 or r < 3 and 2 or r < 7 and 5 or 10
  return m * mag
end

-- The fewest decimals that write step exactly (to 1e-9 relative).
local function decimals_for(step)
  for d = 0, 15 do
    local scaled = step * 10 ^ d
    if abs(scaled - floor(scaled + 0.5)) <= 1e-9 * scaled then return d end
  end
  return 15
end

-- Compact number text: "0.25", "1200", "1e-4", "2.5e6". step, when given, is
-- the tick spacing, which decides how many digits a label needs.
function scale.format(v, step)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if v == 0 then return "0" end
  local a = abs(v)
  if a >= 1e5 or a < 1e-3 then
    local digits = 3
    if step and step > 0 then
      digits = math.max(1, math.min(15, floor(log10(a) + 1e-9) - floor(log10(step) + 1e-9) + 1))
    end
    local s = string.format("%." .. (digits - 1) .. "e", v)
    local mant, exp = s:match("^(.-)e(.*)$")
    if mant:find("%.") then mant = mant:gsub("0+$", ""):gsub("%.$", "") end
    local sign, num = exp:match("^([+-])0*(%d+)$")
    return mant .. "e" .. (sign == "-" and "-" or "") .. num
  end
  if step and step > 0 then
    return string.format("%." .. decimals_for(step) .. "f", v)
  end
  local s = string.format("%.4g", v)
  return s
end

-- Linear ticks inside [lo, hi]: { {value, label}, ... }.
local function linear_ticks(lo, hi, n)
  local step = nice_step(hi - lo, n)
  local ticks = {}
  local first = ceil(lo / step - 1e-9)
  local last = floor(hi / step + 1e-9)
  -- Counted from 0: where lo / step is beyond 2^53, first + 1 == first and a
  -- loop over k itself would never end.
  for i = 0, last - first do
    local v = (first + i) * step
    if abs(v) < step * 1e-9 then v = 0 end
    ticks[#ticks + 1] = { value = v, label = scale.format(v, step) }
  end
  return ticks
end

-- Log ticks inside [lo, hi] (both > 0): decades, then 1-2-5 within decades when
-- there are too few decades, and linear ticks for a range under one decade.
local function log_ticks(lo, hi, n)
  local llo, lhi = log10(lo), log10(hi)
  local ticks = {}
  local function add_decades(mults)
    ticks = {}
    for e = floor(llo) - 1, ceil(lhi) + 1 do
      for _, m in ipairs(mults) do
        local v = m * 10 ^ e
        local lv = log10(v)
        if lv >= llo - 1e-9 and lv <= lhi + 1e-9 then
          ticks[#ticks + 1] = { value = v, label = scale.format(v, 10 ^ e) }
        end
      end
    end
  end
  add_decades({ 1 })
  if #ticks > n + 1 then
    local every = ceil(#ticks / n)
    local thinned = {}
    for i, t in ipairs(ticks) do
      if (i - 1) % every == 0 then thinned[#thinned + 1] = t end
    end
    return thinned
  end
  if #ticks < 3 then add_decades({ 1, 2, 5 }) end
  if #ticks < 2 then return linear_ticks(lo, hi, n) end
  return ticks
end

-- The axis of a panel for the given arrays: { lo, hi, log, ticks }, where lo/hi
-- are in plotted coordinates (log10 of the value on a log axis) and each tick
-- has value, label and pos (its plotted coordinate). pad widens the range by a
-- fraction on each side. A log axis is used only when asked and every finite
-- value is positive; log reports what was used.
function scale.axis(list, opts)
  opts = opts or {}
  local want_log = opts.log
  local n = opts.ticks or 5
  local lo, hi = scale.extent(list)
  if want_log and lo and lo <= 0 then want_log = false end
  if not lo then lo, hi = 0, 1 end
  local ticks
  if want_log then
    if lo == hi then lo, hi = lo / 2, hi * 2 end
    ticks = log_ticks(lo, hi, n)
    for _, t in ipairs(ticks) do t.pos = log10(t.value) end
    lo, hi = log10(lo), log10(hi)
  else
    if lo == hi then
      local d = lo == 0 and 1 or abs(lo) * 0.1
      lo, hi = lo - d, hi + d
    end
    ticks = linear_ticks(lo, hi, n)
    for _, t in ipairs(ticks) do t.pos = t.value end
  end
  local pad = (opts.pad or 0) * (hi - lo)
  return { lo = lo - pad, hi = hi + pad, log = want_log or false, ticks = ticks }
end

-- The plotted coordinate of a value on an axis (nil when it cannot be shown).
function scale.position(axis, v)
  if not finite(v) then return nil end
  if axis.log then
    if v <= 0 then return nil end
    return log10(v)
  end
  return v
end

return scale

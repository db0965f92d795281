-- Vulkan tensor benchmark (issue: Vulkan backend): copy bandwidth, element-wise
-- add and (correctly rounded) division at 1e8, fp32 matmul at 4096, and dispatch overhead of 1000 small ops
-- batched into one submit against the same loop with a fence wait per op.
-- Prints one JSON object. Run: make bench-gpu (GRILLY_DEVICE picks the device).
local grilly = require "grilly"
local timing = require "timing"
local encode = require "json_encode"

local device = os.getenv("GRILLY_DEVICE") or "vulkan"
local function dev(opts) opts = opts or {}; opts.device = device; return opts end

-- Best seconds per call over `reps` runs of `iters` calls, synchronised at both ends.
local function time(iters, reps, fn)
  return timing.best_per_call(function() grilly.synchronize(device) end, iters, reps, fn)
end

local out = {}
for _, d in ipairs(grilly.devices()) do
  if d.device == device or (device == "vulkan" and d.device == "vulkan:0") then out.device = d.name end
end

grilly.manual_seed(1)
out.copy = {}
for _, n in ipairs{1e6, 1e7, 1e8} do
  local src, dst = grilly.rand(n, dev()), grilly.empty(n, dev())
  local s = time(20, 3, function() dst:copy_(src) end)
  out.copy[#out.copy + 1] = {n = n, ms = s * 1e3, GBps = 8 * n / s / 1e9}
  src:free(); dst:free()
end

do
  local n = 1e8
  local a, b = grilly.rand(n, dev()), grilly.rand(n, dev())
  local s_new = time(20, 3, function() local c = a + b; c:free() end)
  local s_inplace = time(20, 3, function() a:add_(b) end)
  out.add = {n = n, ms = s_new * 1e3, GBps = 12 * n / s_new / 1e9,
             inplace_ms = s_inplace * 1e3, inplace_GBps = 12 * n / s_inplace / 1e9}
  b:add_(0.5)
  local s_div = time(20, 3, function() local c = b / a; c:free() end)
  out.div = {n = n, ms = s_div * 1e3, GBps = 12 * n / s_div / 1e9}
  a:free(); b:free()
end

do
  local n = 4096
  local a, b = grilly.randn({n, n}, dev()), grilly.randn({n, n}, dev())
  local s = time(10, 3, function() local c = a:matmul(b); c:free() end)
  out.matmul = {n = n, ms = s * 1e3, TFLOPs = 2 * n ^ 3 / s / 1e12}
  a:free(); b:free()
end

do
  local ops, n = 1000, 1000
  local x, y = grilly.rand(n, dev()), grilly.rand(n, dev())
  local batched = time(1, 5, function() for _ = 1, ops do x:add_(y) end end)
  local fenced = time(1, 5, function()
    for _ = 1, ops do x:add_(y); grilly.synchronize(device) end
  end)
  out.dispatch = {ops = ops, elements = n, batched_us_per_op = batched / ops * 1e6,
                  fenced_us_per_op = fenced / ops * 1e6}
end

print(encode(out))

-- Vulkan optimizer benchmark (the fused step): for 1e6, 1e7 and 1e8 parameters
-- in 1 tensor and in 200 tensors, the step time of AdamW (nonfinite = "skip",
-- the default, and "propagate") and of AutoHypergradientAdamW without and
-- with surprise, each beside the copy bandwidth grilly's copy_ reaches moving
-- the same bytes; then the small-model step (50 tensors of 1e3..1e5 elements,
-- 1000 steps, one synchronize at the end) with the command stream's submits,
-- host waits and dispatches per step. Prints one JSON object to stdout and
-- progress to stderr. Run: make bench-gpu (GRILLY_DEVICE picks the device;
-- GRILLY_BENCH_OPTIM_SIZES="1e6,1e7" limits the sizes).
--
-- Times are device time (grilly.device_time: GPU timestamps around runs of
-- back-to-back steps, as torch_baseline.py times torch with CUDA events);
-- `wall_ms` beside them is the host's clock around the same runs, from the
-- first step's recording to the wait for the last.
--
-- Bytes per parameter a step moves (docs/optimizers.md): AdamW 28 under
-- "propagate", 32 under "skip" (pass 1 reads g for the non-finite check);
-- AutoHypergradientAdamW 40, 48 with surprise. `copy_fraction` is the
-- step's bandwidth at those bytes over copy_'s at the same byte count.
local grilly = require "grilly"
local timing = require "timing"
local encode = require "json_encode"

local device = os.getenv("GRILLY_DEVICE") or "vulkan"
local SIZES = {}
for s in (os.getenv("GRILLY_BENCH_OPTIM_SIZES") or "1e6,1e7,1e8"):gmatch("[^,]+") do SIZES[#SIZES + 1] = tonumber(s) end
local LAYOUTS = { 1, 200 }
local ITERS, REPS = 20, 3

local CASES = {
  { name = "adamw", class = "AdamW", options = {}, bytes = 32 },
  { name = "adamw_propagate", class = "AdamW", options = { nonfinite = "propagate" }, bytes = 28 },
  { name = "auto", class = "AutoHypergradientAdamW", options = {}, bytes = 40 },
  { name = "auto_surprise", class = "AutoHypergradientAdamW", options = { track_surprise = true }, bytes = 48 },
}

local function log(fmt, ...) io.stderr:write(("optim bench: " .. fmt .. "\n"):format(...)) end
local function dev() return { device = device } end

local function release(list)
  for _, t in ipairs(list) do t:free() end
  collectgarbage()
  collectgarbage()
end

-- Best device seconds and best wall seconds per call of fn over REPS runs of
-- `iters` back-to-back calls each, after one warm-up call.
local function time(iters, fn)
  local run = function() for _ = 1, iters do fn() end end
  fn()
  local device_s = math.huge
  for _ = 1, REPS do device_s = math.min(device_s, (grilly.device_time(run, device)) / iters) end
  local wall_s = timing.best_per_call(function() grilly.synchronize(device) end, iters, REPS, fn)
  return device_s, wall_s
end

-- copy_ bandwidth moving `bytes` (each element read once and written once), on the device's clock.
local function copy_GBps(bytes)
  local n = math.floor(bytes / 8)
  local src, dst = grilly.rand(n, dev()), grilly.empty(n, dev())
  local s = time(ITERS, function() dst:copy_(src) end)
  release { src, dst }
  return bytes / s / 1e9
end

-- Parameters and gradients of `total` elements in `count` tensors (sizes as
-- bench/gpu/torch_baseline.py makes them).
local function problem(total, count)
  local params, grads, list = {}, {}, {}
  local each = math.floor(total / count)
  for i = 1, count do
    local size = i == count and total - each * (count - 1) or each
    local p, g = grilly.randn(size, dev()), grilly.randn(size, dev())
    params[i] = p
    grads[p] = g
    list[#list + 1] = p
    list[#list + 1] = g
  end
  return params, grads, list
end

local function measure(case, params, grads, total)
  local opt = grilly.optim[case.class](params, case.options)
  for _ = 1, 12 do opt:step(grads) end   -- past the warmup: every pass as in training
  local s, wall = time(ITERS, function() opt:step(grads) end)
  opt:free()
  collectgarbage()
  return { ms = s * 1e3, wall_ms = wall * 1e3, GBps = case.bytes * total / s / 1e9 }
end

local out = { steps_timed = ITERS, reps = REPS, sizes = {} }
for _, d in ipairs(grilly.devices()) do
  if d.device == device or (device == "vulkan" and d.device == "vulkan:0") then out.device = d.name end
end
grilly.manual_seed(1)

for _, total in ipairs(SIZES) do
  local entry = { params = total, copy_GBps = {}, layouts = {} }
  out.sizes[#out.sizes + 1] = entry
  local copies = {}
  for _, case in ipairs(CASES) do
    local key = tostring(case.bytes)
    if not copies[key] then
      log("%g parameters: copy_ bandwidth at %d B/param", total, case.bytes)
      local ok, r = pcall(copy_GBps, case.bytes * total)
      copies[key] = ok and r or nil
      entry.copy_GBps[key] = ok and r or ("failed: " .. tostring(r))
    end
  end
  for _, count in ipairs(LAYOUTS) do
    local layout = { tensors = count }
    entry.layouts[#entry.layouts + 1] = layout
    log("%g parameters in %d tensor(s)", total, count)
    local ok, params, grads, list = pcall(problem, total, count)
    if not ok then
      layout.error = tostring(params)
    else
      for _, case in ipairs(CASES) do
        log("  %s", case.name)
        local fine, r = pcall(measure, case, params, grads, total)
        if fine then
          local copy = copies[tostring(case.bytes)]
          r.bytes_per_param = case.bytes
          r.copy_fraction = copy and r.GBps / copy or nil
          layout[case.name] = r
        else
          layout[case.name] = { error = tostring(r) }
        end
      end
      release(list)
    end
  end
end

-- The small model: 50 tensors of floor(1000 * 100^(i/49)) elements.
do
  local params, grads, list, total = {}, {}, {}, 0
  for i = 0, 49 do
    local size = math.floor(1000 * 100 ^ (i / 49))
    local p, g = grilly.randn(size, dev()), grilly.randn(size, dev())
    params[#params + 1] = p
    grads[p] = g
    list[#list + 1] = p
    list[#list + 1] = g
    total = total + size
  end
  out.small_model = { tensors = 50, params = total, steps = 1000 }
  for _, case in ipairs(CASES) do
    log("small model: %s", case.name)
    local opt = grilly.optim[case.class](params, case.options)
    for _ = 1, 12 do opt:step(grads) end
    grilly.synchronize(device)
    local before = grilly.stream_stats(device)
    local t0 = timing.now()
    for _ = 1, 1000 do opt:step(grads) end
    local recorded = grilly.stream_stats(device)
    grilly.synchronize(device)
    local s = timing.now() - t0
    local after = grilly.stream_stats(device)
    local on_device = grilly.device_time(function() for _ = 1, 1000 do opt:step(grads) end end, device)
    out.small_model[case.name] = {
      us_per_step = s / 1000 * 1e6,
      device_us_per_step = on_device / 1000 * 1e6,
      submits_per_step = (after.submits - before.submits) / 1000,
      waits_per_step = (after.waits - before.waits) / 1000,
      dispatches_per_step = (after.dispatches - before.dispatches) / 1000,
      waits_while_stepping = recorded.waits - before.waits,
    }
    opt:free()
  end
  release(list)
end

print(encode(out))

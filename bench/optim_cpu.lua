-- CPU optimizer benchmark: the step time of AdamW and AutoHypergradientAdamW
-- at 1e7 parameters, against plain memcpy moving the same bytes, in this
-- one process.   Run: make bench-optim-cpu   (GRILLY_BENCH_OPTIM_N sets the size)
--
-- Bytes a step moves per parameter: AdamW 28 (read p, g, m, v; write p, m, v)
-- plus 4 for the non-finite check of nonfinite = "skip" (pass 1 reads g);
-- the hypergradient step 40 (pass 1 reads g, m, v), 52 with surprise on
-- the CPU (pass 1 reads ema_g, pass 2 reads and writes it).
local ffi = require "ffi"
local grilly = require "grilly"
local timing = require "timing"

ffi.cdef [[
void baseline_memcpy(void *dst, const void *src, size_t nbytes);
]]
local baseline = ffi.load("build/bench/libbaseline.so")

local N = tonumber(os.getenv("GRILLY_BENCH_OPTIM_N")) or 10000000
local REPS = 10

local CASES = {
  { "AdamW", { nonfinite = "propagate" }, 28, "AdamW, nonfinite = propagate" },
  { "AdamW", {}, 32, "AdamW (nonfinite = skip)" },
  { "AutoHypergradientAdamW", { warmup_steps = 0 }, 40, "AutoHypergradientAdamW" },
  { "AutoHypergradientAdamW", { warmup_steps = 0, track_surprise = true }, 52,
    "AutoHypergradientAdamW, track_surprise" },
}

-- memcpy of bytes/2 moves `bytes` (each byte read once and written once).
local function memcpy_seconds(bytes)
  local half = math.floor(bytes / 2)
  local src, dst = ffi.new("char[?]", half), ffi.new("char[?]", half)
  ffi.fill(src, half, 1)
  ffi.fill(dst, half, 2)
  return timing.best(REPS, function() baseline.baseline_memcpy(dst, src, half) end)
end

print(("machine: %s"):format(timing.machine()))
print(("%-44s %8s %10s %10s %12s %10s"):format("optimizer step, " .. N .. " parameters", "B/param", "ms",
  "GB/s", "memcpy GB/s", "fraction"))
grilly.manual_seed(1)
local p, g = grilly.randn({ N }, { device = "cpu" }), grilly.randn({ N }, { device = "cpu" })
for _, case in ipairs(CASES) do
  local opt = grilly.optim[case[1]]({ p }, case[2])
  local grads = { [p] = g }
  for _ = 1, 3 do opt:step(grads) end   -- state created, adaptation and surprise running
  local t = timing.best(REPS, function() opt:step(grads) end)
  local bytes = case[3] * N
  local t_copy = memcpy_seconds(bytes)
  print(("%-44s %8d %10.3f %10.2f %12.2f %10.2f"):format(case[4], case[3], t * 1e3, bytes / t / 1e9,
    bytes / t_copy / 1e9, t_copy / t))
  opt:free()
  collectgarbage()
end
print("fraction: memcpy time over step time for the same bytes (target >= 0.70)")

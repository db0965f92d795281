-- Wall-clock timing helpers for the benchmarks.
local ffi = require "ffi"

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } grilly_bench_timespec;
int clock_gettime(int clk_id, grilly_bench_timespec *tp);
]]

local timing = {}
local ts = ffi.new("grilly_bench_timespec")
local CLOCK_MONOTONIC = 1

function timing.now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Best (minimum) seconds per call of fn over `reps` timed calls after one warm-up.
function timing.best(reps, fn)
  fn()
  local best = math.huge
  for _ = 1, reps do
    local t0 = timing.now()
    fn()
    local dt = timing.now() - t0
    if dt < best then best = dt end
  end
  return best
end

-- Best seconds per call of fn over `reps` runs of `iters` calls after one
-- warm-up call, with sync() (a device's synchronize) at both ends of each run.
function timing.best_per_call(sync, iters, reps, fn)
  fn()
  local best = math.huge
  for _ = 1, reps do
    sync()
    local t0 = timing.now()
    for _ = 1, iters do fn() end
    sync()
    best = math.min(best, (timing.now() - t0) / iters)
  end
  return best
end

-- The machine, for the report.
function timing.machine()
  local f = io.open("/proc/cpuinfo")
  local model = f and f:read("*a"):match("model name%s*:%s*([^\n]+)") or "unknown CPU"
  if f then f:close() end
  local p = io.popen("nproc --all")
  local cores = p:read("*l")
  p:close()
  return string.format("%s, %s cores", model, cores)
end

return timing

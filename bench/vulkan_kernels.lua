-- Times the Vulkan kernels on the default (or GRILLY_DEVICE) Vulkan device:
-- fp32 matmul throughput and element-wise bandwidth.
-- Run from the project root:  luajit bench/vulkan_kernels.lua [matmul sizes...]
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local grilly = require "grilly"
local ffi = require "ffi"

ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk, bench_timespec *ts);
]]
local function now()
  local ts = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local device = os.getenv("GRILLY_DEVICE") or "vulkan"
for _, d in ipairs(grilly.devices()) do
  print(string.format("%-9s %-40s %s", d.device, d.name, d.type))
end
print("benchmarking on " .. device)

-- Best of `reps` timings of `iters` calls of fn, synchronised at both ends.
local function time(fn, iters, reps)
  local best = math.huge
  for _ = 1, reps do
    grilly.synchronize(device)
    local t0 = now()
    for _ = 1, iters do fn() end
    grilly.synchronize(device)
    best = math.min(best, (now() - t0) / iters)
  end
  return best
end

local sizes = {}
for i = 1, #arg do sizes[#sizes + 1] = tonumber(arg[i]) end
if #sizes == 0 then sizes = {1024, 2048, 4096} end
grilly.manual_seed(1)
for _, n in ipairs(sizes) do
  local a = grilly.rand({n, n}, {device = device})
  local b = grilly.rand({n, n}, {device = device})
  local c
  c = a:matmul(b)            -- builds the pipeline
  local t = time(function() c = a:matmul(b) end, n >= 4096 and 10 or 20, 3)
  print(string.format("matmul %5d^3 fp32: %8.3f ms  %7.2f TFLOP/s", n, t * 1e3, 2 * n ^ 3 / t / 1e12))
  a:free(); b:free(); c:free()
end

local n = 64 * 1024 * 1024
local x = grilly.rand({n}, {device = device})
local y = grilly.rand({n}, {device = device})
local t = time(function() x:add_(y) end, 20, 3)
print(string.format("add_ of %d floats: %8.3f ms  %7.1f GB/s (12 bytes per element)", n, t * 1e3, 12 * n / t / 1e9))
t = time(function() x:mul_(1.0001) end, 20, 3)
print(string.format("mul_ scalar:           %8.3f ms  %7.1f GB/s (8 bytes per element)", t * 1e3, 8 * n / t / 1e9))
t = time(function() return x:sum() end, 10, 3)
print(string.format("sum:                   %8.3f ms  %7.1f GB/s (4 bytes per element)", t * 1e3, 4 * n / t / 1e9))

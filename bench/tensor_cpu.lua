-- CPU tensor benchmark: element-wise add and matmul through grilly, against a
-- plain-C loop, a LuaJIT loop over a Lua table and OpenBLAS called directly,
-- all in this one process.   Run: make bench-cpu
local ffi = require "ffi"
local grilly = require "grilly"
local timing = require "timing"

ffi.cdef [[
void baseline_add(const float *a, const float *b, float *out, size_t n);
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
]]
local baseline = ffi.load("build/bench/libbaseline.so")
local blas = ffi.load("openblas")

local N_ADD = tonumber(os.getenv("GRILLY_BENCH_ADD_N")) or 10000000
local N_MM = tonumber(os.getenv("GRILLY_BENCH_MATMUL_N")) or 1024
local REPS = 10

print(("machine: %s"):format(timing.machine()))
print(("%-44s %12s %12s"):format("element-wise add, n = " .. N_ADD, "ms", "GB/s"))
local function report(name, seconds, bytes)
  print(("%-44s %12.3f %12.2f"):format(name, seconds * 1e3, bytes / seconds / 1e9))
end

-- Element-wise add: 3 floats moved per element (read a, read b, write out).
do
  grilly.manual_seed(1)
  local a, b = grilly.rand(N_ADD), grilly.rand(N_ADD)
  local bytes = 12 * N_ADD
  local t_inplace = timing.best(REPS, function() a:add_(b) end)
  local t_new = timing.best(REPS, function() local c = a + b; c:free() end)

  local fa, fb = ffi.new("float[?]", N_ADD), ffi.new("float[?]", N_ADD)
  local fc = ffi.new("float[?]", N_ADD)
  for i = 0, N_ADD - 1 do fa[i] = i % 7; fb[i] = i % 5 end
  local t_c = timing.best(REPS, function() baseline.baseline_add(fa, fb, fc, N_ADD) end)

  local la, lb, lc = {}, {}, {}
  for i = 1, N_ADD do la[i] = i % 7; lb[i] = i % 5; lc[i] = 0 end
  local t_lua = timing.best(3, function()
    for i = 1, N_ADD do lc[i] = la[i] + lb[i] end
  end)

  report("plain C loop (out = a + b)", t_c, bytes)
  report("grilly a:add_(b)", t_inplace, bytes)
  report("grilly a + b (new tensor)", t_new, bytes)
  report("LuaJIT loop over Lua tables", t_lua, bytes)
  print(("grilly add_ / plain C: %.2f of its throughput"):format(t_c / t_inplace))
end

-- matmul n x n x n: 2 n^3 flops.
do
  local n = N_MM
  local flops = 2 * n * n * n
  grilly.manual_seed(2)
  local a, b = grilly.randn(n, n), grilly.randn(n, n)
  local t_grilly = timing.best(REPS, function() local c = a:matmul(b); c:free() end)

  local fa, fb, fc = ffi.new("float[?]", n * n), ffi.new("float[?]", n * n), ffi.new("float[?]", n * n)
  for i = 0, n * n - 1 do fa[i] = (i % 13) / 13; fb[i] = (i % 11) / 11 end
  local RowMajor, NoTrans = 101, 111
  local t_blas = timing.best(REPS, function()
    blas.cblas_sgemm(RowMajor, NoTrans, NoTrans, n, n, n, 1, fa, n, fb, n, 0, fc, n)
  end)
  print(("%-44s %12s %12s"):format("matmul " .. n .. "x" .. n, "ms", "GFLOP/s"))
  print(("%-44s %12.3f %12.2f"):format("OpenBLAS cblas_sgemm directly", t_blas * 1e3, flops / t_blas / 1e9))
  print(("%-44s %12.3f %12.2f"):format("grilly a:matmul(b)", t_grilly * 1e3, flops / t_grilly / 1e9))
  print(("grilly matmul / OpenBLAS: %.2f of its throughput (target >= 0.80)"):format(t_blas / t_grilly))
end

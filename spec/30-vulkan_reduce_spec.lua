-- Reductions and dot products on a Vulkan device against the CPU results.
local grilly = require "grilly"
local gpu = require "gpu"

local ops = { "sum", "mean", "max", "min", "argmax", "norm" }
-- Float sums agree to float32 rounding of the CPU's double sums; the others exactly.
local tol = { sum = 2e-6, mean = 2e-6, norm = 2e-6, max = 0, min = 0, argmax = 0 }

local function check_all_dims(x, X, atol)
  for _, op in ipairs(ops) do
    local want, got = x[op](x), X[op](X)
    local slack = tol[op] * math.abs(want) + (tol[op] > 0 and (atol or 0) or 0)
    assert(math.abs(got - want) <= slack, string.format("%s over all: Vulkan %.9g, CPU %.9g", op, got, want))
    for d = 1, x:dim() do
      gpu.assert_close(X[op](X, d), x[op](x, d), tol[op], tol[op] > 0 and (atol or 1e-6) or 0)
      gpu.assert_close(X[op](X, d, true), x[op](x, d, true), tol[op], tol[op] > 0 and (atol or 1e-6) or 0)
    end
  end
end

describe("Vulkan reductions", function()
  if not gpu.available then return pending(gpu.reason) end

  it("reduce small and odd shapes along every dimension", function()
    for _, shape in ipairs { {1}, {7}, {255}, {257}, {3, 5}, {4, 1, 6}, {2, 33, 3} } do
      local x, X = gpu.pair(shape, 11)
      check_all_dims(x, X)
    end
  end)

  it("split long extents into segments and combine the partial results", function()
    -- one long row, a few long rows, long columns with many inner positions
    for _, shape in ipairs { {300001}, {3, 70001}, {20001, 40}, {5000, 3} } do
      local x, X = gpu.pair(shape, 12)
      check_all_dims(x, X, 1e-4)
    end
  end)

  it("give many short rows one thread each", function()
    local x, X = gpu.pair({5000, 9}, 13)
    check_all_dims(x, X)
  end)

  it("sum with the precision of a double accumulator", function()
    -- 1 + many tiny values: a float32 running sum would lose them all
    local n = 1 + 2^20
    local x = grilly.full({n}, 2^-24, {device = "cpu"})
    x[1] = 1
    local X = x:to("vulkan")
    assert.equal(x:sum(), X:sum())
    assert.equal(1 + 2^-4, X:sum())
    local s, S = gpu.pair({100000}, 14, 1000)
    local big = s + 1e6
    local BIG = S + 1e6
    assert.near(big:mean(), BIG:mean(), 1e-7 * 1e6)
  end)

  it("take norms without overflow or underflow of the squares, carrying infinities and NaN", function()
    local cases = {
      { 3e30, 4e30 }, { 3e-30, 4e-30 }, { 0, 0, 0 }, { 1e30, 1, 1e-30 },
      { 1, math.huge, 2 }, { 1, 0 / 0, math.huge }, { -math.huge },
    }
    for _, vals in ipairs(cases) do
      local x = grilly.tensor(vals, {device = "cpu"})
      local X = x:to("vulkan")
      local want, got = x:norm(), X:norm()
      if want ~= want then assert.is_true(got ~= got)
      elseif want == math.huge then assert.equal(want, got)
      else assert(math.abs(got - want) <= 2e-7 * want, string.format("norm: Vulkan %.9g, CPU %.9g", got, want)) end
    end
    -- values of very different scales across segments and rows
    local x, X = gpu.pair({4, 100003}, 18)
    x = x * grilly.tensor({{1e-20}, {1}, {1e20}, {1e35}}, {device = "cpu"})
    X = X * grilly.tensor({{1e-20}, {1}, {1e20}, {1e35}}, {device = "vulkan"})
    gpu.assert_close(X:norm(2), x:norm(2), 2e-6)
    gpu.assert_close(X:norm(1), x:norm(1), 2e-6)
  end)

  it("propagate NaN through max and min and take the first maximum for argmax", function()
    local x = grilly.tensor({{1, 5, 5, 0}, {0 / 0, 2, 0 / 0, 9}, {3, 3, 3, 3}}, {device = "cpu"})
    local X = x:to("vulkan")
    gpu.assert_close((X:max(2)), (x:max(2)))
    gpu.assert_close((X:min(2)), (x:min(2)))
    gpu.assert_close(X:argmax(2), x:argmax(2))
    gpu.assert_close(X:argmax(1), x:argmax(1))
    assert.same({2, 1, 1}, X:argmax(2):totable())     -- 1-based: first 5, first NaN, first of equals
    assert.equal(5, X:argmax())
    local long = grilly.zeros(100000, {device = "cpu"})
    long[77777] = 3; long[88888] = 3; long[99999] = 0 / 0
    local LONG = long:to("vulkan")
    assert.equal(long:argmax(), LONG:argmax())
    assert.is_true(LONG:max() ~= LONG:max())
  end)

  it("return values and indices together for max and min along a dimension", function()
    local x, X = gpu.pair({6, 50}, 15)
    local v, i = x:max(2)
    local V, I = X:max(2)
    gpu.assert_close(V, v); gpu.assert_close(I, i)
    v, i = x:min(1)
    V, I = X:min(1)
    gpu.assert_close(V, v); gpu.assert_close(I, i)
  end)

  it("compute dot products in double precision", function()
    for _, n in ipairs { 1, 3, 1000, 250001 } do
      local a, A = gpu.pair({n}, 16)
      local b, B = gpu.pair({n}, 17)
      local want, got = a:dot(b), A:dot(B)
      assert(math.abs(got - want) <= 1e-12 * math.max(1, math.abs(want)) * math.sqrt(n),
             string.format("dot of %d: Vulkan %.17g, CPU %.17g", n, got, want))
    end
    assert.equal(0, grilly.zeros(0, {device = "vulkan"}):dot(grilly.zeros(0, {device = "vulkan"})))
  end)
end)

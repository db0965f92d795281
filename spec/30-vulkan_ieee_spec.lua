-- IEEE float32 semantics on a Vulkan device against the CPU, on values of
-- every kind: random bit patterns over the whole range (subnormals,
-- infinities and NaN included) and the edge values. Division, square root
-- and the exact maps must agree bit for bit; the transcendental maps within
-- a few ULP, with the CPU's special values exactly.
local grilly = require "grilly"
local gpu = require "gpu"

local N = 20000

-- Every pair of edge values, as two CPU tensors.
local function edge_pairs()
  local a, b = {}, {}
  for _, x in ipairs(gpu.edges) do
    for _, y in ipairs(gpu.edges) do a[#a + 1] = x; b[#b + 1] = y end
  end
  return grilly.tensor(a, {device = "cpu"}), grilly.tensor(b, {device = "cpu"})
end

-- Operand pairs: random against random, and every edge against every edge.
local function operand_sets()
  local ea, eb = edge_pairs()
  return { { gpu.any_floats(N, 1), gpu.any_floats(N, 2) }, { ea, eb } }
end

describe("Vulkan IEEE arithmetic", function()
  if not gpu.available then return pending(gpu.reason) end

  it("divides bit for bit as the CPU: tensors, scalars on either side, in place", function()
    for _, set in ipairs(operand_sets()) do
      local a, b = set[1], set[2]
      local A, B = a:to("vulkan"), b:to("vulkan")
      gpu.assert_bits(A / B, a / b, "a / b")
      gpu.assert_bits(A:clone():div_(B), a:clone():div_(b), "div_")
    end
    local x = gpu.any_floats(N, 3)
    local X = x:to("vulkan")
    for _, s in ipairs { 3, -0.1, 2^-140, 3e38, 0, -0.0, math.huge, 0 / 0, 1.7 } do
      gpu.assert_bits(X / s, x / s, "x / " .. s)
      gpu.assert_bits(s / X, s / x, s .. " / x")
      gpu.assert_bits(X:clone():div_(s), x:clone():div_(s), "div_ " .. s)
    end
    -- quotients just above, at and below the subnormal range, and overflowing ones
    local u = grilly.tensor({ 2^-100, 3 * 2^-120, -5 * 2^-126, 2^-126, 1, 2^100, 3e38, 1e-30 }, {device = "cpu"})
    local v = grilly.tensor({ 2^40, 7 * 2^3, 3, 2^24, 3 * 2^126, 2^-30, 0.25, 1e20 }, {device = "cpu"})
    gpu.assert_bits(u:to("vulkan") / v:to("vulkan"), u / v, "edges of the range")
  end)

  it("takes square roots bit for bit as the CPU", function()
    local x = gpu.any_floats(N, 4)
    gpu.assert_bits(x:to("vulkan"):sqrt(), x:sqrt(), "sqrt")
    local squares = grilly.arange(1, 4097, {device = "cpu"})
    squares:mul_(squares)
    gpu.assert_bits(squares:to("vulkan"):sqrt(), squares:sqrt(), "sqrt of squares")
  end)

  it("adds, subtracts and multiplies bit for bit, signed zeros, infinities and NaN included", function()
    -- Subnormal operands and results count only where the device keeps them.
    local keeps = gpu.info.keeps_denormals
    for _, set in ipairs(operand_sets()) do
      local a, b = set[1], set[2]
      local A, B = a:to("vulkan"), b:to("vulkan")
      local fa, fb = a:totable(), b:totable()
      local function skip(i, w) return not keeps and (gpu.subnormal(fa[i]) or gpu.subnormal(fb[i]) or gpu.subnormal(w)) end
      gpu.assert_bits(A + B, a + b, "a + b", skip)
      gpu.assert_bits(A - B, a - b, "a - b", skip)
      gpu.assert_bits(A * B, a * b, "a * b", skip)
      local function skip_a(i, w) return not keeps and (gpu.subnormal(fa[i]) or gpu.subnormal(w)) end
      gpu.assert_bits(A + 1.5, a + 1.5, "a + s", skip_a)
      gpu.assert_bits(2 - A, 2 - a, "s - a", skip_a)
      gpu.assert_bits(A * -0.0, a * -0.0, "a * -0", skip_a)
      gpu.assert_bits(A * math.huge, a * math.huge, "a * inf", skip_a)
    end
  end)

  it("negates, takes absolute values, relu and clamps bit for bit", function()
    local x = gpu.any_floats(N, 5)
    local X = x:to("vulkan")
    gpu.assert_bits(X:neg(), x:neg(), "neg")
    gpu.assert_bits(X:abs(), x:abs(), "abs")
    gpu.assert_bits(X:relu(), x:relu(), "relu")
    gpu.assert_bits(X:clamp(-1, 1), x:clamp(-1, 1), "clamp(-1, 1)")
    gpu.assert_bits(X:clamp(0), x:clamp(0), "clamp(0)")
    gpu.assert_bits(X:clamp(nil, -0.0), x:clamp(nil, -0.0), "clamp(nil, -0)")
    gpu.assert_bits(X:clamp(-math.huge, 2^-130), x:clamp(-math.huge, 2^-130), "clamp(-inf, 2^-130)")
  end)

  it("gives the CPU's special values for exp, log, tanh, sigmoid and pow", function()
    local x = grilly.tensor(gpu.edges, {device = "cpu"})
    local X = x:to("vulkan")
    for _, name in ipairs { "exp", "log", "tanh", "sigmoid" } do
      gpu.assert_special_close(X[name](X), x[name](x), 2e-6, name)
    end
    local a, b = edge_pairs()
    local A = a:to("vulkan")
    local fb = b:totable()
    for i = 1, #gpu.edges do
      local e = fb[(i - 1) * #gpu.edges + 1]
      gpu.assert_special_close(A:pow(e), a:pow(e), 2e-6, "pow " .. e)
    end
    for _, e in ipairs { -3, 4, -0.5, 1e10, -1e10, 2^24 + 2 } do
      gpu.assert_special_close(A:pow(e), a:pow(e), 2e-6, "pow " .. e)
    end
  end)

  it("computes exp, log, tanh, sigmoid and pow within a few ULP across the range", function()
    local rtol = 1e-6                       -- 8 to 16 ULP; measured at most 2 on lavapipe
    local function span(lo, hi, seed)
      grilly.manual_seed(seed)
      return grilly.rand({N}, {device = "cpu"}):mul_(hi - lo):add_(lo)
    end
    local function check(x, name, f)
      gpu.assert_special_close(f(x:to("vulkan")), f(x), rtol, name)
    end
    check(span(-103, 88.7, 6), "exp", function(t) return t:exp() end)
    check(span(-0.4, 0.4, 7), "exp near 0", function(t) return t:exp() end)
    check(gpu.any_floats(N, 8):abs(), "log of every positive float", function(t) return t:log() end)
    check(span(0.9, 1.1, 9), "log near 1", function(t) return t:log() end)
    check(span(-12, 12, 10), "tanh", function(t) return t:tanh() end)
    check(span(-0.6, 0.6, 11), "tanh near 0", function(t) return t:tanh() end)
    check(span(-100, 100, 12), "sigmoid", function(t) return t:sigmoid() end)
    -- pow with results from about 2^-120 to 2^120
    local base = span(-6.9, 6.9, 13):exp()
    for _, e in ipairs { 2, -1, 0.5, 3.7, -12.3, 17 } do
      check(base, "pow " .. e, function(t) return t:pow(e) end)
    end
    check(span(-5, 5, 14), "pow 3 of negative bases", function(t) return t:pow(3) end)
  end)

  it("keeps every bit pattern through copy_, clone, fill_, transposes and gathers", function()
    local x = gpu.any_floats(N, 15)
    local X = x:to("vulkan")
    gpu.assert_bits(X:clone(), x, "clone")
    local Y = grilly.empty({N + #gpu.edges}, {device = "vulkan"})
    Y:copy_(X)
    gpu.assert_bits(Y, x, "copy_")
    -- unaligned windows (element 2 onwards) take the one-word path
    local n = N + #gpu.edges - 1
    local Z = grilly.zeros({n + 1}, {device = "vulkan"})
    Z:narrow(1, 2, n):copy_(X:narrow(1, 1, n))
    gpu.assert_bits(Z:narrow(1, 2, n), x:narrow(1, 1, n), "unaligned copy_")
    local m = x:narrow(1, 1, N):view(100, N / 100)
    local M = m:to("vulkan")
    gpu.assert_bits(M:t(), m:t(), "transpose")
    gpu.assert_bits(M:index_select(2, {3, 1, 3, N / 100}), m:index_select(2, {3, 1, 3, N / 100}), "index_select")
    for _, v in ipairs { -0.0, 2^-149, -math.huge, 1 / 3 } do
      gpu.assert_bits(grilly.empty({1027}, {device = "vulkan"}):fill_(v), grilly.full({1027}, v, {device = "cpu"}), "fill_ " .. v)
    end
  end)
end)

describe("Vulkan reductions at the edges of the float range", function()
  if not gpu.available then return pending(gpu.reason) end

  it("carry infinities and NaN through sums, means, norms and dot products", function()
    local inf = math.huge
    for _, vals in ipairs { { inf, 1 }, { 1, -inf, 2 }, { inf, -inf }, { 0 / 0, 1 }, { 2, 0 / 0, inf } } do
      local x = grilly.tensor(vals, {device = "cpu"})
      local X = x:to("vulkan")
      for _, op in ipairs { "sum", "mean", "norm", "max", "min" } do
        gpu.assert_bits(X[op](X, 1), x[op](x, 1), op)
      end
      local want, got = x:dot(x:abs()), X:dot(X:abs())
      assert.is_true((want ~= want and got ~= got) or want == got, "dot")
    end
  end)

  it("keep large and subnormal values: products that would overflow the split, tiny sums", function()
    local x = grilly.tensor({ 1e35, -3e30, 2 }, {device = "cpu"})
    local y = grilly.tensor({ 2, 1e5, 3e-30 }, {device = "cpu"})
    assert.near(x:dot(y), x:to("vulkan"):dot(y:to("vulkan")), 1e-6 * 2e35)
    local tiny = grilly.tensor({ 2^-149, 3 * 2^-149, -2^-140, 2^-130 }, {device = "cpu"})
    local T = tiny:to("vulkan")
    for _, op in ipairs { "sum", "mean", "norm", "max", "min" } do
      gpu.assert_special_close(T[op](T, 1), tiny[op](tiny, 1), 1e-6, op)
    end
  end)

  it("divide the mean by extents longer than 2^24 exactly", function()
    local n = 2^24 + 3
    local x = grilly.ones({n}, {device = "cpu"})
    x[1] = 2^26
    local X = x:to("vulkan")
    gpu.assert_bits(X:mean(1), x:mean(1), "mean")
    X:free(); x:free()
  end)
end)

-- Element-wise ops on a Vulkan device against the CPU results on the same inputs.
local grilly = require "grilly"
local gpu = require "gpu"

describe("Vulkan element-wise ops", function()
  if not gpu.available then return pending(gpu.reason) end

  -- 0, 1, below, at and past a workgroup of 256, and not a multiple of 4.
  local sizes = { {0}, {1}, {3}, {255}, {256}, {257}, {1031}, {7, 13}, {2, 0, 3} }

  it("adds, subtracts, multiplies and divides exactly", function()
    for _, shape in ipairs(sizes) do
      local a, A = gpu.pair(shape, 1)
      local b, B = gpu.pair(shape, 2)
      gpu.assert_close(A + B, a + b)
      gpu.assert_close(A - B, a - b)
      gpu.assert_close(A * B, a * b)
      gpu.assert_close(A / B, a / b)
    end
  end)

  it("broadcasts scalars, rows, columns and across dimensions", function()
    local a, A = gpu.pair({5, 7, 9}, 3)
    local cases = { {1}, {9}, {7, 1}, {5, 1, 9}, {1, 7, 1}, {5, 7, 9} }
    for _, shape in ipairs(cases) do
      local b, B = gpu.pair(shape, 4)
      gpu.assert_close(A + B, a + b)
      gpu.assert_close(B - A, b - a)
      gpu.assert_close(A * B, a * b)
      gpu.assert_close(B / A, b / a)
    end
    local s, S = gpu.pair({}, 5)      -- a 0-d operand
    gpu.assert_close(S * A, s * a)
  end)

  it("runs the scalar forms with the number on either side", function()
    local a, A = gpu.pair({33, 3}, 6)
    gpu.assert_close(A + 1.5, a + 1.5)
    gpu.assert_close(2 - A, 2 - a)
    gpu.assert_close(A * -3, a * -3)
    gpu.assert_close(A / 7, a / 7)
    gpu.assert_close(2 / A, 2 / a)
  end)

  it("updates in place, also through offset row views", function()
    local a, A = gpu.pair({6, 5}, 7)
    local b, B = gpu.pair({5}, 8)
    A:add_(B); a:add_(b)
    gpu.assert_close(A, a)
    -- row 2 starts at element 5: not 16-byte aligned
    local ra, rA = a[2], A[2]
    rA:mul_(B); ra:mul_(b)
    rA:exp_(); ra:exp_()
    gpu.assert_close(A, a, 1e-6, 1e-7)
  end)

  it("computes every unary map like the CPU", function()
    local x, X = gpu.pair({1029}, 9, 3)
    local p, P = x:abs() + 0.01, X:abs() + 0.01
    for _, name in ipairs { "neg", "abs", "relu" } do gpu.assert_close(X[name](X), x[name](x)) end
    for _, name in ipairs { "exp", "tanh", "sigmoid" } do gpu.assert_close(X[name](X), x[name](x), 2e-6, 1e-7) end
    gpu.assert_close(P:log(), p:log(), 2e-6, 1e-7)
    gpu.assert_close(P:sqrt(), p:sqrt())
    gpu.assert_close(X:clamp(-0.5, 1.25), x:clamp(-0.5, 1.25))
    gpu.assert_close(X:clamp(-math.huge, 0.3), x:clamp(-math.huge, 0.3))
    for _, e in ipairs { 2, 3, -1, 0, 0.5, -2.5 } do
      gpu.assert_close(X:pow(e), x:pow(e), 5e-6, 1e-7)
    end
  end)

  it("keeps the edge values of the maps: NaN, infinities, zero and negative bases", function()
    local vals = { 0, -0.0, 1, -1, -2, 0.5, math.huge, -math.huge, 0 / 0, 30, -30, 89, -89 }
    local x = grilly.tensor(vals, {device = "cpu"})
    local X = x:to("vulkan")
    for _, name in ipairs { "neg", "abs", "relu", "exp", "tanh", "sigmoid", "log", "sqrt" } do
      gpu.assert_close(X[name](X), x[name](x), 2e-6, 1e-30)
    end
    for _, e in ipairs { 2, 3, -1, 0, 0.5, -2 } do gpu.assert_close(X:pow(e), x:pow(e), 2e-6) end
    gpu.assert_close(X:clamp(-1, 1), x:clamp(-1, 1))
  end)

  it("covers more elements than 65535 workgroups", function()
    local n = 65535 * 1024 + 5
    local X = grilly.full({n}, 1.5, {device = "vulkan"})
    local Y = X * 2 + X                                   -- unary (vec4) and binary kernels
    local tail = Y:narrow(1, n - 4, 5):totable()
    assert.same({4.5, 4.5, 4.5, 4.5, 4.5}, tail)
    assert.equal(4.5, Y[1])
    assert.near(4.5 * n, Y:sum(), 4.5 * n * 6e-8)   -- the exact sum, rounded to float32
    X:free(); Y:free()
  end)

  it("refuses operands on different devices, naming both", function()
    local a = grilly.ones(3, {device = "cpu"})
    local A = grilly.ones(3, {device = "vulkan"})
    assert.error_matches(function() return A + a end, "device mismatch: vulkan:%d+ vs cpu")
    assert.error_matches(function() return a * A end, "device mismatch: cpu vs vulkan:%d+")
    assert.error_matches(function() return A:matmul(grilly.ones(3, 1, {device = "cpu"})) end,
                         "device mismatch: vulkan:%d+ vs cpu")
    assert.error_matches(function() A:copy_(a) return A:dot(a) end, "device mismatch: vulkan:%d+ vs cpu")
  end)
end)

-- Matrix products on a Vulkan device against the CPU (BLAS) results.
local grilly = require "grilly"
local gpu = require "gpu"

-- fp32 products of length k differ from BLAS by rounding order only.
local function check(ashape, bshape, seed)
  local a, A = gpu.pair(ashape, seed)
  local b, B = gpu.pair(bshape, seed + 1)
  local k = ashape[#ashape]
  gpu.assert_close(A:matmul(B), a:matmul(b), 1e-5, 2e-6 * math.sqrt(k))
end

describe("Vulkan matmul", function()
  if not gpu.available then return pending(gpu.reason) end

  it("multiplies matrices of sizes off the tile grid", function()
    check({1, 1}, {1, 1}, 1)
    check({1, 7}, {7, 1}, 2)
    check({5, 3}, {3, 9}, 3)
    check({70, 33}, {33, 129}, 4)      -- k and n not multiples of 4: scalar loads
    check({65, 17}, {17, 63}, 5)
    check({130, 200}, {200, 67}, 6)
  end)

  it("uses aligned vector loads when k and n are multiples of 4", function()
    check({64, 32}, {32, 128}, 7)
    check({100, 36}, {36, 260}, 8)
  end)

  it("multiplies batches, broadcasting a 2-D operand", function()
    check({3, 30, 20}, {3, 20, 11}, 9)
    check({4, 31, 16}, {16, 12}, 10)
    check({17, 9}, {2, 9, 21}, 11)
  end)

  it("uses the large tiles when there are many of them", function()
    -- 66 batch entries of 200 x 200 outputs: 264 tiles of 128 x 128
    check({66, 200, 16}, {66, 16, 200}, 12)
  end)

  it("gives zeros for an empty inner dimension and nothing for empty outputs", function()
    local A = grilly.ones(3, 0, {device = "vulkan"})
    local B = grilly.ones(0, 4, {device = "vulkan"})
    assert.same({{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}, A:matmul(B):totable())
    assert.same({0, 4}, grilly.ones(0, 5, {device = "vulkan"}):matmul(grilly.ones(5, 4, {device = "vulkan"})):size())
  end)

  it("computes a hand-checked product", function()
    local A = grilly.tensor({{1, 2}, {3, 4}, {5, 6}}, {device = "vulkan"})
    local B = grilly.tensor({{1, 0, -1}, {2, 1, 0}}, {device = "vulkan"})
    assert.same({{5, 2, -1}, {11, 4, -3}, {17, 6, -5}}, A:matmul(B):totable())
  end)
end)

-- Data movement on a Vulkan device: strided copies, index_select, cat,
-- copies between devices.
local grilly = require "grilly"
local gpu = require "gpu"

describe("Vulkan data movement", function()
  if not gpu.available then return pending(gpu.reason) end

  it("transposes, narrows and selects like the CPU", function()
    local x, X = gpu.pair({4, 5, 6}, 21)
    gpu.assert_close(X:transpose(1, 3), x:transpose(1, 3))
    gpu.assert_close(X:transpose(2, 3), x:transpose(2, 3))
    gpu.assert_close(X:narrow(2, 2, 3), x:narrow(2, 2, 3))
    gpu.assert_close(X:narrow(3, 6, 1), x:narrow(3, 6, 1))
    gpu.assert_close(X:select(1, 3), x:select(1, 3))
    gpu.assert_close(X:select(3, 2), x:select(3, 2))
    local m, M = gpu.pair({257, 3}, 22)
    gpu.assert_close(M:t(), m:t())
  end)

  it("gathers with index_select, repeats included", function()
    local x, X = gpu.pair({6, 7, 3}, 23)
    gpu.assert_close(X:index_select(1, {6, 1, 1}), x:index_select(1, {6, 1, 1}))
    gpu.assert_close(X:index_select(2, {7, 2, 2, 5}), x:index_select(2, {7, 2, 2, 5}))
    gpu.assert_close(X:index_select(3, {3}), x:index_select(3, {3}))
    local v = grilly.tensor({10, 20, 30}, {device = "vulkan"})
    assert.same({30, 10, 30}, v:index_select(1, {3, 1, 3}):totable())
  end)

  it("concatenates along any dimension", function()
    local a, A = gpu.pair({2, 3}, 24)
    local b, B = gpu.pair({2, 5}, 25)
    local c, C = gpu.pair({4, 3}, 26)
    gpu.assert_close(grilly.cat({A, B}, 2), grilly.cat({a, b}, 2))
    gpu.assert_close(grilly.cat({A, C, A}, 1), grilly.cat({a, c, a}, 1))
  end)

  it("copies between devices and within one, rows included", function()
    local a, A = gpu.pair({5, 8}, 27)
    gpu.assert_close(A:clone(), a)
    local back = A:to("cpu")
    assert.equal("cpu", back.device)
    assert.same(a:totable(), back:totable())
    local Z = grilly.zeros(5, 8, {device = "vulkan"})
    Z:copy_(A)              -- same device
    gpu.assert_close(Z, a)
    Z[2] = grilly.full({8}, 3, {device = "vulkan"})
    Z[4] = 7
    a[2] = grilly.full({8}, 3, {device = "cpu"})
    a[4] = 7
    gpu.assert_close(Z, a)
  end)

  it("writes into tensors still used by queued work, in order", function()
    local X = grilly.zeros(1000, {device = "vulkan"})
    local Y = X + 1          -- queued, reads X
    X:copy_(grilly.full({1000}, 5, {device = "cpu"}))   -- upload into a busy tensor
    local Z = X + 1
    assert.equal(1000, Y:sum())
    assert.equal(6000, Z:sum())
    for round = 1, 3 do
      X[round] = round * 10
      assert.equal(round * 10, X[round])
    end
  end)
end)

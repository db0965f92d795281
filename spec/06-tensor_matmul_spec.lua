-- Matrix products: 2-D, batched 3-D, and a 2-D operand shared across a batch.
local grilly = require "grilly"
local ref = require "tensor_ref"

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }
  local rng = ref.rng(606)

  local function random_tensor(shape, lo, hi) return ref.random_tensor(rng, shape, device, lo, hi) end

  describe("matmul on " .. device, function()
    it("multiplies a hand-worked 2x3 by 3x2", function()
      local a = grilly.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }, opt)
      local b = grilly.tensor({ { 7, 8 }, { 9, 10 }, { 11, 12 } }, opt)
      ref.assert_tensor(a:matmul(b), { 58, 64, 139, 154 }, { 2, 2 }, device)
    end)

    it("multiplies 2-D matrices of many shapes", function()
      for _, mnk in ipairs({ { 1, 1, 1 }, { 3, 5, 4 }, { 17, 9, 33 }, { 1, 64, 7 }, { 40, 1, 2 }, { 65, 70, 31 } }) do
        local m, n, k = mnk[1], mnk[2], mnk[3]
        local a, fa = random_tensor({ m, k })
        local b, fb = random_tensor({ k, n })
        local e = ref.matmul(fa, fb, 1, m, n, k, 0, 0)
        ref.assert_tensor(a:matmul(b), e, { m, n }, device, 1e-5, 1e-5, ("%dx%dx%d"):format(m, n, k))
      end
    end)

    it("multiplies batches, with a 2-D operand shared by every batch entry", function()
      local bsz, m, n, k = 3, 4, 5, 6
      local a3, fa3 = random_tensor({ bsz, m, k })
      local b3, fb3 = random_tensor({ bsz, k, n })
      local a2, fa2 = random_tensor({ m, k })
      local b2, fb2 = random_tensor({ k, n })
      ref.assert_tensor(a3:matmul(b3), ref.matmul(fa3, fb3, bsz, m, n, k, m * k, k * n), { bsz, m, n }, device, 1e-5, 1e-5)
      ref.assert_tensor(a3:matmul(b2), ref.matmul(fa3, fb2, bsz, m, n, k, m * k, 0), { bsz, m, n }, device, 1e-5, 1e-5)
      ref.assert_tensor(a2:matmul(b3), ref.matmul(fa2, fb3, bsz, m, n, k, 0, k * n), { bsz, m, n }, device, 1e-5, 1e-5)
    end)

    it("gives zeros for an empty inner size and empty results for empty outer sizes", function()
      ref.assert_tensor(grilly.ones({ 2, 0 }, opt):matmul(grilly.ones({ 0, 3 }, opt)), { 0, 0, 0, 0, 0, 0 }, { 2, 3 }, device)
      ref.assert_tensor(grilly.ones({ 0, 4 }, opt):matmul(grilly.ones({ 4, 3 }, opt)), {}, { 0, 3 }, device)
      ref.assert_tensor(grilly.ones({ 2, 4 }, opt):matmul(grilly.ones({ 4, 0 }, opt)), {}, { 2, 0 }, device)
      ref.assert_tensor(grilly.ones({ 0, 2, 4 }, opt):matmul(grilly.ones({ 0, 4, 3 }, opt)), {}, { 0, 2, 3 }, device)
      ref.assert_tensor(grilly.ones({ 2, 1, 0 }, opt):matmul(grilly.ones({ 0, 1 }, opt)), { 0, 0 }, { 2, 1, 1 }, device)
    end)

    it("leaves its operands unchanged", function()
      local a, fa = random_tensor({ 3, 4 })
      local b, fb = random_tensor({ 4, 2 })
      a:matmul(b)
      ref.assert_tensor(a, fa, { 3, 4 }, device)
      ref.assert_tensor(b, fb, { 4, 2 }, device)
    end)
  end)
end

describe("matmul errors", function()
  it("names both shapes when the inner or batch sizes differ", function()
    assert.error_matches(function() local r = grilly.zeros(2, 3):matmul(grilly.zeros(4, 5)) return r end,
      "bad argument #1 to 'matmul' %(shape mismatch: 2x3 vs 4x5 %(inner sizes differ%)%)")
    assert.error_matches(function() local r = grilly.zeros(2, 2, 3):matmul(grilly.zeros(3, 3, 5)) return r end,
      "shape mismatch: 2x2x3 vs 3x3x5 %(batch sizes differ%)")
    assert.error_matches(function() local r = grilly.zeros(2, 2, 3):matmul(grilly.zeros(2, 5)) return r end,
      "shape mismatch: 2x2x3 vs 2x5 %(inner sizes differ%)")
  end)

  it("accepts only 2-D and 3-D operands", function()
    assert.error_matches(function() local r = grilly.zeros(3):matmul(grilly.zeros(3, 2)) return r end,
      "matmul needs 2%-D or 3%-D tensors %(got 3 vs 3x2%)")
    assert.error_matches(function() local r = grilly.zeros(1, 1, 2, 3):matmul(grilly.zeros(3, 2)) return r end,
      "matmul needs 2%-D or 3%-D tensors %(got 1x1x2x3 vs 3x2%)")
    assert.error_matches(function() local r = grilly.zeros(2, 3):matmul(grilly.tensor(1)) return r end,
      "got 2x3 vs scalar")
  end)

  it("rejects a non-tensor or freed operand", function()
    local a = grilly.ones(2, 2)
    assert.error_matches(function() local r = a:matmul(2) return r end, "grilly.Tensor expected, got number")
    assert.error_matches(function() local r = a:matmul() return r end, "grilly.Tensor expected, got no value")
    local f = grilly.ones(2, 2)
    f:free()
    assert.error_matches(function() return a:matmul(f) end, "use of freed grilly.Tensor")
    assert.error_matches(function() return f:matmul(a) end, "use of freed grilly.Tensor")
    assert.same({ { 1, 1 }, { 1, 1 } }, a:totable())
  end)
end)

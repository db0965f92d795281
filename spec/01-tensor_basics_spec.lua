-- Creation, fields, host access and lifetime of grilly.Tensor.
local grilly = require "grilly"

describe("grilly.Tensor basics", function()
  it("builds a tensor from a nested table and reads it back", function()
    local t = grilly.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.same({2, 3}, t:size())
    assert.equal(2, t:dim())
    assert.equal(6, t:numel())
    assert.same({{1, 2, 3}, {4, 5, 6}}, t:totable())
    assert.equal(grilly.get_device(), t.device)
    assert.equal("cpu", grilly.tensor({1}, {device = "cpu"}).device)
  end)

  it("fills zeros, ones and full with the given shape", function()
    assert.same({{0, 0}, {0, 0}}, grilly.zeros(2, 2):totable())
    assert.same({1, 1, 1}, grilly.ones({3}):totable())
    assert.same({{2.5}, {2.5}}, grilly.full({2, 1}, 2.5):totable())
    assert.equal(0, grilly.zeros(0, 3):numel())
  end)

  it("shows the shape, dtype and device in tostring", function()
    local s = tostring(grilly.zeros(3, 4, {device = "cpu"}))
    assert.truthy(s:find("grilly.Tensor(3x4, float32, cpu)", 1, true))
  end)

  it("prints small tensors row by row and summarises big ones", function()
    assert.equal("grilly.Tensor(2x3, float32, cpu)\n[1 2 3\n 4 5 6]", tostring(grilly.tensor({{1, 2, 3}, {4, 5, 6}}, {device = "cpu"})))
    assert.equal("grilly.Tensor(1, float32, cpu)\n[-2.5]", tostring(grilly.tensor({-2.5}, {device = "cpu"})))
    local big = grilly.zeros(100, {device = "cpu"})
    big[1] = 7; big[100] = 9
    assert.equal("grilly.Tensor(100, float32, cpu)\n[7 0 0 ... 0 0 9]", tostring(big))
    assert.equal("grilly.Tensor(0x4, float32, cpu)", tostring(grilly.zeros(0, 4, {device = "cpu"})))
  end)

  it("rejects ragged tables and non-numbers with a clear error", function()
    assert.error_matches(function() grilly.tensor{{1, 2}, {3}} end, "ragged")
    assert.error_matches(function() grilly.tensor{1, "x"} end, "must be a number")
    assert.error_matches(function() grilly.zeros(-1) end, "non%-negative integer")
    assert.error_matches(function() grilly.zeros(0/0) end, "non%-negative integer")
  end)

  it("carries a grad of its own shape and rejects a mismatched one", function()
    local t = grilly.zeros(2, 2)
    assert.is_nil(t.grad)
    t.grad = grilly.ones(2, 2)
    assert.same({{1, 1}, {1, 1}}, t.grad:totable())
    assert.error_matches(function() t.grad = grilly.zeros(3) end, "shape mismatch: 3 vs 2x2")
    assert.error_matches(function() t.grad = 5 end, "grilly.Tensor or nil expected")
    t.grad = nil
    assert.is_nil(t.grad)
    assert.is_nil(grilly.zeros(1).grad)   -- the grad of one tensor is not shared with another
  end)

  it("frees idempotently and reports use after free", function()
    local t = grilly.zeros(4)
    t:free()
    t:free()
    assert.error_matches(function() return t:numel() end, "use of freed grilly.Tensor")
    assert.error_matches(function() return t.device end, "use of freed grilly.Tensor")
    assert.equal("grilly.Tensor(freed)", tostring(t))
  end)

  it("is recognised by is_tensor", function()
    assert.is_true(grilly.is_tensor(grilly.zeros(1)))
    assert.is_false(grilly.is_tensor({}))
    assert.is_false(grilly.is_tensor(io.stdout))
  end)
end)

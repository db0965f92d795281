-- Shape and movement: reshape/view, transpose, narrow, select, index_select,
-- cat and t[i] indexing.
local grilly = require "grilly"
local ref = require "tensor_ref"

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }
  local rng = ref.rng(303)

  local function random_tensor(shape, lo, hi) return ref.random_tensor(rng, shape, device, lo, hi) end

  describe("tensor shape ops on " .. device, function()
    describe("reshape and view", function()
      it("share storage with the original", function()
        local t, flat = random_tensor({ 2, 3, 4 })
        local v = t:view(4, 6)
        ref.assert_tensor(v, flat, { 4, 6 }, device)
        local r = t:reshape({ 24 })
        r:fill_(5)
        local fives = ref.map(flat, function() return 5 end)
        ref.assert_tensor(t, fives, { 2, 3, 4 }, device)
        ref.assert_tensor(v, fives, { 4, 6 }, device)
      end)

      it("infer one size given as -1", function()
        local t, flat = random_tensor({ 2, 6 })
        ref.assert_tensor(t:view(-1), flat, { 12 }, device)
        ref.assert_tensor(t:view(3, -1), flat, { 3, 4 }, device)
        ref.assert_tensor(t:reshape({ -1, 2, 3 }), flat, { 2, 2, 3 }, device)
        ref.assert_tensor(grilly.zeros({ 0, 4 }, opt):view(-1, 2), {}, { 0, 2 }, device)
      end)

      it("reshape a one-element tensor to 0-d and back", function()
        local s = grilly.tensor({ 7 }, opt):view({})
        assert.are.same({}, s:size())
        assert.are.equal(7, s:item())
        ref.assert_tensor(s:view(1, 1), { 7 }, { 1, 1 }, device)
      end)
    end)

    describe("transpose", function()
      it("swaps any two dimensions into a new tensor", function()
        for _, shape in ipairs({ { 2, 3 }, { 3, 1, 4 }, { 2, 3, 4, 2 }, { 1, 1 }, { 0, 3 } }) do
          local t, flat = random_tensor(shape)
          for d1 = 1, #shape do
            for d2 = 1, #shape do
              local e, es = ref.transpose(flat, shape, d1, d2)
              ref.assert_tensor(t:transpose(d1, d2), e, es, device)
            end
          end
        end
      end)

      it("takes negative dims and t() for matrices, and copies", function()
        local t, flat = random_tensor({ 3, 5 })
        local e, es = ref.transpose(flat, { 3, 5 }, 1, 2)
        ref.assert_tensor(t:transpose(-1, -2), e, es, device)
        local tt = t:t()
        ref.assert_tensor(tt, e, es, device)
        tt:fill_(0)
        ref.assert_tensor(t, flat, { 3, 5 }, device)
      end)
    end)

    describe("narrow", function()
      it("copies a range along a dimension", function()
        local t, flat = random_tensor({ 4, 5 })
        local rows = ref.index_select(flat, { 4, 5 }, 1, { 2, 3 })
        ref.assert_tensor(t:narrow(1, 2, 2), rows, { 2, 5 }, device)
        local cols = ref.index_select(flat, { 4, 5 }, 2, { 3, 4, 5 })
        local n = t:narrow(-1, 3, 3)
        ref.assert_tensor(n, cols, { 4, 3 }, device)
        ref.assert_tensor(t:narrow(2, 6, 0), {}, { 4, 0 }, device)
        ref.assert_tensor(t:narrow(1, 1, 4), flat, { 4, 5 }, device)
        n:fill_(0)
        ref.assert_tensor(t, flat, { 4, 5 }, device)
      end)
    end)

    describe("select", function()
      it("copies one slice and drops the dimension", function()
        local shape = { 3, 4, 2 }
        local t, flat = random_tensor(shape)
        for dim = 1, 3 do
          for i = 1, shape[dim] do
            local e, es = ref.index_select(flat, shape, dim, { i })
            table.remove(es, dim)
            ref.assert_tensor(t:select(dim, i), e, es, device)
          end
        end
      end)

      it("turns a 1-D tensor into a 0-d one", function()
        local s = grilly.tensor({ 4, 5, 6 }, opt):select(1, 3)
        assert.are.same({}, s:size())
        assert.are.equal(6, s:item())
      end)
    end)

    describe("index_select", function()
      it("gathers positions given as a table or a 1-D tensor, repeats allowed", function()
        local shape = { 4, 3, 2 }
        local t, flat = random_tensor(shape)
        for dim = 1, 3 do
          local idx = { shape[dim], 1, shape[dim], 1 }
          local e, es = ref.index_select(flat, shape, dim, idx)
          ref.assert_tensor(t:index_select(dim, idx), e, es, device)
          ref.assert_tensor(t:index_select(dim, grilly.tensor(idx, opt)), e, es, device)
        end
        ref.assert_tensor(t:index_select(2, {}), {}, { 4, 0, 2 }, device)
        ref.assert_tensor(t:index_select(2, grilly.zeros(0)), {}, { 4, 0, 2 }, device)
      end)
    end)

    describe("cat", function()
      it("concatenates along any dimension", function()
        local a, fa = random_tensor({ 2, 3 })
        local b, fb = random_tensor({ 1, 3 })
        local c, fc = random_tensor({ 2, 2 })
        local rows = {}
        for _, v in ipairs(fa) do rows[#rows + 1] = v end
        for _, v in ipairs(fb) do rows[#rows + 1] = v end
        ref.assert_tensor(grilly.cat({ a, b }), rows, { 3, 3 }, device)
        ref.assert_tensor(grilly.cat({ a, b }, 1), rows, { 3, 3 }, device)
        local cols = {}
        for r = 0, 1 do
          for j = 1, 3 do cols[#cols + 1] = fa[r * 3 + j] end
          for j = 1, 2 do cols[#cols + 1] = fc[r * 2 + j] end
        end
        ref.assert_tensor(grilly.cat({ a, c }, -1), cols, { 2, 5 }, device)
        ref.assert_tensor(grilly.cat({ a }, 2), fa, { 2, 3 }, device)
      end)

      it("takes empty parts", function()
        local a, fa = random_tensor({ 2, 3 })
        ref.assert_tensor(grilly.cat({ grilly.zeros({ 0, 3 }, opt), a, grilly.zeros({ 0, 3 }, opt) }), fa, { 2, 3 }, device)
        ref.assert_tensor(grilly.cat({ grilly.zeros({ 2, 0 }, opt), grilly.zeros({ 2, 0 }, opt) }, 2), {}, { 2, 0 }, device)
      end)
    end)

    describe("t[i]", function()
      it("reads numbers from a 1-D tensor, 1-based", function()
        local t = grilly.tensor({ 10, 20, 30 }, opt)
        assert.are.equal(10, t[1])
        assert.are.equal(30, t[3])
        assert.are.equal(20, t[2.0])
      end)

      it("reads rows of an n-D tensor as views that write through", function()
        local t, flat = random_tensor({ 3, 2, 2 })
        local row = t[2]
        ref.assert_tensor(row, { flat[5], flat[6], flat[7], flat[8] }, { 2, 2 }, device)
        assert.are.equal(flat[7], t[2][2][1])
        t[2][2][1] = 99
        flat[7] = 99
        ref.assert_tensor(t, flat, { 3, 2, 2 }, device)
        row:mul_(2)
        for i = 5, 8 do flat[i] = ref.f32(flat[i] * 2) end
        ref.assert_tensor(t, flat, { 3, 2, 2 }, device)
      end)

      it("writes numbers, fills rows and copies tensors into rows", function()
        local t = grilly.zeros({ 3, 2 }, opt)
        t[1] = 4
        t[3] = grilly.tensor({ 5, 6 }, opt)
        t[2][2] = -1
        ref.assert_tensor(t, { 4, 4, 0, -1, 5, 6 }, { 3, 2 }, device)
        local v = grilly.zeros(2, opt)
        v[2] = 2.5
        ref.assert_tensor(v, { 0, 2.5 }, { 2 }, device)
      end)

      it("copies a row from another device", function()
        for _, other in ipairs(ref.devices()) do
          local t = grilly.zeros({ 2, 2 }, opt)
          t[2] = grilly.tensor({ 1, 2 }, { device = other })
          ref.assert_tensor(t, { 0, 0, 1, 2 }, { 2, 2 }, device)
        end
      end)
    end)
  end)
end

describe("tensor shape errors", function()
  local function snapshot(t) return t:totable() end

  it("rejects bad reshape sizes and leaves the tensor as it was", function()
    local t = grilly.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    assert.error_matches(function() t:reshape(4, 2) end, "cannot reshape 2x3 %(6 elements%) to 4x2")
    assert.error_matches(function() t:view(4, -1) end, "cannot reshape 2x3 %(6 elements%) to 4x%-1")
    assert.error_matches(function() t:view(0, -1) end, "cannot reshape 2x3")
    assert.error_matches(function() t:view(-1, -1) end, "only one size may be %-1")
    assert.error_matches(function() t:view(-2, -3) end, "non%-negative integer or %-1, got %-2")
    assert.error_matches(function() t:view(0 / 0) end, "non%-negative integer or %-1, got nan")
    assert.error_matches(function() t:view(2.5, 2) end, "non%-negative integer or %-1, got 2.5")
    assert.error_matches(function() t:view({ 2, "3" }) end, "size 2 must be a number, got string")
    assert.error_matches(function() t:view(2, "3") end, "size expected, got string")
    assert.error_matches(function() t:view("x") end, "sizes expected, got string")
    assert.error_matches(function() t:view(1, 1, 1, 1, 1, 1, 1, 1, 6) end, "too many dimensions")
    assert.same({ { 1, 2, 3 }, { 4, 5, 6 } }, snapshot(t))
  end)

  it("reads sizes by 1-based or negative dimension and rejects others", function()
    local t = grilly.zeros(2, 3)
    assert.are.equal(2, t:size(1))
    assert.are.equal(3, t:size(-1))
    assert.are.equal(2, t:size(-2))
    assert.error_matches(function() return t:size(3) end, "dimension out of range %(expected 1 to 2 or %-2 to %-1, got 3%)")
    assert.error_matches(function() return t:size(-3) end, "dimension out of range")
    assert.error_matches(function() return t:size("1") end, "dimension expected, got string")
    assert.error_matches(function() return grilly.tensor(1):size(1) end, "the tensor is 0%-d")
  end)

  it("rejects bad dimensions for transpose, narrow, select and t()", function()
    local t = grilly.zeros(2, 3)
    assert.error_matches(function() t:transpose(1, 3) end,
      "bad argument #2 to 'transpose' %(dimension out of range %(expected 1 to 2 or %-2 to %-1, got 3%)%)")
    assert.error_matches(function() t:transpose(0, 1) end, "dimension out of range")
    assert.error_matches(function() t:transpose(-3, 1) end, "dimension out of range")
    assert.error_matches(function() t:transpose(1) end, "dimension expected, got no value")
    assert.error_matches(function() t:transpose(1.5, 1) end, "dimension must be an integer, got 1.5")
    assert.error_matches(function() t:transpose(0 / 0, 1) end, "dimension must be an integer")
    assert.error_matches(function() t:transpose("1", 2) end, "dimension expected, got string")
    assert.error_matches(function() grilly.zeros(3):t() end, "t%(%) needs a 2%-D tensor, got 1%-D")
    assert.error_matches(function() grilly.tensor(3):select(1, 1) end, "the tensor is 0%-d")
  end)

  it("rejects narrow ranges outside the tensor", function()
    local t = grilly.zeros(4, 5)
    assert.error_matches(function() t:narrow(1, 0, 1) end, "start 0 out of range %(expected 1 to 5%)")
    assert.error_matches(function() t:narrow(1, 6, 0) end, "start 6 out of range")
    assert.error_matches(function() t:narrow(1, 3, 3) end, "length 3 out of range %(expected 0 to 2%)")
    assert.error_matches(function() t:narrow(2, 1, -1) end, "length %-1 out of range")
    assert.error_matches(function() t:narrow(2, 1.5, 1) end, "start must be an integer, got 1.5")
    assert.error_matches(function() t:narrow(2, 1, 0 / 0) end, "length must be an integer, got nan")
    assert.error_matches(function() t:narrow(2, 1) end, "length must be a number, got no value")
  end)

  it("rejects select indices out of range", function()
    local t = grilly.zeros(4, 5)
    assert.error_matches(function() t:select(1, 0) end, "index 0 out of range %(expected 1 to 4%)")
    assert.error_matches(function() t:select(2, 6) end, "index 6 out of range %(expected 1 to 5%)")
    assert.error_matches(function() t:select(2, 0 / 0) end, "index must be an integer, got nan")
    assert.error_matches(function() t:select(2, "1") end, "index must be a number, got string")
  end)

  it("checks every index_select index before gathering", function()
    local t = grilly.tensor({ { 1, 2 }, { 3, 4 } })
    assert.error_matches(function() t:index_select(1, { 1, 3 }) end,
      "bad argument #2 to 'index_select' %(index 2 is 3, out of range %(expected 1 to 2%)%)")
    assert.error_matches(function() t:index_select(1, { 0 }) end, "index 1 is 0, out of range")
    assert.error_matches(function() t:index_select(1, { 1.5 }) end, "index 1 must be an integer, got 1.5")
    assert.error_matches(function() t:index_select(1, { 0 / 0 }) end, "index 1 must be an integer, got nan")
    assert.error_matches(function() t:index_select(1, { 1, "2" }) end, "index 2 must be a number, got string")
    assert.error_matches(function() t:index_select(1, grilly.tensor({ 2, 5 })) end, "index 2 is 5, out of range")
    assert.error_matches(function() t:index_select(1, grilly.zeros(1, 1)) end, "index tensor must be 1%-D, got 2%-D")
    assert.error_matches(function() t:index_select(1, "1") end, "table or grilly.Tensor of indices expected, got string")
    assert.error_matches(function() t:index_select(3, { 1 }) end, "dimension out of range")
    local freed = grilly.tensor({ 1 })
    freed:free()
    assert.error_matches(function() t:index_select(1, freed) end, "use of freed grilly.Tensor")
    assert.same({ { 1, 2 }, { 3, 4 } }, snapshot(t))
  end)

  it("rejects bad cat lists", function()
    local a, b = grilly.zeros(2, 3), grilly.zeros(2, 4)
    assert.error_matches(function() grilly.cat({}) end, "at least one tensor expected")
    assert.error_matches(function() grilly.cat(a) end, "table expected, got userdata")
    assert.error_matches(function() grilly.cat({ a, 3 }) end, "element 2 must be a grilly.Tensor, got number")
    assert.error_matches(function() grilly.cat({ a, b }) end,
      "bad argument #1 to 'cat' %(shape mismatch: 2x3 vs 2x4 %(tensor 2; only dimension 1 may differ%)%)")
    assert.error_matches(function() grilly.cat({ a, grilly.zeros(6) }, 1) end, "shape mismatch: 2x3 vs 6")
    assert.error_matches(function() grilly.cat({ a, b }, 3) end, "dimension out of range")
    assert.error_matches(function() grilly.cat({ grilly.tensor(1), grilly.tensor(2) }) end,
      "cannot concatenate 0%-d tensors")
    local freed = grilly.zeros(2, 3)
    freed:free()
    assert.error_matches(function() grilly.cat({ a, freed }) end, "use of freed grilly.Tensor")
  end)

  it("rejects bad t[i] reads and writes and leaves the tensor as it was", function()
    local t = grilly.tensor({ { 1, 2 }, { 3, 4 } })
    local v = grilly.tensor({ 1, 2, 3 })
    assert.error_matches(function() return t[0] end, "index 0 out of range %(expected 1 to 2%)")
    assert.error_matches(function() return t[3] end, "index 3 out of range %(expected 1 to 2%)")
    assert.error_matches(function() return v[1.5] end, "index must be an integer, got 1.5")
    assert.error_matches(function() return v[0 / 0] end, "index must be an integer, got nan")
    assert.error_matches(function() return grilly.tensor(5)[1] end, "cannot index a 0%-d grilly.Tensor")
    assert.error_matches(function() t[3] = 1 end, "index 3 out of range")
    assert.error_matches(function() v[4] = 1 end, "index 4 out of range %(expected 1 to 3%)")
    assert.error_matches(function() v[1] = "x" end, "cannot assign a string to an element")
    assert.error_matches(function() v[1] = grilly.tensor(1) end, "cannot assign a userdata to an element")
    assert.error_matches(function() t[1] = {} end, "cannot assign a table to a row")
    assert.error_matches(function() t[1] = grilly.zeros(3) end, "cannot assign a tensor of shape 3 to a row of shape 2")
    assert.error_matches(function() t[1] = grilly.zeros(1, 2) end, "cannot assign a tensor of shape 1x2 to a row of shape 2")
    assert.same({ { 1, 2 }, { 3, 4 } }, snapshot(t))
    assert.same({ 1, 2, 3 }, snapshot(v))
  end)

  it("reports use of a freed tensor in every shape method", function()
    local t = grilly.zeros(2, 2)
    local row = t[1]
    t:free()
    ref.assert_tensor(row, { 0, 0 }, { 2 }) -- a view keeps the storage alive
    for _, call in ipairs({
      function() return t:view(4) end, function() return t:reshape(4) end,
      function() return t:transpose(1, 2) end, function() return t:t() end,
      function() return t:narrow(1, 1, 1) end, function() return t:select(1, 1) end,
      function() return t:index_select(1, { 1 }) end, function() return grilly.cat({ t }) end,
      function() return t[1] end, function() t[1] = 0 end,
    }) do
      assert.error_matches(call, "use of freed grilly.Tensor")
    end
  end)
end)

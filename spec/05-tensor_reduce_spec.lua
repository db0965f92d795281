-- Reductions: sum, mean, max, min, argmax and norm over the whole tensor and
-- along a dimension, and dot.
local grilly = require "grilly"
local ref = require "tensor_ref"

local reductions = { "sum", "mean", "max", "min", "argmax", "norm" }
local shapes = { { 7 }, { 1 }, { 3, 4 }, { 4, 1 }, { 2, 3, 5 }, { 1, 6, 1 }, { 3, 1, 2, 4 }, {} }

-- Tolerances: sums are accumulated in double and rounded once to float32.
local rtol = { sum = 1e-6, mean = 1e-6, norm = 1e-6, max = 0, min = 0, argmax = 0 }

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }
  local rng = ref.rng(505)

  local function random_tensor(shape, lo, hi) return ref.random_tensor(rng, shape, device, lo, hi) end

  describe("reductions on " .. device, function()
    it("reduce the whole tensor to a Lua number", function()
      for _, shape in ipairs(shapes) do
        local t, flat = random_tensor(shape)
        for _, name in ipairs(reductions) do
          local got = t[name](t)
          assert.are.equal("number", type(got))
          ref.assert_close({ got }, { ref[name](flat) }, rtol[name], 1e-7, name)
        end
      end
    end)

    it("reduce along each dimension, dropping it or keeping it with keepdim", function()
      for _, shape in ipairs(shapes) do
        local t, flat = random_tensor(shape)
        for dim = 1, #shape do
          for _, keepdim in ipairs({ false, true }) do
            local slices, rshape = ref.slices(flat, shape, dim, keepdim)
            for _, name in ipairs({ "sum", "mean", "argmax", "norm" }) do
              local e = {}
              for i, s in ipairs(slices) do e[i] = ref[name](s) end
              local got = keepdim and t[name](t, dim, true) or t[name](t, dim)
              ref.assert_tensor(got, e, rshape, device, rtol[name], 1e-7, name .. " dim " .. dim)
            end
            for _, name in ipairs({ "max", "min" }) do
              local ev, ei = {}, {}
              for i, s in ipairs(slices) do
                ev[i] = ref[name](s)
                ei[i] = ref["arg" .. name](s)
              end
              local v, idx = t[name](t, dim, keepdim)
              ref.assert_tensor(v, ev, rshape, device, 0, 0, name .. " values")
              ref.assert_tensor(idx, ei, rshape, device, 0, 0, name .. " indices")
            end
          end
        end
      end
    end)

    it("count dimensions from the end when negative", function()
      local t, flat = random_tensor({ 2, 3, 4 })
      for dim = -3, -1 do
        local slices, rshape = ref.slices(flat, { 2, 3, 4 }, dim + 4)
        local e = {}
        for i, s in ipairs(slices) do e[i] = ref.sum(s) end
        ref.assert_tensor(t:sum(dim), e, rshape, device, 1e-6, 1e-7)
      end
    end)

    it("return the first index of ties, 1-based", function()
      local t = grilly.tensor({ { 3, 1, 3 }, { 2, 2, 0 } }, opt)
      assert.are.equal(1, t:argmax())
      ref.assert_tensor(t:argmax(2), { 1, 1 }, { 2 }, device)
      local v, i = t:min(2)
      ref.assert_tensor(v, { 1, 0 }, { 2 }, device)
      ref.assert_tensor(i, { 2, 3 }, { 2 }, device)
      local mv, mi = t:max(1)
      ref.assert_tensor(mv, { 3, 2, 3 }, { 3 }, device)
      ref.assert_tensor(mi, { 1, 2, 1 }, { 3 }, device)
      assert.are.equal(5, grilly.tensor({ 0, 0, 0, 0, 1, 1 }, opt):argmax())
    end)

    it("propagate NaN through max and min and point argmax at the first NaN", function()
      local nan = 0 / 0
      local t = grilly.tensor({ { 1, nan, 5, nan }, { 2, 3, 4, 1 } }, opt)
      local mx, mn = t:max(), t:min()
      assert.is_true(mx ~= mx)
      assert.is_true(mn ~= mn)
      assert.are.equal(2, t:argmax())
      local v, i = t:max(2)
      ref.assert_tensor(v, { nan, 4 }, { 2 }, device)
      ref.assert_tensor(i, { 2, 3 }, { 2 }, device)
      v, i = t:min(2)
      ref.assert_tensor(v, { nan, 1 }, { 2 }, device)
      ref.assert_tensor(i, { 2, 4 }, { 2 }, device)
      v = t:max(1)
      ref.assert_tensor(v, { 2, nan, 5, nan }, { 4 }, device)
      local long = {}
      for k = 1, 40 do long[k] = k end
      long[17] = nan
      local l = grilly.tensor(long, opt)
      assert.are.equal(17, l:argmax())
      local lm = l:max()
      assert.is_true(lm ~= lm)
    end)

    it("sum and norm no elements to 0 and reject the other reductions of nothing", function()
      local e = grilly.zeros({ 0 }, opt)
      assert.are.equal(0, e:sum())
      assert.are.equal(0, e:norm())
      for _, name in ipairs({ "mean", "max", "min", "argmax" }) do
        assert.error_matches(function() return e[name](e) end, name .. " of an empty tensor")
      end
      local z = grilly.zeros({ 2, 0, 3 }, opt)
      ref.assert_tensor(z:sum(2), { 0, 0, 0, 0, 0, 0 }, { 2, 3 }, device)
      ref.assert_tensor(z:norm(2, true), { 0, 0, 0, 0, 0, 0 }, { 2, 1, 3 }, device)
      ref.assert_tensor(z:sum(1), {}, { 0, 3 }, device)
      ref.assert_tensor(z:max(3), {}, { 2, 0 }, device)
      for _, name in ipairs({ "mean", "max", "min", "argmax" }) do
        assert.error_matches(function() return z[name](z, 2) end, name .. " of an empty dimension")
      end
    end)

    it("accumulate sums in double precision", function()
      -- float32 accumulation would lose every 1 against 1e8.
      local vals = { 1e8 }
      for k = 2, 1001 do vals[k] = 1 end
      vals[1002] = -1e8
      local t = grilly.tensor(vals, opt)
      assert.are.equal(1000, t:sum())
      ref.assert_tensor(t:view(1, 1002):sum(2), { 1000 }, { 1 }, device)
      ref.assert_tensor(t:view(1002, 1):sum(1), { 1000 }, { 1 }, device)
      assert.are.equal(1000, t:dot(grilly.ones(1002, opt)))
      -- and norms without overflow of the squares
      assert.are.equal(ref.f32(5e30), grilly.tensor({ 3e30, 4e30 }, opt):norm())
    end)

    it("compute dot products of equal shapes in double", function()
      for _, shape in ipairs({ { 9 }, { 3, 4 }, { 1 }, {}, { 0 } }) do
        local a, fa = random_tensor(shape)
        local b, fb = random_tensor(shape)
        local e = 0
        for i = 1, #fa do e = e + fa[i] * fb[i] end
        ref.assert_close({ a:dot(b) }, { e }, 1e-12, 1e-15, "dot")
      end
    end)
  end)
end

describe("reduction errors", function()
  local t = grilly.tensor({ { 1, 2 }, { 3, 4 } })

  it("reject bad dimensions and keepdim values", function()
    assert.error_matches(function() local r = t:sum(-3) return r end,
      "bad argument #1 to 'sum' %(dimension out of range %(expected 1 to 2 or %-2 to %-1, got %-3%)%)")
    for _, name in ipairs(reductions) do
      assert.error_matches(function() local r = t[name](t, 3) return r end,
        "dimension out of range %(expected 1 to 2 or %-2 to %-1, got 3%)")
      assert.error_matches(function() local r = t[name](t, 0) return r end, "dimension out of range")
      assert.error_matches(function() local r = t[name](t, 1.5) return r end, "dimension must be an integer, got 1.5")
      assert.error_matches(function() local r = t[name](t, 0 / 0) return r end, "dimension must be an integer, got nan")
      assert.error_matches(function() local r = t[name](t, "1") return r end, "dimension expected, got string")
      assert.error_matches(function() local r = t[name](t, 1, 1) return r end, "keepdim must be a boolean, got number")
      assert.error_matches(function() local r = grilly.tensor(2)[name](grilly.tensor(2), 1) return r end,
        "dimension out of range %(the tensor is 0%-d%)")
    end
  end)

  it("reject indices past 2^24, which float32 cannot hold exactly", function()
    local big = grilly.zeros(2 ^ 24 + 1)
    assert.error_matches(function() return big:argmax() end, "need at most 2%^24 elements along the reduced extent %(got 16777217%)")
    assert.error_matches(function() return big:view(1, -1):max(2) end, "need at most 2%^24 elements")
    assert.are.equal(0, big:max())
    local edge = grilly.zeros(2 ^ 24)
    edge[2 ^ 24] = 1
    assert.are.equal(2 ^ 24, edge:argmax())
    big:free()
    edge:free()
  end)

  it("reject dot of different shapes or of a non-tensor", function()
    assert.error_matches(function() local r = t:dot(grilly.zeros(4)) return r end,
      "bad argument #1 to 'dot' %(shape mismatch: 2x2 vs 4%)")
    assert.error_matches(function() local r = t:dot(2) return r end, "grilly.Tensor expected, got number")
    assert.same({ { 1, 2 }, { 3, 4 } }, t:totable())
  end)

  it("report use of a freed tensor", function()
    local f = grilly.zeros(2)
    f:free()
    for _, name in ipairs(reductions) do
      assert.error_matches(function() return f[name](f) end, "use of freed grilly.Tensor")
      assert.error_matches(function() return f[name](f, 1) end, "use of freed grilly.Tensor")
    end
    assert.error_matches(function() return t:dot(f) end, "use of freed grilly.Tensor")
    assert.error_matches(function() return f:dot(t) end, "use of freed grilly.Tensor")
  end)
end)

-- Element-wise ops: broadcasting arithmetic, scalar operands, metamethods,
-- in-place forms, unary maps, fill_ and copy_.
local grilly = require "grilly"
local ref = require "tensor_ref"

local f32 = ref.f32

-- float32 arithmetic: the exact double result rounded once is what IEEE
-- float32 operations give.
local ops = {
  add = function(a, b) return f32(a + b) end,
  sub = function(a, b) return f32(a - b) end,
  mul = function(a, b) return f32(a * b) end,
  div = function(a, b) return f32(a / b) end,
}
local metas = {
  add = function(a, b) return a + b end,
  sub = function(a, b) return a - b end,
  mul = function(a, b) return a * b end,
  div = function(a, b) return a / b end,
}

-- Pairs of shapes that broadcast, sizes 0 and 1 and 0-d included.
local broadcast_pairs = {
  { { 3, 4 }, { 3, 4 } }, { { 3, 4 }, { 4 } }, { { 4 }, { 3, 4 } }, { { 3, 1 }, { 1, 4 } },
  { { 2, 3, 4 }, { 3, 1 } }, { { 2, 1, 4 }, { 1, 3, 1 } }, { { 5 }, {} }, { {}, { 2, 3 } },
  { {}, {} }, { { 1 }, { 6 } }, { { 0, 3 }, { 3 } }, { { 2, 0 }, { 2, 1 } }, { { 1, 1 }, { 1 } },
  { { 2, 1, 3, 1 }, { 4, 1, 5 } }, { { 7 }, { 1 } }, { { 1, 4, 1 }, { 2, 1, 4, 3 } },
}

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }
  local rng = ref.rng(404)

  local function random_tensor(shape, lo, hi) return ref.random_tensor(rng, shape, device, lo, hi) end

  describe("element-wise ops on " .. device, function()
    it("add, sub, mul and div broadcast like numpy and round like float32", function()
      for _, pair in ipairs(broadcast_pairs) do
        local sa, sb = pair[1], pair[2]
        local a, fa = random_tensor(sa)
        local b, fb = random_tensor(sb, 0.5, 2)
        for name, f in pairs(ops) do
          local e, es = ref.binary(fa, sa, fb, sb, f)
          ref.assert_tensor(a[name](a, b), e, es, device, 0, 0, name)
          ref.assert_tensor(metas[name](a, b), e, es, device, 0, 0, "__" .. name)
        end
      end
    end)

    it("takes a number on either side", function()
      local a, fa = random_tensor({ 2, 3 }, 0.5, 2)
      local s = 1.75
      for name, f in pairs(ops) do
        ref.assert_tensor(a[name](a, s), ref.map(fa, function(x) return f(x, s) end), { 2, 3 }, device, 0, 0, name)
        ref.assert_tensor(metas[name](a, s), ref.map(fa, function(x) return f(x, s) end), { 2, 3 }, device, 0, 0)
        ref.assert_tensor(metas[name](s, a), ref.map(fa, function(x) return f(s, x) end), { 2, 3 }, device, 0, 0)
      end
      ref.assert_tensor(-a, ref.map(fa, function(x) return -x end), { 2, 3 }, device)
      ref.assert_tensor(a:neg(), ref.map(fa, function(x) return -x end), { 2, 3 }, device)
      ref.assert_tensor(2 * a - 1, ref.map(fa, function(x) return f32(f32(2 * x) - 1) end), { 2, 3 }, device)
    end)

    it("divides by zero into infinities and NaN", function()
      local t = grilly.tensor({ 1, -1, 0 }, opt)
      ref.assert_tensor(t / 0, { math.huge, -math.huge, 0 / 0 }, { 3 }, device)
      ref.assert_tensor(1 / grilly.zeros(1, opt), { math.huge }, { 1 }, device)
    end)

    it("updates in place with add_, sub_, mul_ and div_, broadcasting the operand", function()
      for _, pair in ipairs({ { { 3, 4 }, { 4 } }, { { 2, 3 }, { 2, 1 } }, { { 5 }, {} }, { { 2, 2 }, { 2, 2 } } }) do
        local sa, sb = pair[1], pair[2]
        for name, f in pairs(ops) do
          local a, fa = random_tensor(sa)
          local b, fb = random_tensor(sb, 0.5, 2)
          assert.are.equal(a, a[name .. "_"](a, b))
          local e = ref.binary(fa, sa, fb, sb, f)
          ref.assert_tensor(a, e, sa, device, 0, 0, name .. "_")
          ref.assert_tensor(b, fb, sb, device)
          a[name .. "_"](a, 3)
          ref.assert_tensor(a, ref.map(e, function(x) return f(x, 3) end), sa, device, 0, 0, name .. "_ scalar")
        end
      end
    end)

    it("updates in place from itself and from a view of itself", function()
      local a, fa = random_tensor({ 3, 2 })
      a:add_(a)
      local doubled = ref.map(fa, function(x) return f32(x + x) end)
      ref.assert_tensor(a, doubled, { 3, 2 }, device)
      -- Each row gets the original first row, although row 1 changes on the way.
      a:sub_(a[1])
      local e = ref.binary(doubled, { 3, 2 }, { doubled[1], doubled[2] }, { 2 }, ops.sub)
      ref.assert_tensor(a, e, { 3, 2 }, device)
    end)

    it("maps exp, log, sqrt, abs, tanh, sigmoid and relu", function()
      local maps = {
        exp = math.exp, abs = math.abs, tanh = math.tanh,
        sigmoid = function(x) return 1 / (1 + math.exp(-x)) end,
        relu = function(x) return x < 0 and 0 or x end,
      }
      local t, flat = random_tensor({ 4, 5 }, -5, 5)
      for name, f in pairs(maps) do
        ref.assert_tensor(t[name](t), ref.map(flat, f), { 4, 5 }, device, 2e-6, 1e-7, name)
      end
      local p, pflat = random_tensor({ 3, 3 }, 0.01, 100)
      ref.assert_tensor(p:log(), ref.map(pflat, math.log), { 3, 3 }, device, 2e-6, 1e-7, "log")
      ref.assert_tensor(p:sqrt(), ref.map(pflat, math.sqrt), { 3, 3 }, device, 2e-7, 0, "sqrt")
    end)

    it("follows IEEE rules at the edges of the maps", function()
      local t = grilly.tensor({ 0, -1, math.huge, -math.huge, 0 / 0 }, opt)
      ref.assert_tensor(t:log(), { -math.huge, 0 / 0, math.huge, 0 / 0, 0 / 0 }, { 5 }, device)
      ref.assert_tensor(t:sqrt(), { 0, 0 / 0, math.huge, 0 / 0, 0 / 0 }, { 5 }, device)
      ref.assert_tensor(t:exp(), { 1, math.exp(-1), math.huge, 0, 0 / 0 }, { 5 }, device, 2e-6)
      ref.assert_tensor(t:sigmoid(), { 0.5, 1 / (1 + math.exp(1)), 1, 0, 0 / 0 }, { 5 }, device, 2e-6)
      ref.assert_tensor(t:relu(), { 0, 0, math.huge, 0, 0 / 0 }, { 5 }, device)
      ref.assert_tensor(t:tanh(), { 0, math.tanh(-1), 1, -1, 0 / 0 }, { 5 }, device, 2e-6)
    end)

    it("raises to a power", function()
      local t, flat = random_tensor({ 6 }, 0.1, 3)
      for _, e in ipairs({ 2, 0.5, -1, 3.5, 0 }) do
        ref.assert_tensor(t:pow(e), ref.map(flat, function(x) return x ^ e end), { 6 }, device, 2e-6, 0, "pow " .. e)
      end
      ref.assert_tensor(grilly.tensor({ -2, -8 }, opt):pow(3), { -8, -512 }, { 2 }, device)
    end)

    it("clamps with either bound optional", function()
      local t = grilly.tensor({ -3, -1, 0, 2, 5, 0 / 0 }, opt)
      ref.assert_tensor(t:clamp(-1, 2), { -1, -1, 0, 2, 2, 0 / 0 }, { 6 }, device)
      ref.assert_tensor(t:clamp(0), { 0, 0, 0, 2, 5, 0 / 0 }, { 6 }, device)
      ref.assert_tensor(t:clamp(nil, 1), { -3, -1, 0, 1, 1, 0 / 0 }, { 6 }, device)
      ref.assert_tensor(t:clamp(1, 1), { 1, 1, 1, 1, 1, 0 / 0 }, { 6 }, device)
    end)

    it("has in-place forms of the maps", function()
      local t, flat = random_tensor({ 2, 4 }, 0.5, 4)
      local names = { "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "neg" }
      for _, name in ipairs(names) do
        local c = t:clone()
        assert.are.equal(c, c[name .. "_"](c))
        ref.assert_tensor(c, ref.read(t[name](t)), { 2, 4 }, device, 1e-6, 0, name .. "_")
      end
      local c = t:clone()
      c:pow_(2):clamp_(1, 4)
      ref.assert_tensor(c, ref.map(flat, function(x) return math.min(math.max(x * x, 1), 4) end), { 2, 4 }, device, 2e-6)
    end)

    it("handles empty and one-element tensors", function()
      local e = grilly.zeros({ 0, 3 }, opt)
      ref.assert_tensor(e + 1, {}, { 0, 3 }, device)
      ref.assert_tensor(e:exp(), {}, { 0, 3 }, device)
      ref.assert_tensor(e:add_(grilly.ones(3, opt)), {}, { 0, 3 }, device)
      local one = grilly.tensor({ 4 }, opt)
      ref.assert_tensor(one * one + one, { 20 }, { 1 }, device)
      ref.assert_tensor(grilly.tensor(3, opt) - 1, { 2 }, {}, device)
    end)

    it("fills and copies in place", function()
      local t = grilly.zeros({ 2, 3 }, opt)
      assert.are.equal(t, t:fill_(2.5))
      ref.assert_tensor(t, { 2.5, 2.5, 2.5, 2.5, 2.5, 2.5 }, { 2, 3 }, device)
      for _, other in ipairs(ref.devices()) do
        local src, fs = random_tensor({ 3, 2 })
        src = src:to(other)
        assert.are.equal(t, t:copy_(src))
        ref.assert_tensor(t, fs, { 2, 3 }, device)
      end
    end)
  end)
end

describe("element-wise errors", function()
  local a = grilly.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
  local before = a:totable()

  it("name both shapes when they do not broadcast", function()
    assert.error_matches(function() local _ = a + grilly.zeros(2) end, "shape mismatch: 2x3 vs 2")
    assert.error_matches(function() local r = a:add(grilly.zeros(4, 3)) return r end,
      "bad argument #1 to 'add' %(shape mismatch: 2x3 vs 4x3%)")
    assert.error_matches(function() local r = a:mul(grilly.zeros(3, 1, 2)) return r end, "shape mismatch: 2x3 vs 3x1x2")
    assert.error_matches(function() local r = grilly.zeros(0):div(grilly.zeros(2)) return r end, "shape mismatch: 0 vs 2")
  end)

  it("refuse an in-place result that would change shape, leaving the tensor as it was", function()
    local v = grilly.tensor({ 1, 2, 3 })
    assert.error_matches(function() v:add_(a) end, "shape mismatch: 3 vs 2x3 %(an in%-place result must keep the shape 3%)")
    assert.error_matches(function() a:sub_(grilly.zeros(2)) end, "shape mismatch: 2x3 vs 2")
    assert.same({ 1, 2, 3 }, v:totable())
    assert.same(before, a:totable())
  end)

  it("reject operands that are neither tensors nor numbers", function()
    for _, name in ipairs({ "add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_" }) do
      assert.error_matches(function() local r = a[name](a, "2") return r end, "grilly.Tensor or number expected, got string")
      assert.error_matches(function() local r = a[name](a) return r end, "grilly.Tensor or number expected, got no value")
    end
    assert.error_matches(function() local _ = a + {} end, "grilly.Tensor or number expected, got table")
    assert.error_matches(function() local _ = "1" * a end,
      "bad argument #1 to '__mul' %(grilly.Tensor or number expected, got string%)")
    assert.error_matches(function() local _ = a - true end, "got boolean")
    assert.same(before, a:totable())
  end)

  it("reject bad map parameters", function()
    assert.error_matches(function() local r = a:pow("2") return r end, "exponent must be a number, got string")
    assert.error_matches(function() local r = a:pow(a) return r end, "exponent must be a number, got userdata")
    assert.error_matches(function() local r = a:clamp() return r end, "clamp needs a min or a max")
    assert.error_matches(function() local r = a:clamp("0") return r end, "min must be a number, got string")
    assert.error_matches(function() local r = a:clamp(0, {}) return r end, "max must be a number, got table")
    assert.error_matches(function() local r = a:clamp(0 / 0) return r end, "clamp bounds must not be NaN")
    assert.error_matches(function() local r = a:clamp(nil, 0 / 0) return r end, "clamp bounds must not be NaN")
    assert.error_matches(function() a:clamp_(3, 2) end, "clamp needs min <= max %(got 3 > 2%)")
    assert.error_matches(function() a:fill_("1") end, "fill value must be a number, got string")
    assert.error_matches(function() a:fill_() end, "fill value must be a number, got no value")
    assert.same(before, a:totable())
  end)

  it("reject copy_ from a tensor of another size", function()
    assert.error_matches(function() a:copy_(grilly.zeros(5)) end, "bad argument #1 to 'copy_' %(shape mismatch: 2x3 vs 5%)")
    assert.error_matches(function() a:copy_(1) end, "grilly.Tensor expected, got number")
    assert.same(before, a:totable())
    local b = grilly.zeros(3, 2)
    b:copy_(a)
    assert.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, b:totable())
  end)

  it("name both devices when operands live on different devices", function()
    local devices = ref.devices()
    if #devices < 2 then
      pending("needs a second device")
      return
    end
    local g = grilly.ones(2, 3, { device = a.device == "cpu" and devices[2] or "cpu" })
    local pair = ("device mismatch: %s vs %s"):format(a.device, g.device):gsub("%p", "%%%0")
    assert.error_matches(function() local _ = a + g end, pair)
    assert.error_matches(function() a:add_(g) end, pair)
    assert.same(before, a:totable())
  end)

  it("report use of a freed tensor on either side", function()
    local f = grilly.zeros(2, 3)
    f:free()
    for _, call in ipairs({
      function() return a + f end, function() return f + a end, function() return f + 1 end,
      function() return 1 - f end, function() return -f end, function() return a:mul_(f) end,
      function() return f:exp() end, function() return f:exp_() end, function() return f:pow(2) end,
      function() return f:clamp(0) end, function() return f:fill_(1) end, function() return a:copy_(f) end,
      function() return f:copy_(a) end,
    }) do
      assert.error_matches(call, "use of freed grilly.Tensor")
    end
    assert.same(before, a:totable())
  end)
end)

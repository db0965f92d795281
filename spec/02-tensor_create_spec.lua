-- Creation ops: arange, linspace, the random generator, clone, to, grads.
local grilly = require "grilly"
local ref = require "tensor_ref"
local philox = require "philox_ref"

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }

  describe("tensor creation on " .. device, function()
    describe("arange", function()
      it("counts from 0 to stop, stop excluded", function()
        ref.assert_tensor(grilly.arange(5, opt), { 0, 1, 2, 3, 4 }, { 5 }, device)
        ref.assert_tensor(grilly.arange(1, opt), { 0 }, { 1 }, device)
        ref.assert_tensor(grilly.arange(2.5, opt), { 0, 1, 2 }, { 3 }, device)
      end)

      it("takes start, stop and a step of either sign", function()
        ref.assert_tensor(grilly.arange(2, 6, opt), { 2, 3, 4, 5 }, { 4 }, device)
        ref.assert_tensor(grilly.arange(1, 2, 0.25, opt), { 1, 1.25, 1.5, 1.75 }, { 4 }, device)
        ref.assert_tensor(grilly.arange(3, -3, -2, opt), { 3, 1, -1 }, { 3 }, device)
        local expected = {}
        for i = 0, 9 do expected[i + 1] = ref.f32(-1 + i * 0.3) end
        ref.assert_tensor(grilly.arange(-1, 2, 0.3, opt), expected, { 10 }, device)
      end)

      it("is empty when the step points away from stop", function()
        ref.assert_tensor(grilly.arange(0, opt), {}, { 0 }, device)
        ref.assert_tensor(grilly.arange(3, 1, opt), {}, { 0 }, device)
        ref.assert_tensor(grilly.arange(1, 3, -1, opt), {}, { 0 }, device)
      end)
    end)

    describe("linspace", function()
      it("spaces n values evenly, both ends included", function()
        ref.assert_tensor(grilly.linspace(0, 1, 5, opt), { 0, 0.25, 0.5, 0.75, 1 }, { 5 }, device)
        ref.assert_tensor(grilly.linspace(2, -2, 3, opt), { 2, 0, -2 }, { 3 }, device)
        ref.assert_tensor(grilly.linspace(-1, 1, 2, opt), { -1, 1 }, { 2 }, device)
        local expected = {}
        for i = 0, 6 do expected[i + 1] = ref.f32(0.1 + i * (0.7 - 0.1) / 6) end
        expected[7] = ref.f32(0.7)
        ref.assert_tensor(grilly.linspace(0.1, 0.7, 7, opt), expected, { 7 }, device)
      end)

      it("gives the start alone for n = 1 and nothing for n = 0", function()
        ref.assert_tensor(grilly.linspace(3, 9, 1, opt), { 3 }, { 1 }, device)
        ref.assert_tensor(grilly.linspace(3, 9, 0, opt), {}, { 0 }, device)
      end)
    end)

    describe("the random generator", function()
      it("fills rand from the Philox stream, advancing it by numel", function()
        grilly.manual_seed(1234)
        local a = grilly.rand(3, 4, opt)
        local b = grilly.rand({ 5 }, opt)
        local expected = {}
        for c = 0, 11 do expected[#expected + 1] = philox.uniform(1234, c) end
        ref.assert_tensor(a, expected, { 3, 4 }, device)
        expected = {}
        for c = 12, 16 do expected[#expected + 1] = philox.uniform(1234, c) end
        ref.assert_tensor(b, expected, { 5 }, device)
      end)

      it("matches the published Philox4x32-10 test vector for seed 0, counter 0", function()
        grilly.manual_seed(0)
        -- Philox4x32-10 of counter 0 under key 0 starts with word 0x6627e8d5.
        assert.are.equal(math.floor(0x6627e8d5 / 256) * 2 ^ -24, grilly.rand(1, opt)[1])
      end)

      it("uses the high word of the seed as the second key word", function()
        local seed = 2 ^ 40 + 77
        grilly.manual_seed(seed)
        local expected = {}
        for c = 0, 7 do expected[#expected + 1] = philox.uniform(seed, c) end
        ref.assert_tensor(grilly.rand(8, opt), expected, { 8 }, device)
      end)

      it("repeats after manual_seed and is the default-seeded stream", function()
        grilly.manual_seed(7)
        local a = ref.read(grilly.rand(6, opt))
        grilly.manual_seed(7)
        ref.assert_tensor(grilly.rand(6, opt), a, { 6 }, device)
        grilly.manual_seed(8)
        local c = ref.read(grilly.rand(6, opt))
        assert.are_not.same(a, c)
      end)

      it("fills randn with Box-Muller normals of the stream", function()
        grilly.manual_seed(99)
        local t = grilly.randn(64, opt)
        local expected = {}
        for c = 0, 63 do expected[c + 1] = philox.normal(99, c) end
        ref.assert_tensor(t, expected, { 64 }, device, 2e-6, 2e-6)
      end)

      it("draws uniform values in [0, 1) and normals of mean 0 and std 1", function()
        grilly.manual_seed(5)
        local u = ref.read(grilly.rand(20000, opt))
        for i = 1, #u do assert.is_true(u[i] >= 0 and u[i] < 1) end
        assert.is_true(math.abs(ref.mean(u) - 0.5) < 0.01)
        local z = ref.read(grilly.randn(20000, opt))
        local m = ref.mean(z)
        local var = 0
        for i = 1, #z do var = var + (z[i] - m) ^ 2 end
        assert.is_true(math.abs(m) < 0.03)
        assert.is_true(math.abs(math.sqrt(var / #z) - 1) < 0.03)
      end)

      it("fills in place with uniform_(a, b) and normal_(mean, std)", function()
        grilly.manual_seed(3)
        local t = grilly.zeros(2, 3, opt)
        assert.are.equal(t, t:uniform_(-2, 4))
        local expected = {}
        for c = 0, 5 do expected[c + 1] = philox.uniform(3, c, -2, 4) end
        ref.assert_tensor(t, expected, { 2, 3 }, device)
        t:normal_(10, 0.5)
        for c = 6, 11 do expected[c - 5] = philox.normal(3, c, 10, 0.5) end
        ref.assert_tensor(t, expected, { 2, 3 }, device, 2e-6, 2e-6)
        t:normal_(1, 0)
        ref.assert_tensor(t, { 1, 1, 1, 1, 1, 1 }, { 2, 3 }, device)
      end)

      it("makes empty random tensors without advancing the stream", function()
        grilly.manual_seed(11)
        ref.assert_tensor(grilly.rand(0, 3, opt), {}, { 0, 3 }, device)
        assert.are.equal(philox.uniform(11, 0), grilly.rand(1, opt)[1])
      end)
    end)

    describe("copies and grads", function()
      it("clones into an independent tensor on the same device", function()
        local t = grilly.tensor({ { 1, 2 }, { 3, 4 } }, opt)
        local c = t:clone()
        c:fill_(0)
        ref.assert_tensor(t, { 1, 2, 3, 4 }, { 2, 2 }, device)
        ref.assert_tensor(c, { 0, 0, 0, 0 }, { 2, 2 }, device)
      end)

      it("copies to another device with to()", function()
        local t = grilly.tensor({ 1.5, -2 }, opt)
        for _, other in ipairs(ref.devices()) do
          local c = t:to(other)
          ref.assert_tensor(c, { 1.5, -2 }, { 2 }, other)
          c:fill_(9)
          ref.assert_tensor(t, { 1.5, -2 }, { 2 }, device)
        end
      end)

      it("gives a parameter a zeroed grad of its shape and keeps an existing one", function()
        local p = grilly.ones({ 2, 3 }, opt)
        assert.are.equal(p, p:requires_grad())
        ref.assert_tensor(p.grad, { 0, 0, 0, 0, 0, 0 }, { 2, 3 }, device)
        p.grad:fill_(2)
        p:requires_grad()
        ref.assert_tensor(p.grad, { 2, 2, 2, 2, 2, 2 }, { 2, 3 }, device)
        local q = grilly.parameter(grilly.zeros({ 4 }, opt))
        ref.assert_tensor(q.grad, { 0, 0, 0, 0 }, { 4 }, device)
      end)
    end)
  end)
end

describe("tensor creation errors", function()
  it("rejects bad arange arguments", function()
    assert.error_matches(function() grilly.arange() end, "stop must be a number, got no value")
    assert.error_matches(function() grilly.arange("5") end, "stop must be a number, got string")
    assert.error_matches(function() grilly.arange(1, 5, 0) end, "arange step must not be 0")
    assert.error_matches(function() grilly.arange(0 / 0) end, "finite start, stop and step")
    assert.error_matches(function() grilly.arange(0, math.huge) end, "finite start, stop and step")
    assert.error_matches(function() grilly.arange(0, 1, 0 / 0) end, "finite start, stop and step")
    assert.error_matches(function() grilly.arange(1, "x") end, "number or options table expected, got string")
    assert.error_matches(function() grilly.arange(1, { device = "nope" }) end, "unknown device 'nope'")
    assert.error_matches(function() grilly.arange(0, 1e300) end, "too large")
  end)

  it("rejects bad linspace arguments", function()
    assert.error_matches(function() grilly.linspace(0, 1) end, "count must be a number, got no value")
    assert.error_matches(function() grilly.linspace(0, 1, 0 / 0) end, "count must be an integer, got nan")
    assert.error_matches(function() grilly.linspace(0, 1, 2.5) end, "count must be an integer, got 2.5")
    assert.error_matches(function() grilly.linspace(0, 1, -1) end, "count must be >= 0")
    assert.error_matches(function() grilly.linspace(0 / 0, 1, 3) end, "finite end points")
    assert.error_matches(function() grilly.linspace(0, -math.huge, 3) end, "finite end points")
    assert.error_matches(function() grilly.linspace("a", 1, 3) end, "start must be a number, got string")
    assert.error_matches(function() grilly.linspace(0, {}, 3) end, "end must be a number, got table")
  end)

  it("rejects bad seeds and leaves the generator as it was", function()
    grilly.manual_seed(21)
    local first = grilly.rand(1)[1]
    for _, bad in ipairs({ -1, 1.5, 0 / 0, 2 ^ 53, math.huge }) do
      assert.error_matches(function() grilly.manual_seed(bad) end, "seed must be an integer in %[0, 2%^53%)")
    end
    assert.error_matches(function() grilly.manual_seed("1") end, "seed must be a number, got string")
    assert.error_matches(function() grilly.manual_seed() end, "seed must be a number, got no value")
    assert.are.equal(philox.uniform(21, 1), grilly.rand(1)[1])
    assert.are_not.equal(first, philox.uniform(21, 1))
    grilly.manual_seed(2 ^ 53 - 1)
    assert.are.equal(philox.uniform(2 ^ 53 - 1, 0), grilly.rand(1)[1])
  end)

  it("rejects bad random shapes and bounds without advancing the stream", function()
    grilly.manual_seed(4)
    assert.error_matches(function() grilly.rand(-1) end, "non%-negative integer")
    assert.error_matches(function() grilly.randn(0 / 0) end, "non%-negative integer")
    assert.error_matches(function() grilly.rand("x") end, "sizes expected, got string")
    assert.error_matches(function() grilly.rand(2, 3, "x") end, "options table expected")
    local t = grilly.zeros(3)
    assert.error_matches(function() t:uniform_(2, 1) end, "a <= b")
    assert.error_matches(function() t:uniform_(0 / 0, 1) end, "finite bounds")
    assert.error_matches(function() t:uniform_("0") end, "a must be a number, got string")
    assert.error_matches(function() t:normal_(0, -1) end, "std >= 0")
    assert.error_matches(function() t:normal_(0 / 0) end, "finite mean")
    assert.error_matches(function() t:normal_(0, "1") end, "std must be a number, got string")
    assert.same({ 0, 0, 0 }, t:totable())
    assert.are.equal(philox.uniform(4, 0), grilly.rand(1)[1])
  end)

  it("rejects a bad device for to() and non-tensors for parameter()", function()
    local t = grilly.zeros(2)
    assert.error_matches(function() t:to("nope") end, "unknown device 'nope'")
    assert.error_matches(function() t:to() end, "string expected, got no value")
    assert.error_matches(function() grilly.parameter({}) end, "grilly.Tensor expected, got table")
    assert.error_matches(function() grilly.parameter() end, "grilly.Tensor expected, got no value")
  end)

  it("reports use of a freed tensor in every creation-side method", function()
    local t = grilly.zeros(2)
    t:free()
    for _, call in ipairs({
      function() return t:clone() end, function() return t:to("cpu") end,
      function() return t:requires_grad() end, function() return grilly.parameter(t) end,
      function() return t:uniform_() end, function() return t:normal_() end,
    }) do
      assert.error_matches(call, "use of freed grilly.Tensor")
    end
  end)
end)

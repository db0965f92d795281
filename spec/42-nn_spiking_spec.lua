-- grilly.nn spiking layers: LIF and IF over several time steps against a
-- plain-Lua reference of the neuron equations, for every surrogate, reset
-- mode and input decay; the surrogate gradients through time against
-- finite differences; readouts and encoders.
--
-- A spike is a step function, so its finite differences are zero almost
-- everywhere. The surrogate gradient is the exact gradient of the forward
-- pass in which each spike is written S = S0 + sg(H - v_th) - sg(H0 - v_th):
-- the same value at the unperturbed point (S0 from the step, H0 the
-- unperturbed membrane), with sg the surrogate's primitive. The reference
-- below runs that form in double, and its central differences are the
-- independent check of the backward kernel.
local grilly = require "grilly"
local ref = require "tensor_ref"
local gc = require "gradcheck"

local nn = grilly.nn

-- Primitives of the surrogate derivatives (up to a constant).
local primitives = {
  atan = function(a, u) return math.atan(math.pi / 2 * a * u) / math.pi end,
  sigmoid = function(a, u) return 1 / (1 + math.exp(-a * u)) end,
  fast_sigmoid = function(a, u) return u / (1 + a * math.abs(u)) end,
}

-- The neuron equations over x (steps x width, flat). With frozen = {s, h}
-- spikes take the straight-through form above. Returns output and H.
local function lif_ref(p, x, steps, width, frozen)
  local v, out, hs = {}, {}, {}
  for i = 1, width do v[i] = p.v_rest end
  local sg = primitives[p.surrogate]
  for t = 0, steps - 1 do
    for i = 1, width do
      local k = t * width + i
      local h = p.decay * (v[i] - p.v_rest) + p.v_rest + p.input_scale * x[k]
      hs[k] = h
      if p.output == "membrane" then
        out[k], v[i] = h, h
      else
        local s0 = h >= p.v_threshold and 1 or 0
        local s = s0
        if frozen then
          s0 = frozen.s[k]
          s = s0 + sg(p.alpha, h - p.v_threshold) - sg(p.alpha, frozen.h[k] - p.v_threshold)
        end
        local sr = p.detach_reset and s0 or s
        out[k] = s
        v[i] = p.hard_reset and h * (1 - sr) + p.v_reset * sr or h - p.v_threshold * sr
      end
    end
  end
  return out, hs
end

-- Central differences of sum(w * lif_ref(x)) in double with frozen spikes.
local function reference_gradient(p, fx, fw, steps, width)
  local s0, h0 = lif_ref(p, fx, steps, width)
  local frozen = { s = s0, h = h0 }
  local g, eps = {}, 1e-6
  local function loss(x)
    local out, total = lif_ref(p, x, steps, width, frozen), 0
    for k = 1, #out do total = total + fw[k] * out[k] end
    return total
  end
  for k = 1, #fx do
    local v = fx[k]
    fx[k] = v + eps
    local lp = loss(fx)
    fx[k] = v - eps
    local lm = loss(fx)
    fx[k] = v
    g[k] = (lp - lm) / (2 * eps)
  end
  return g
end

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }

  describe("nn spiking layers on " .. device, function()
    local steps, shape = 6, { 6, 2, 3 }
    local width = 6

    local configs = {}
    for _, surrogate in ipairs({ "atan", "sigmoid", "fast_sigmoid" }) do
      for _, reset in ipairs({ "soft", "hard" }) do
        for _, decay_input in ipairs({ false, true }) do
          configs[#configs + 1] = {
            surrogate = surrogate, v_reset = reset == "hard" and -0.2 or nil, decay_input = decay_input,
            tau = 2.5, v_threshold = 0.8,
          }
        end
      end
      configs[#configs + 1] = { surrogate = surrogate, v_reset = 0, tau = 3, detach_reset = true, alpha = 3 }
      configs[#configs + 1] = { surrogate = surrogate, if_neuron = true }
      configs[#configs + 1] = { surrogate = surrogate, if_neuron = true, v_reset = 0 }
    end

    local function name(c)
      return string.format("%s %s%s%s%s", c.if_neuron and "IF" or "LIF", c.surrogate,
                           c.v_reset and " hard reset" or " soft reset", c.decay_input and " decay_input" or "",
                           c.detach_reset and " detach_reset" or "")
    end

    for ci, c in ipairs(configs) do
      it(name(c) .. ": spikes and surrogate gradients over " .. steps .. " steps match the reference", function()
        local layer
        if c.if_neuron then
          layer = nn.IF { surrogate = c.surrogate, v_reset = c.v_reset }
        else
          layer = nn.LIF { tau = c.tau, v_threshold = c.v_threshold, v_reset = c.v_reset, surrogate = c.surrogate,
                           decay_input = c.decay_input, detach_reset = c.detach_reset, alpha = c.alpha }
        end
        local p = layer.params
        local rng = ref.rng(420 + ci)
        -- Inputs large enough to fire every few steps, rounded to a grid so
        -- that no membrane lands on the threshold.
        local gain = c.decay_input and c.tau or 1
        local fx = ref.map(ref.random_flat(rng, shape, -0.5 * gain, 1.5 * gain), function(v)
          return math.floor(v * 64) / 64 + 1 / 256
        end)
        local x = ref.tensor(fx, shape, device)
        local out = layer:forward(x)
        local expected, hs = lif_ref(p, fx, steps, width)
        ref.assert_tensor(out, expected, shape, device, 0, 0, "spikes")
        ref.assert_tensor(layer.membrane, hs, shape, device, 1e-5, 1e-5, "membrane")
        local fired = out:sum()
        assert.is_true(fired > 0 and fired < 36, "some but not all neurons fire")

        local fw = ref.random_flat(rng, shape)
        local g = layer:backward(x, ref.tensor(fw, shape, device))
        ref.assert_tensor(g, reference_gradient(p, fx, fw, steps, width), shape, device, 1e-3, 1e-4, "gradient")
      end)
    end

    it("soft reset subtracts the threshold and hard reset sets v_reset (hand-worked steps)", function()
      -- tau = 2, threshold 1, input 0.8 each step: H = 0.5 V + 0.8.
      -- soft: H 0.8, 1.2 (fire, V 0.2), 0.9, 1.25 (fire, V 0.25)
      -- hard to 0: H 0.8, 1.2 (fire, V 0), 0.8, 1.2
      local x = grilly.full({ 4, 1, 1 }, 0.8, opt)
      local soft = nn.LIF { tau = 2 }
      ref.assert_tensor(soft:forward(x), { 0, 1, 0, 1 }, { 4, 1, 1 }, device)
      ref.assert_tensor(soft.membrane, { 0.8, 1.2, 0.9, 1.25 }, { 4, 1, 1 }, device, 1e-6)
      local hard = nn.LIF { tau = 2, v_reset = 0 }
      ref.assert_tensor(hard:forward(x), { 0, 1, 0, 1 }, { 4, 1, 1 }, device)
      ref.assert_tensor(hard.membrane, { 0.8, 1.2, 0.8, 1.2 }, { 4, 1, 1 }, device, 1e-6)
      -- decay_input: H = V + (X - V) / 2 with X = 0.8 never reaches 1.
      local di = nn.LIF { tau = 2, decay_input = true }
      ref.assert_tensor(di:forward(x), { 0, 0, 0, 0 }, { 4, 1, 1 }, device)
      ref.assert_tensor(di.membrane, { 0.4, 0.6, 0.7, 0.75 }, { 4, 1, 1 }, device, 1e-6)
      -- IF integrates without leak: 0.8, 1.6 (fire, V 0.6), 1.4 (fire, V 0.4), 1.2 (fire).
      local integ = nn.IF()
      ref.assert_tensor(integ:forward(x), { 0, 1, 1, 1 }, { 4, 1, 1 }, device)
    end)

    it("SpikeCount sums or averages over time and spreads the gradient back", function()
      local rng = ref.rng(77)
      local x, fx = ref.random_tensor(rng, { 3, 2, 2 }, device)
      local sum = {}
      for i = 1, 4 do sum[i] = fx[i] + fx[4 + i] + fx[8 + i] end
      ref.assert_tensor(nn.SpikeCount():forward(x), sum, { 2, 2 }, device, 1e-6)
      ref.assert_tensor(nn.SpikeCount { mean = true }:forward(x), ref.map(sum, function(v) return v / 3 end), { 2, 2 },
                        device, 1e-6)
      gc.check_module(nn.SpikeCount(), x)
      gc.check_module(nn.SpikeCount { mean = true }, x)
    end)

    it("MembraneReadout integrates without firing, averaged or at the last step", function()
      local rng = ref.rng(78)
      local x, fx = ref.random_tensor(rng, { 4, 2, 3 }, device)
      local p = { decay = 0.5, input_scale = 1, v_rest = 0, output = "membrane" }
      local v = lif_ref(p, fx, 4, 6)
      local mean, last = {}, {}
      for i = 1, 6 do
        mean[i] = (v[i] + v[6 + i] + v[12 + i] + v[18 + i]) / 4
        last[i] = v[18 + i]
      end
      ref.assert_tensor(nn.MembraneReadout { tau = 2 }:forward(x), mean, { 2, 3 }, device, 1e-5, 1e-6)
      ref.assert_tensor(nn.MembraneReadout { tau = 2, reduce = "last" }:forward(x), last, { 2, 3 }, device, 1e-5, 1e-6)
      gc.check_module(nn.MembraneReadout { tau = 2 }, x)
      gc.check_module(nn.MembraneReadout { tau = 4, reduce = "last", decay_input = true }, x)
    end)

    it("a spiking network's gradients through Linear, LIF and a readout match the frozen-spike reference", function()
      -- Linear -> LIF: the LIF input is x W^T, so dL/dx = (dL/dH-input) W.
      grilly.manual_seed(5)
      local lin = nn.Linear(3, 4, opt)
      local lif = nn.LIF { tau = 2, v_threshold = 0.5 }
      local model = nn.Sequential { lin, lif, nn.SpikeCount() }
      local rng = ref.rng(91)
      local x = ref.tensor(ref.random_flat(rng, { 5, 2, 3 }, 0, 1), { 5, 2, 3 }, device)
      local out = model:forward(x)
      local fw = ref.random_flat(rng, out:size())
      model:zero_grad()
      local gx = model:backward(x, ref.tensor(fw, out:size(), device))
      -- SpikeCount passes w to every step; the LIF part is the reference's.
      local fw_steps = {}
      for k = 1, 40 do fw_steps[k] = fw[(k - 1) % 8 + 1] end
      local gin = reference_gradient(lif.params, ref.read(model.outputs[1]), fw_steps, 5, 8)
      local fwt = ref.read(lin.weight)
      local expected = {}
      for r = 0, 9 do
        for k = 1, 3 do
          local s = 0
          for j = 1, 4 do s = s + gin[r * 4 + j] * fwt[(j - 1) * 3 + k] end
          expected[r * 3 + k] = s
        end
      end
      ref.assert_tensor(gx, expected, { 5, 2, 3 }, device, 1e-5, 1e-6)
      assert.is_true(lin.weight.grad:abs():max() > 0)
    end)

    it("checks options and input shapes, naming the layer", function()
      assert.has_error(function() nn.LIF { tau = 0.5 } end, "LIF: option 'tau' must be a finite number >= 1, got 0.5")
      assert.has_error(function() nn.LIF { surrogate = "relu" } end,
                       "LIF: option 'surrogate' must be 'atan', 'sigmoid' or 'fast_sigmoid', got relu")
      assert.has_error(function() nn.LIF { alpha = 0 } end, "LIF: option 'alpha' must be a finite number > 0, got 0")
      assert.has_error(function() nn.LIF { v_reset = "soft" } end,
                       "LIF: option 'v_reset' must be a finite number or nil (soft reset), got soft")
      assert.has_error(function() nn.LIF { beta = 0.9 } end,
                       "LIF: unknown option 'beta' (known: tau, v_threshold, v_reset, surrogate, alpha, decay_input, detach_reset)")
      assert.has_error(function() nn.IF { tau = 2 } end,
                       "IF: unknown option 'tau' (known: v_threshold, v_reset, surrogate, alpha, detach_reset)")
      local lif = nn.LIF()
      assert.has_error(function() lif:forward(grilly.zeros(5, opt)) end,
                       "LIF(tau=2, v_threshold=1, soft reset, atan(alpha=2)): expected input of shape time x batch x ..., got 5")
      lif:forward(grilly.zeros(3, 2, 4, opt))
      assert.has_error(function() lif:backward(grilly.zeros(3, 2, 4, opt), grilly.zeros(3, 4, 2, opt)) end,
                       "LIF(tau=2, v_threshold=1, soft reset, atan(alpha=2)): grad_output 3x4x2 does not match the output 3x2x4")
      assert.has_error(function() nn.SpikeCount():forward(grilly.zeros(4, opt)) end,
                       "SpikeCount(): expected input of shape time x batch x ..., got 4")
    end)
  end)

  describe("spike encoders on " .. device, function()
    it("direct coding repeats the input and sums the gradient over time", function()
      local x = grilly.tensor({ { 0.25, 0.5 } }, opt)
      ref.assert_tensor(nn.encode.direct(x, 3), { 0.25, 0.5, 0.25, 0.5, 0.25, 0.5 }, { 3, 1, 2 }, device)
      gc.check_module(nn.DirectEncoder(3), ref.tensor({ 0.1, -0.4, 0.7 }, { 3 }, device))
    end)

    it("rate coding fires with the input's probability, reproducibly per seed", function()
      local x = grilly.tensor({ 0, 0.2, 0.7, 1, 1.5, -1 }, opt)
      grilly.manual_seed(9)
      local s = nn.encode.rate(x, 4000)
      assert.are.same({ 4000, 6 }, s:size())
      local rates = ref.read(s:mean(1))
      local want = { 0, 0.2, 0.7, 1, 1, 0 }
      for i = 1, 6 do assert.is_true(math.abs(rates[i] - want[i]) < 0.03, "rate " .. i) end
      -- Spikes are exactly 0 or 1: their squares sum to their count.
      assert.are.equal(s:sum(), s:dot(s))
      grilly.manual_seed(9)
      ref.assert_close(ref.read(nn.encode.rate(x, 4000)), ref.read(s), 0, 0)
      -- A rate code is the uniform draws compared with the input.
      grilly.manual_seed(4)
      local u = ref.read(grilly.rand(2, 6, opt))
      grilly.manual_seed(4)
      local r = ref.read(nn.encode.rate(x, 2))
      local fx = ref.read(x)
      for k = 1, 12 do assert.are.equal(u[k] < fx[(k - 1) % 6 + 1] and 1 or 0, r[k]) end
      -- Its backward pass is the sum over steps (straight through).
      local enc = nn.RateEncoder(2)
      enc:forward(x)
      local g = ref.tensor({ 1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60 }, { 2, 6 }, device)
      ref.assert_tensor(enc:backward(x, g), { 11, 22, 33, 44, 55, 66 }, { 6 }, device)
    end)

    it("latency coding fires once, earlier for brighter inputs, never at or below the threshold", function()
      local x = grilly.tensor({ 1, 0.5, 0, 0.01, 2 }, opt)
      local s = nn.encode.latency(x, 5)
      -- Step 1 + round(4 * (1 - x)): 1, 3, none, 5 (round(3.96)), 1.
      local expected = {
        1, 0, 0, 0, 1,
        0, 0, 0, 0, 0,
        0, 1, 0, 0, 0,
        0, 0, 0, 0, 0,
        0, 0, 0, 1, 0,
      }
      ref.assert_tensor(s, expected, { 5, 5 }, device)
      ref.assert_tensor(nn.encode.latency(x, 5, 0.6):sum(1), { 1, 0, 0, 0, 1 }, { 5 }, device)
      local enc = nn.LatencyEncoder(5)
      enc:forward(x)
      assert.is_nil(enc:backward(x, grilly.zeros(5, 5, opt)))
      assert.has_error(function() nn.encode.latency(x, 0) end, "encode.latency: steps must be an integer >= 1, got 0")
    end)
  end)
end

local devices = ref.devices()
local check = #devices > 1 and describe or pending
check("spiking kernels across devices", function()
  it("give the CPU's spikes, membranes, gradients and rate codes on " .. tostring(devices[2]), function()
    local rng = ref.rng(4242)
    local shape = { 5, 3, 7 }
    local fx, fg = ref.random_flat(rng, shape, -1, 2), ref.random_flat(rng, shape)
    for _, surrogate in ipairs({ "atan", "sigmoid", "fast_sigmoid" }) do
      local results = {}
      for _, device in ipairs({ "cpu", devices[2] }) do
        local lif = nn.LIF { tau = 3, v_reset = 0.1, surrogate = surrogate }
        local x = ref.tensor(fx, shape, device)
        local out = ref.read(lif:forward(x))
        results[#results + 1] = { out, ref.read(lif.membrane), ref.read(lif:backward(x, ref.tensor(fg, shape, device))) }
      end
      ref.assert_close(results[2][1], results[1][1], 0, 0, surrogate .. " spikes")
      ref.assert_close(results[2][2], results[1][2], 1e-6, 1e-6, surrogate .. " membrane")
      ref.assert_close(results[2][3], results[1][3], 1e-5, 1e-6, surrogate .. " gradient")
    end
    local codes = {}
    for _, device in ipairs({ "cpu", devices[2] }) do
      grilly.manual_seed(17)
      codes[#codes + 1] = ref.read(nn.encode.rate(ref.tensor(ref.map(fx, function(v) return v / 2 end), shape, device), 3))
    end
    ref.assert_close(codes[2], codes[1], 0, 0, "rate code")
  end)
end)

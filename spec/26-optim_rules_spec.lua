-- Consequences of the optimizer rules, derived by hand: when adaptation and
-- surprise start, the first surprise value, the 10 % rate limit, the first AdamW
-- and HypergradientAdamW steps, and the product bias correction.
local grilly = require "grilly"
local support = require "optim_support"
local ref = require "tensor_ref"

local optim = grilly.optim

local function near(expected, got, rel, what)
  assert(math.abs(got - expected) <= rel * math.abs(expected),
    ("%s: expected %.17g, got %.17g"):format(what or "value", expected, got))
end

for _, device in ipairs(support.devices()) do
  describe("optimizer rules on " .. device, function()
    local function t(values) return ref.tensor(values, { #values }, device) end

    -- Steps opt over p with gradients 0.3 * x + c_k (closed loop), recording history lengths.
    local function drive(opt, p, steps)
      local lengths = {}
      for k = 1, steps do
        local x = ref.read(p)
        local g = {}
        for j = 1, #x do g[j] = 0.3 * x[j] + 0.1 * ((k + j) % 3 - 1) end
        opt:step { [p] = t(g) }
        lengths[k] = { lr = #opt.lr_history, surprise = #opt.surprise_history }
      end
      return lengths
    end

    for _, warmup in ipairs { 0, 1, 4 } do
      it(("with warmup_steps = %d surprise starts at call %d and lr adaptation at call %d"):format(
        warmup, warmup + 1, math.max(warmup + 1, 2)), function()
        local p = t { 1, -2, 0.5 }
        local opt = optim.AutoHypergradientAdamW({ p }, { warmup_steps = warmup, track_surprise = true })
        local lengths = drive(opt, p, warmup + 4)
        local first_lr = math.max(warmup + 1, 2)
        for k, n in ipairs(lengths) do
          assert.are.equal(k >= first_lr and k - first_lr + 2 or 1, n.lr, "lr_history after call " .. k)
          assert.are.equal(k >= warmup + 1 and k - warmup or 0, n.surprise, "surprise_history after call " .. k)
        end
      end)
    end

    it("the first surprise is tanh(1), and gain follows from the accumulated surprise", function()
      local p = t { 1, -2, 0.5 }
      local opt = optim.AutoHypergradientAdamW({ p }, { warmup_steps = 2, track_surprise = true,
                                                        surprise_alpha = 0.3, trauma_threshold = 0.4 })
      drive(opt, p, 2)
      assert.are.same({ 0, 0, 0 }, { opt.current_surprise, opt.accumulated_surprise, opt.current_surprise_gain })
      drive(opt, p, 1)
      near(math.tanh(1), opt.current_surprise, 1e-9, "S")
      near(0.3 * math.tanh(1), opt.accumulated_surprise, 1e-9, "Sbar")
      drive(opt, p, 3)
      local S, Sbar = opt.current_surprise, opt.accumulated_surprise
      local h = opt.surprise_history
      near(0.3 * S + 0.7 * opt.s_bar_history[#h - 1], Sbar, 1e-12, "Sbar recursion")
      near(Sbar * math.exp(-Sbar / 0.4), opt.current_surprise_gain, 1e-12, "gain")
    end)

    it("moves a small lr by exactly x1.1 or x0.9 per step under the rate limit", function()
      -- Gradients of magnitude 2 that flip sign every 5 steps keep |h| at its clip, 1.
      local p = t { 1, -2, 0.5, 3 }
      local opt = optim.AutoHypergradientAdamW({ p }, { lr = 0.01, warmup_steps = 0 })
      for k = 1, 30 do
        local s = (k % 10 < 5) and 2 or -2
        opt:step { [p] = t { s, s, -s, s } }
      end
      local h = opt.lr_history
      assert.is_true(#h > 20)
      local seen = {}
      for k = 2, #h do
        local ratio = h[k] / h[k - 1]
        local up = math.abs(ratio - 1.1) < 1e-12
        assert.is_true(up or math.abs(ratio - 0.9) < 1e-12, ("ratio %.17g at entry %d"):format(ratio, k))
        seen[up] = true
      end
      assert.is_true(seen[true] and seen[false])
    end)

    it("makes the first AdamW step lr * g / (|g| + eps) after decoupled decay", function()
      local x, g, lr, wd = { 1, -2, 0.5 }, { 0.25, -4, 1e-3 }, 0.01, 0.1
      local p = t(x)
      local opt = optim.AdamW({ p }, { lr = lr, weight_decay = wd })
      opt:step { [p] = t(g) }
      local got = ref.read(p)
      for j = 1, 3 do
        local gj = ref.f32(g[j])
        near(x[j] * (1 - lr * wd) - lr * gj / (math.abs(gj) + 1e-8), got[j], 1e-6, "p[" .. j .. "]")
      end
    end)

    it("adapts HypergradientAdamW's lr by beta_hyper * g . d_prev from the second call on", function()
      local lr, bh = 0.01, 0.005
      local p = t { 1, -1 }
      local opt = optim.HypergradientAdamW({ p }, { lr = lr, beta_hyper = bh })
      opt:step { [p] = t { 0.5, 2 } }
      assert.are.same({ lr }, opt.lr_history)
      -- After one step d = m/bc1 / (sqrt(v/bc2) + eps) = g / (|g| + eps) per element.
      local d1, d2 = 0.5 / (0.5 + 1e-8), 2 / (2 + 1e-8)
      opt:step { [p] = t { 0.25, -1 } }
      near(lr + bh * (0.25 * d1 - 1 * d2), opt.current_lr, 1e-6, "lr")
      assert.are.equal(2, #opt.lr_history)
      local log_p = t { 1, -1 }
      local log_opt = optim.HypergradientAdamW({ log_p }, { lr = lr, beta_hyper = bh, log_scale = true })
      log_opt:step { [log_p] = t { 0.5, 2 } }
      log_opt:step { [log_p] = t { 0.25, -1 } }
      near(math.exp(math.log(lr) + bh * (0.25 * d1 - 1 * d2)), log_opt.current_lr, 1e-6, "log-scale lr")
    end)

    it("clamps lr into [lr_min, lr_max]", function()
      local p = t { 1, -1 }
      local opt = optim.HypergradientAdamW({ p }, { lr = 0.01, beta_hyper = 10, lr_max = 0.02, lr_min = 0.005 })
      opt:step { [p] = t { 1, 1 } }
      opt:step { [p] = t { 1, 1 } }
      assert.are.equal(0.02, opt.current_lr)
      opt:step { [p] = t { -1, -1 } }
      assert.are.equal(0.005, opt.current_lr)
    end)

    it("with a constant beta1 the product bias correction agrees with the power form", function()
      local p1, p2 = t { 1, -2, 0.5 }, t { 1, -2, 0.5 }
      local power = optim.AdamW({ p1 }, { lr = 0.05 })
      local product = optim.AdamW({ p2 }, { lr = 0.05, bias_correction = "product" })
      for k = 1, 20 do
        local g = { 0.1 * k, -0.5, 0.3 }
        power:step { [p1] = t(g) }
        product:step { [p2] = t(g) }
      end
      near(0.9 ^ 20, product:state_dict().P, 1e-12, "P")
      ref.assert_close(ref.read(p2), ref.read(p1), 1e-6, 1e-7, "parameters")
    end)
  end)
end

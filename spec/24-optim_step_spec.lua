-- step([closure] [, grads]), zero_grad, the gradient helpers and histories of
-- the optimizers; bad step input errors clearly and changes nothing.
local grilly = require "grilly"
local R = require "optim_reference"
local support = require "optim_support"
local ref = require "tensor_ref"

local optim = grilly.optim

for _, device in ipairs(support.devices()) do
  describe("optimizer steps on " .. device, function()
    local function t(values, shape) return ref.tensor(values, shape or { #values }, device) end

    local function pair()
      local a1, b1 = t { 1, -2, 3 }, t({ 0.5, 0.25, -1, 2, 0, 1 }, { 3, 2 })
      local a2, b2 = a1:clone(), b1:clone()
      return { a1, b1 }, { a2, b2 }
    end

    it("runs the closure first and returns what it returns", function()
      local p1, p2 = pair()
      local o1 = optim.HypergradientAdamW(p1, { lr = 0.1 })
      local o2 = optim.HypergradientAdamW(p2, { lr = 0.1 })
      local ga, gb = t { 0.1, 0.2, -0.3 }, t({ 1, 1, 1, -1, -1, -1 }, { 3, 2 })
      local r1, r2 = o1:step(function()
        p1[1].grad, p1[2].grad = ga:clone(), gb:clone()
        return 42, "loss"
      end)
      assert.are.same({ 42, "loss" }, { r1, r2 })
      assert.are.equal(0, select("#", o2:step { [p2[1]] = ga, [p2[2]] = gb }))
      assert.are.same(support.observe(o1, p1), support.observe(o2, p2))
    end)

    it("takes gradients from the grads table before .grad, and ignores other keys", function()
      local p1, p2 = pair()
      local o1, o2 = optim.AdamW(p1, { lr = 0.1 }), optim.AdamW(p2, { lr = 0.1 })
      local ga = t { 0.1, 0.2, -0.3 }
      p1[1].grad = t { 9, 9, 9 }
      p1[2].grad = t({ 1, 2, 3, 4, 5, 6 }, { 3, 2 })
      o1:step(function() end, { [p1[1]] = ga, [t { 1 }] = t { 5 }, extra = true })
      o2:step(nil, { [p2[1]] = ga, [p2[2]] = t({ 1, 2, 3, 4, 5, 6 }, { 3, 2 }) })
      assert.are.same(support.observe(o1, p1), support.observe(o2, p2))
    end)

    it("skips a parameter without a gradient, while t advances", function()
      local a, b = t { 1, 2 }, t { 3, 4 }
      local opt = optim.AutoHypergradientAdamW({ a, b }, { warmup_steps = 0 })
      opt:step { [a] = t { 1, 1 } }
      opt:step { [a] = t { 1, -1 } }
      assert.are.same({ 3, 4 }, b:totable())
      assert.are.same({}, opt:state_dict().state[2])
      assert.are.equal(2, opt.step_count)
      opt:step { [b] = t { 1, 1 } }
      local sd = opt:state_dict()
      assert.are.same({ 3, 3 }, { #sd.lr_history, sd.t })   -- adaptation from call 2 on (warmup 0)
      assert.is_not_nil(sd.state[2].m)
    end)

    it("leaves gradients alone, and zero_grad zeroes every .grad", function()
      local a, b, c = t { 1, 2 }, t { 3 }, t { 4 }
      a.grad, b.grad = t { 0.5, -0.5 }, t { 2 }
      local opt = optim.AdamW({ a, b, c })
      opt:step()
      assert.are.same({ 0.5, -0.5 }, a.grad:totable())
      opt:zero_grad()
      assert.are.same({ 0, 0 }, a.grad:totable())
      assert.are.same({ 0 }, b.grad:totable())
      assert.is_nil(c.grad)
    end)

    it("zero_grad with a freed parameter raises before zeroing any gradient", function()
      local a, b = t { 1, 2 }, t { 3 }
      a.grad, b.grad = t { 0.5, -0.5 }, t { 2 }
      local opt = optim.AdamW({ a, b })
      b:free()
      assert.error_matches(function() opt:zero_grad() end, "parameter 2 is a freed grilly.Tensor", nil, true)
      assert.are.same({ 0.5, -0.5 }, a.grad:totable())
    end)

    describe("bad input errors clearly and changes nothing", function()
      local function setup()
        local p = { t { 1, 2, 3 }, t({ 1, 2, 3, 4, 5, 6 }, { 3, 2 }) }
        local opt = optim.AutoHypergradientAdamW(p, { warmup_steps = 1, track_surprise = true })
        for _ = 1, 3 do opt:step { [p[1]] = t { 0.1, -0.2, 0.3 }, [p[2]] = t({ 1, 1, 1, 1, 1, 1 }, { 3, 2 }) } end
        return opt, p
      end

      local function unchanged(fn, pattern, plain)
        local opt, p = setup()
        local before = support.observe(opt, p)
        assert.error_matches(function() fn(opt, p) end, pattern, nil, plain)
        assert.are.same(before, support.observe(opt, p))
      end

      it("a grads argument that is not a table", function()
        unchanged(function(opt) opt:step(5) end,
          "bad argument #1 to 'step' (closure or table of gradients keyed by parameter expected, got number)", true)
        local ran = false
        unchanged(function(opt) opt:step(function() ran = true end, "g") end,
          "bad argument #2 to 'step' (table of gradients keyed by parameter expected, got string)", true)
        assert.is_false(ran)
      end)

      it("a gradient of the wrong shape, type or memory", function()
        unchanged(function(opt, p) opt:step { [p[1]] = t { 1, 1, 1 }, [p[2]] = t { 1, 2, 3, 4, 5, 6 } } end,
          "AutoHypergradientAdamW: gradient of parameter 2: shape mismatch: 6 vs 3x2", true)
        unchanged(function(opt, p) opt:step { [p[1]] = "g" } end,
          "bad gradient of parameter 1 (grilly.Tensor expected, got string)", true)
        unchanged(function(opt, p) p[2].grad = p[2]; opt:step() end,
          "AutoHypergradientAdamW: gradient of parameter 2 shares memory with the parameter", true)
        unchanged(function(opt, p)
          local g = t { 1, 2, 3 }
          g:free()
          opt:step { [p[1]] = g }
        end, "bad gradient of parameter 1 (grilly.Tensor expected, got a freed grilly.Tensor)", true)
        for _, other in ipairs(support.devices()) do
          local here = t { 0 }.device
          local g = grilly.ones(3, { device = other })
          if g.device ~= here then
            unchanged(function(opt, p) opt:step { [p[1]] = g } end,
              ("AutoHypergradientAdamW: gradient of parameter 1: device mismatch: %s vs %s"):format(g.device, here), true)
          end
        end
      end)

      it("a closure that raises: its error propagates", function()
        unchanged(function(opt, p)
          opt:step(function()
            p[1].grad = t { 5, 5, 5 }
            error("closure failed")
          end)
        end, "closure failed", true)
      end)

      it("a closure that frees the optimizer", function()
        local opt, p = setup()
        local before = ref.read(p[1])
        assert.error_matches(function() opt:step(function() opt:free() end) end,
          "use of freed grilly.AutoHypergradientAdamW", nil, true)
        assert.are.same(before, ref.read(p[1]))
      end)
    end)

    it("refuses to step when a parameter was freed", function()
      local a = t { 1, 2 }
      local opt = optim.AdamW({ a })
      a:free()
      assert.error_matches(function() opt:step() end, "parameter 1 is a freed grilly.Tensor", nil, true)
    end)

    describe("grilly.optim.hypergradient", function()
      local hg = optim.hypergradient

      it("collect_grads gives the gradient each parameter would use", function()
        local a, b, c = t { 1 }, t { 2 }, t { 3 }
        local ga, gb, gx = t { 10 }, t { 20 }, t { 30 }
        a.grad, b.grad = ga, t { 99 }
        local got = hg.collect_grads({ a, b, c }, { [b] = gb })
        assert.are.equal(ga, got[a])
        assert.are.equal(gb, got[b])
        assert.is_nil(got[c])
        local grouped = hg.collect_grads({ { params = { a } }, { params = { c } } }, { [c] = gx })
        assert.are.same({ ga, gx }, { grouped[a], grouped[c] })
        assert.are.equal(ga, hg.collect_grads({ a })[a])
        assert.error_matches(function() hg.collect_grads({ a }, 5) end,
          "table of gradients keyed by parameter expected, got number", nil, true)
        assert.error_matches(function() hg.collect_grads(a) end,
          "array of parameter tensors or param groups expected", nil, true)
      end)

      it("compute_update_directions gives each parameter's current direction", function()
        local x1, x2, x3 = { 1, -2, 3 }, { 0.5, 0.25 }, { 4 }
        local p = { t(x1), t(x2), t(x3) }
        local options = { lr = 0.05, amsgrad = true }
        local opt = optim.AutoHypergradientAdamW(p, options)
        local r = R.new("AutoHypergradientAdamW", { x1, x2, x3 }, options)
        for k = 1, 4 do
          local g = { { 0.1 * k, -0.3, 0.2 }, k % 2 == 0 and { 1, -1 } or false, false }
          opt:step(support.grads_table(p, g, device))
          r:step(g)
        end
        opt.betas = { 0.8, 0.99 }
        r:set("betas", { 0.8, 0.99 })
        local d, expected = hg.compute_update_directions(opt), r:directions()
        for i = 1, 3 do ref.assert_close(ref.read(d[p[i]]), expected[i], 1e-5, 1e-6, "direction " .. i) end
        assert.are.same({ 0 }, d[p[3]]:totable())
        assert.error_matches(function() hg.compute_update_directions({}) end, "optimizer expected, got table", nil, true)
      end)

      it("exposes the two hypergradient classes", function()
        assert.are.equal(optim.HypergradientAdamW, hg.HypergradientAdamW)
        assert.are.equal(optim.AutoHypergradientAdamW, hg.AutoHypergradientAdamW)
      end)
    end)

    describe("histories", function()
      it("are Lua arrays, and tensors through history(name)", function()
        local p = { t { 1, 2 } }
        local opt = optim.AutoHypergradientAdamW(p, { warmup_steps = 0, track_surprise = true, adapt_momentum = true })
        for k = 1, 5 do opt:step { [p[1]] = t { 0.5 * k, -1 } } end
        for _, name in ipairs { "lr", "beta1", "surprise", "s_bar" } do
          local array, tensor = opt[name .. "_history"], opt:history(name)
          assert.are.same({ #array }, tensor:size())
          local expected = {}
          for i, v in ipairs(array) do expected[i] = ref.f32(v) end
          assert.are.same(expected, tensor:totable())
          assert.are.equal("cpu", tensor.device)
        end
        assert.are.same({ 5, 5, 5, 5 }, { #opt.lr_history, #opt.beta1_history, #opt.surprise_history, #opt.s_bar_history })
        assert.error_matches(function() opt:history("loss") end,
          'unknown history "loss" (expected "lr", "beta1", "surprise", "s_bar")', nil, true)
        local adamw = optim.AdamW(p)
        assert.error_matches(function() adamw:history("surprise") end,
          'unknown history "surprise" (expected "lr")', nil, true)
        assert.are.same({ ref.f32(1e-3) }, adamw:history("lr"):totable())
      end)

      it("keep every entry as they grow through many reallocations", function()
        local p = { t { 1 } }
        local opt = optim.HypergradientAdamW(p)
        for _ = 1, 3000 do opt:step { [p[1]] = t { 0.1 } } end
        assert.are.equal(3000, #opt.lr_history)
      end)
    end)
  end)
end

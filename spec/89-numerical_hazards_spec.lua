-- Numerical hazards of the optimizers and their expected behaviour
-- (docs/reliability.md): lr at its clamps, eps = 0, non-finite gradients
-- under each policy, all-zero gradients for many steps, and long runs.
local grilly = require "grilly"
local ref = require "tensor_ref"
local child = require "child_process"

local optim = grilly.optim
local cpu = { device = "cpu" }

local function t(values) return grilly.tensor(values, cpu) end

for _, device in ipairs(ref.devices()) do
  describe("lr at its clamps on " .. device, function()
    -- A constant gradient makes g·d_prev positive, so lr rises; an alternating
    -- one makes it negative, so lr falls.
    local function run(class, options, steps, sign)
      local at = { device = device }
      local p = { grilly.tensor({ 1, 2, 3 }, at) }
      local opt = optim[class](p, options)
      for k = 1, steps do
        local s = sign == "alternating" and (-1) ^ k or 1
        opt:step { [p[1]] = grilly.tensor({ s, s, s }, at) }
      end
      return opt
    end

    for _, log_scale in ipairs { false, true } do
      local how = log_scale and "log-scale" or "linear"
      -- 0.1 and 1e-6 are among the values where exp(log(x)) rounds above x.
      it(("HypergradientAdamW (%s) stops exactly at lr_max and lr_min"):format(how), function()
        local options = { lr = 0.05, lr_min = 1e-6, lr_max = 0.1, beta_hyper = 1e6, log_scale = log_scale }
        local up = run("HypergradientAdamW", options, 6)
        assert.equal(0.1, up.lr)
        local down = run("HypergradientAdamW", options, 6, "alternating")
        assert.equal(1e-6, down.lr)
        for _, opt in ipairs { up, down } do
          for _, lr in ipairs(opt.lr_history) do assert.is_true(lr >= 1e-6 and lr <= 0.1, tostring(lr)) end
        end
      end)
    end
  end)
end

describe("lr at its clamps (AutoHypergradientAdamW and written values)", function()
  it("AutoHypergradientAdamW stops exactly at lr_max and lr_min", function()
    local function run(sign)
      local p = { t { 1, 2, 3 } }
      local opt = optim.AutoHypergradientAdamW(p, { lr = 0.05, lr_min = 0.01, lr_max = 0.1, warmup_steps = 0,
                                                    hyper_lr = 1, max_lr_change = false })
      for k = 1, 8 do
        local s = sign == "alternating" and (-1) ^ k or 1
        opt:step { [p[1]] = t { s, 2 * s, 3 * s } }
      end
      return opt
    end
    -- A steady gradient keeps g·d_prev > 0, so h = -g·d_prev / N < 0 and lr
    -- rises; an alternating one makes h > 0 and lr falls.
    assert.equal(0.1, run().lr)
    assert.equal(0.01, run("alternating").lr)
  end)

  it("keeps a written lr outside [lr_min, lr_max] until the next adapting step clamps it", function()
    local p = { t { 1, 2, 3 } }
    local opt = optim.HypergradientAdamW(p, { lr_min = 1e-4, lr_max = 0.1 })
    opt.lr = 0.5
    opt:step { [p[1]] = t { 1, 1, 1 } }   -- the first step does not adapt: it uses 0.5
    assert.equal(0.5, opt.lr)
    assert.equal(ref.f32(ref.f32(1 * ref.f32(1 - 0.5 * 0.01)) - 0.5), p[1]:totable()[1])
    opt:step { [p[1]] = t { 1, 1, 1 } }
    assert.equal(0.1, opt.lr)
  end)
end)

describe("eps = 0", function()
  for _, class in ipairs { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" } do
    it(class .. ": elements without a gradient yet do not move, and no NaN appears", function()
      for _, device in ipairs(ref.devices()) do
        local p = { grilly.tensor({ 1, 2, 3 }, { device = device }) }
        local opt = optim[class](p, { eps = 0, lr = 0.01, weight_decay = 0 })
        opt:step { [p[1]] = grilly.tensor({ 0, 4, 0 }, { device = device }) }
        -- Step 1 moves by lr * m̂ / sqrt(v̂) = lr * sign(g), and not at all where g = 0.
        assert.are.same({ 1, ref.f32(2 - 0.01), 3 }, p[1]:totable())
        for _ = 1, 20 do opt:step { [p[1]] = grilly.tensor({ 0, -1, 0 }, { device = device }) } end
        local x = p[1]:totable()
        assert.are.same({ 1, 3 }, { x[1], x[3] })
        assert.is_true(x[2] > 1.99 and x[2] < 2.2)   -- finite, and moved back up by the negative gradients
        for _, lr in ipairs(opt.lr_history) do assert.is_true(lr == lr, "lr became NaN") end
      end
    end)
  end
end)

describe("non-finite gradients", function()
  local function stepped(class, policy)
    local p = { t { 1, 2, 3 }, t { -1, 0.5 } }
    local opt = optim[class](p, { nonfinite = policy, warmup_steps = class == "AutoHypergradientAdamW" and 0 or nil,
                                  track_surprise = class == "AutoHypergradientAdamW" or nil })
    for k = 1, 3 do opt:step { [p[1]] = t { 0.1 * k, -0.2, 0.3 }, [p[2]] = t { 0.5, -k } } end
    return opt, p
  end

  for _, class in ipairs { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" } do
    it(class .. ", skip: a hundred bad steps in a row change nothing but skipped_steps", function()
      local opt, p = stepped(class, "skip")
      local before = opt:state_dict()
      local values = { p[1]:totable(), p[2]:totable() }
      for k = 1, 100 do
        local bad = ({ 0 / 0, math.huge, -math.huge })[k % 3 + 1]
        opt:step { [p[1]] = t { 0.1, bad, 0.3 }, [p[2]] = t { 0.5, -1 } }
      end
      local after = opt:state_dict()
      assert.equal(100, after.skipped_steps)
      after.skipped_steps = 0
      for _, sd in ipairs { before, after } do
        for _, st in ipairs(sd.state) do for k, v in pairs(st) do st[k] = v:totable() end end
      end
      assert.are.same(before, after)
      assert.are.same(values, { p[1]:totable(), p[2]:totable() })
      opt:step { [p[1]] = t { 0.1, 0.2, 0.3 }, [p[2]] = t { 0.5, -1 } }
      assert.equal(4, opt.step_count)
    end)
  end

  -- "propagate" is grilly's behaviour: the values go through the arithmetic.
  it("propagate: NaN reaches the hypergradient lr, which stays NaN", function()
    for _, class in ipairs { "HypergradientAdamW", "AutoHypergradientAdamW" } do
      local opt, p = stepped(class, "propagate")
      opt:step { [p[1]] = t { 0.1, 0 / 0, 0.3 }, [p[2]] = t { 0.5, -1 } }
      opt:step { [p[1]] = t { 0.1, 0.2, 0.3 }, [p[2]] = t { 0.5, -1 } }
      assert.is_true(opt.lr ~= opt.lr, class)
      local history = opt.lr_history
      assert.is_true(history[#history] ~= history[#history], class)
    end
  end)

  it("propagate: an infinite gradient drives the HypergradientAdamW lr to a clamp", function()
    local opt, p = stepped("HypergradientAdamW", "propagate")
    -- element 1 had positive gradients, so its d_prev > 0 and g·d_prev = +inf
    opt:step { [p[1]] = t { math.huge, -0.2, 0.3 }, [p[2]] = t { 0.5, -1 } }
    assert.equal(1.0, opt.lr)   -- lr_max
    local x = p[1]:totable()
    assert.is_true(x[1] ~= x[1])   -- inf / inf in m̂ / sqrt(v̂)
    assert.is_true(x[2] == x[2] and x[3] == x[3])
  end)

  it("propagate: AdamW spoils only the elements that saw the NaN", function()
    local opt, p = stepped("AdamW", "propagate")
    opt:step { [p[1]] = t { 0.1, 0 / 0, 0.3 }, [p[2]] = t { 0.5, -1 } }
    for _ = 1, 3 do opt:step { [p[1]] = t { 0.1, 0.2, 0.3 }, [p[2]] = t { 0.5, -1 } } end
    local x, y = p[1]:totable(), p[2]:totable()
    assert.is_true(x[2] ~= x[2])
    for _, v in ipairs { x[1], x[3], y[1], y[2] } do assert.is_true(v == v) end
  end)
end)

describe("all-zero gradients for many steps", function()
  local STEPS = 1000

  -- p after n steps of weight decay alone, in float32 as the update computes it.
  local function decayed(x, lr, wd, n)
    local decay = ref.f32(1 - lr * wd)
    for _ = 1, n do x = ref.f32(x * decay) end
    return x
  end

  for _, class in ipairs { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" } do
    it(class .. ": only weight decay moves the parameters, and nothing adapts or turns NaN", function()
      local auto = class == "AutoHypergradientAdamW"
      local p = { t { 1, -2, 3 } }
      local opt = optim[class](p, auto and { warmup_steps = 0, track_surprise = true, adapt_momentum = true } or {})
      for _ = 1, STEPS do opt:step { [p[1]] = t { 0, 0, 0 } } end
      local lr = 1e-3
      assert.are.same({ decayed(1, lr, 0.01, STEPS), decayed(-2, lr, 0.01, STEPS), decayed(3, lr, 0.01, STEPS) },
        p[1]:totable())
      assert.equal(lr, opt.lr)
      local sd = opt:state_dict()
      assert.equal(STEPS, sd.t)
      if class == "HypergradientAdamW" then
        -- g·d_prev = 0: lr stays, and every step from the second appends it
        assert.equal(STEPS, #sd.lr_history)
      elseif auto then
        -- The direction normaliser is 0, so the adaptation never runs.
        assert.are.same({ 0, 1, 1 }, { sd.prev_norm, #sd.lr_history, #sd.beta1_history })
        assert.are.same({ 0, 0, 0, 0 }, { sd.var_ema, sd.S, sd.Sbar, sd.gain })
        assert.equal(STEPS, #sd.surprise_history)
        for _, s in ipairs(sd.surprise_history) do assert.equal(0, s) end
      end
    end)
  end
end)

describe("a run of a million steps", function()
  -- In a process of its own: a million steps of a 4-element problem with
  -- every history growing each step. Resident memory may grow by what the
  -- histories hold (4 x 8 bytes a step, twice that while an array doubles),
  -- and no more than 16 MiB beyond.
  local STEPS = 1000000

  it("keeps every history entry, and memory grows only by the histories", function()
    local status, out = child.run(([=[
      local function rss()
        local f = io.open("/proc/self/statm"); local _, r = f:read("*n", "*n"); f:close(); return r * 4096
      end
      local p = { grilly.tensor({ 1, 2, 3, 4 }, { device = "cpu" }) }
      local g = grilly.tensor({ 0.1, -0.2, 0.3, -0.4 }, { device = "cpu" })
      local grads = { [p[1]] = g }
      local opt = grilly.optim.AutoHypergradientAdamW(p, { warmup_steps = 0, track_surprise = true,
                                                           adapt_momentum = true })
      for _ = 1, 1000 do opt:step(grads) end
      collectgarbage()
      local before = rss()
      for k = 1001, %d do
        g[1] = 0.1 * math.sin(k)
        opt:step(grads)
      end
      collectgarbage()
      local after = rss()
      local sd = opt:state_dict()
      io.write(("%%d %%d %%d %%d %%d %%d %%s"):format(before, after, sd.t, #sd.lr_history, #sd.beta1_history,
        #sd.surprise_history, tostring(opt.lr == opt.lr and p[1]:sum() == p[1]:sum())))
    ]=]):format(STEPS), "GRILLY_DEVICE=cpu")
    assert.equal(0, status, out)
    local before, after, steps, lr_len, beta_len, surprise_len, finite = out:match(
      "(%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%a+)%s*$")
    assert.equal(STEPS, tonumber(steps))
    -- adaptation from call 2 on, surprise from call 1 on (warmup 0)
    assert.are.same({ STEPS, STEPS, STEPS }, { tonumber(lr_len), tonumber(beta_len), tonumber(surprise_len) })
    assert.equal("true", finite)
    local bound = 2 * 4 * 8 * STEPS + 16 * 2 ^ 20
    assert.is_true(after - before <= bound, ("resident memory grew by %.1f MiB"):format((after - before) / 2 ^ 20))
  end)
end)

-- The plain-Lua float64 optimizer reference (spec/support/optim_reference.lua): it must
-- reproduce the Python fixtures and the consequences that docs/optimizer-spec.md derives.
local R = require "optim_reference"
local fixtures = require "fixtures"

local tanh, exp, sqrt, log = math.tanh, math.exp, math.sqrt, math.log

local copy = R.copy

-- Hand-derived values are compared within a few ulps (rel defaults to 1e-14): the
-- reference may associate sums or round (1 - beta) differently from the formula written here.
local function rel_near(expected, got, rel, what)
  rel = rel or 1e-14
  assert(math.abs(got - expected) <= rel * math.abs(expected),
    string.format("%s: expected %.17g, got %.17g", what or "value", expected, got))
end

local dot = R.dot

-- A seeded multi-tensor problem: parameters of the given sizes and gradients
-- g = c * x + noise drawn from the seed, so runs are repeatable.
local function problem(seed, sizes)
  math.randomseed(seed)
  local params, scale = {}, {}
  for i, n in ipairs(sizes) do
    params[i], scale[i] = {}, {}
    for j = 1, n do
      params[i][j] = 2 * math.random() - 1
      scale[i][j] = 0.5 + 3 * math.random()
    end
  end
  local function grads()
    local g = {}
    for i, p in ipairs(params) do
      g[i] = {}
      for j = 1, #p do g[i][j] = scale[i][j] * p[j] + 0.05 * (math.random() - 0.5) end
    end
    return g
  end
  return params, grads
end

local function history_lengths(opt)
  return {
    lr = #opt:get("lr_history"),
    beta1 = opt:get("beta1_history") and #opt:get("beta1_history"),
    surprise = opt:get("surprise_history") and #opt:get("surprise_history"),
  }
end

describe("optim_reference reproduces the Python grilly fixtures", function()
  local function make(class_name, options, x0)
    local x = copy(x0)
    local opt = R.new(class_name, { x }, options)
    return fixtures.adapter {
      step = function(g) opt:step { g } end,
      params = function() return x end,
      read = function(name) return opt:get(name) end,
    }
  end

  for _, file in ipairs { "grilly-v3-quadratic.json", "grilly-v2-quadratic.json" } do
    local fix = fixtures.load(file)
    for _, name in ipairs(fixtures.run_names(fix)) do
      it(file .. " run " .. name .. " step by step", function()
        local mismatches, worst = fixtures.replay(fix.runs[name], make)
        assert(#mismatches == 0, fixtures.describe(mismatches, 5))
        -- The spec measured a literal float64 reading at 0.41 of the tolerance at most.
        assert(worst.ratio < 0.5, string.format("%.3f of the tolerance used (%s at step %s)",
          worst.ratio, tostring(worst.field), tostring(worst.step)))
      end)
    end
  end

  it("does not reproduce the v2 fixture with the default variant, nor v3 with grilly-v2", function()
    local v2 = fixtures.load("grilly-v2-quadratic.json").runs.auto_default
    local v3 = fixtures.load("grilly-v3-quadratic.json").runs.auto_default
    local as_v3 = setmetatable({ options = { lr = 0.01 } }, { __index = v2 })
    local as_v2 = setmetatable({ options = { lr = 0.01, variant = "grilly-v2" } }, { __index = v3 })
    assert.is_true(#fixtures.replay(as_v3, make) > 0)
    assert.is_true(#fixtures.replay(as_v2, make) > 0)
  end)
end)

describe("optim_reference: AdamW", function()
  it("takes the hand-derived first step: p(1 - lr wd) - lr g / (|g| + eps)", function()
    local p = { 0.5, -1.25, 2 }
    local g = { 0.3, -4, 1e-3 }
    local p0 = copy(p)
    local opt = R.new("AdamW", { p }, { lr = 0.05, weight_decay = 0.1 })
    opt:step { g }
    for j = 1, 3 do
      rel_near(p0[j] * (1 - 0.05 * 0.1) - 0.05 * g[j] / (math.abs(g[j]) + 1e-8), p[j])
    end
    assert.equal(1, opt:get("step_count"))
    assert.same({ 0.05 }, opt:get("lr_history"))
  end)

  it("takes the hand-derived second step with the defaults", function()
    local p, g1, g2 = { 1 }, 2, -1
    local opt = R.new("AdamW", { p })
    opt:step { { g1 } }
    local p1 = p[1]
    opt:step { { g2 } }
    local m = 0.9 * 0.1 * g1 + 0.1 * g2
    local v = 0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2
    local expected = p1 * (1 - 1e-3 * 0.01)
                     - (1e-3 / (1 - 0.9 ^ 2)) * m / (sqrt(v / (1 - 0.999 ^ 2)) + 1e-8)
    rel_near(expected, p[1])
    assert.same({ 1e-3 }, opt:get("lr_history"))        -- AdamW never adapts lr
  end)

  it("uses vmax, the running max of v, with amsgrad, in the update and in d", function()
    local p = { 1 }
    local opt = R.new("AdamW", { p }, { amsgrad = true })
    opt:step { { 10 } }
    opt:step { { 0.1 } }
    local m = 0.9 * 1 + 0.1 * 0.1
    local vmax = 0.001 * 100                            -- v after step 1; v shrinks at step 2
    local bc1, bc2 = 1 - 0.9 ^ 2, 1 - 0.999 ^ 2
    rel_near((m / bc1) / (sqrt(vmax / bc2) + 1e-8), opt:directions()[1][1])
    rel_near(vmax, opt.state.per_param[1].vmax[1])
    rel_near(0.999 * 0.1 + 0.001 * 0.01, opt.state.per_param[1].v[1])
  end)

  it("leaves a parameter without a gradient untouched while t advances", function()
    local params, grads = problem(3, { 4, 3, 2 })
    local opt = R.new("AdamW", params)
    opt:step(grads())
    local before_p, before_state = copy(params[2]), copy(opt.state.per_param[2])
    local g = grads()
    opt:step { g[1], false, g[3] }
    assert.same(before_p, params[2])
    assert.same(before_state, opt.state.per_param[2])
    assert.equal(2, opt:get("step_count"))
    -- A parameter that never had a gradient has no moments at all.
    local fresh = R.new("AdamW", params)
    fresh:step { g[1] }
    assert.same({}, fresh.state.per_param[2])
    assert.same({ 0, 0 }, fresh:directions()[3])
  end)

  it("product bias correction equals power while beta1 is constant", function()
    for _, class_name in ipairs { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" } do
      local pa, ga = problem(11, { 5, 3 })
      local pb = copy(pa)
      local a = R.new(class_name, pa, { lr = 0.02 })
      local b = R.new(class_name, pb, { lr = 0.02, bias_correction = "product" })
      for _ = 1, 30 do
        local g = ga()
        a:step(g)
        b:step(copy(g))
      end
      for i = 1, 2 do
        for j = 1, #pa[i] do rel_near(pa[i][j], pb[i][j], 1e-12, class_name) end
      end
      rel_near(0.9 ^ 30, b.state.P, 1e-14)
    end
  end)

  it("product bias correction differs from power once beta1 adapts", function()
    local pa, ga = problem(12, { 6 })
    local pb = copy(pa)
    local opts = { lr = 0.02, adapt_momentum = true, warmup_steps = 2 }
    local a = R.new("AutoHypergradientAdamW", pa, opts)
    opts.bias_correction = "product"
    local b = R.new("AutoHypergradientAdamW", pb, opts)
    for _ = 1, 10 do
      local g = ga()
      a:step(g)
      b:step(copy(g))
    end
    assert.are_not.equal(0.9, a:get("beta1"))
    local diff = 0
    for j = 1, 6 do diff = math.max(diff, math.abs(pa[1][j] - pb[1][j])) end
    assert.is_true(diff > 1e-6)
  end)
end)

describe("optim_reference: HypergradientAdamW", function()
  it("adapts from the second call with lr + beta_hyper * sum(g * d_prev)", function()
    local p = { 0.5, -2 }
    local g1, g2 = { 1.5, -0.25 }, { 0.75, 0.5 }
    local opt = R.new("HypergradientAdamW", { p }, { lr = 0.01, beta_hyper = 1e-3 })
    opt:step { g1 }
    assert.same({ 0.01 }, opt:get("lr_history"))       -- never on the very first call
    opt:step { g2 }
    -- After one step m_hat = g1 and v_hat = g1^2, so d_prev = g1 / (|g1| + eps).
    local h = 0
    for j = 1, 2 do h = h + g2[j] * g1[j] / (math.abs(g1[j]) + 1e-8) end
    rel_near(0.01 + 1e-3 * h, opt:get("current_lr"))
    assert.equal(2, #opt:get("lr_history"))
  end)

  it("keeps the previous step's betas in d_prev when beta1 is written between steps", function()
    local pa, pb = { 1, -1 }, { 1, -1 }
    local a = R.new("HypergradientAdamW", { pa }, { lr = 0.01, beta_hyper = 1e-3 })
    local b = R.new("HypergradientAdamW", { pb }, { lr = 0.01, beta_hyper = 1e-3 })
    a:step { { 2, 1 } }
    b:step { { 2, 1 } }
    b:set("beta1", 0.5)
    a:step { { 1, 3 } }
    b:step { { 1, 3 } }
    assert.equal(a:get("current_lr"), b:get("current_lr"))   -- same d_prev
    assert.are_not.equal(pa[1], pb[1])                        -- the update used 0.5
    a:step { { 1, 1 } }
    b:step { { 1, 1 } }
    assert.are_not.equal(a:get("current_lr"), b:get("current_lr"))
  end)

  it("takes amsgrad switched on between steps, starting vmax from zero", function()
    local opt = R.new("HypergradientAdamW", { { 1 } }, { lr = 0.01, beta_hyper = 1e-3 })
    opt:step { { 4 } }
    opt:set("amsgrad", true)
    opt:step { { 1 } }
    rel_near(0.01 + 1e-3 * 1 * 4 / (4 + 1e-8), opt:get("current_lr"))
    local v = opt.state.per_param[1].v[1]
    assert.equal(v, opt.state.per_param[1].vmax[1])
  end)

  it("adapts log(lr) with log_scale and clamps to [lr_min, lr_max]", function()
    local opt = R.new("HypergradientAdamW", { { 1 } }, { lr = 0.01, beta_hyper = 0.5, log_scale = true })
    opt:step { { 2 } }
    opt:step { { 3 } }
    rel_near(exp(log(0.01) + 0.5 * 3 * 2 / (2 + 1e-8)), opt:get("current_lr"), 1e-14)
    local log_capped = R.new("HypergradientAdamW", { { 1 } },
      { lr = 0.01, beta_hyper = 1, log_scale = true, lr_max = 0.02 })
    log_capped:step { { 2 } }
    log_capped:step { { 3 } }
    rel_near(0.02, log_capped:get("current_lr"))
    local capped = R.new("HypergradientAdamW", { { 1 } }, { lr = 0.01, beta_hyper = 1, lr_max = 0.02 })
    capped:step { { 2 } }
    capped:step { { 3 } }
    assert.equal(0.02, capped:get("current_lr"))
    capped:step { { -3 } }
    assert.equal(1e-6, capped:get("current_lr"))
  end)

  it("sums only parameters with a gradient now; d_prev of one never stepped is zero", function()
    local opt = R.new("HypergradientAdamW", { { 1 }, { 1 } }, { lr = 0.01, beta_hyper = 1e-3 })
    opt:step { { 2 }, false }
    opt:step { false, { 5 } }
    assert.equal(0.01, opt:get("current_lr"))          -- h = 0, yet the step is recorded
    assert.equal(2, #opt:get("lr_history"))
    opt:step { { 1 }, { 5 } }
    -- Both d_prev are corrected with the global t - 1 = 2, although each parameter has
    -- had one gradient: parameter 1 keeps the m and v of call 1, parameter 2 has call 2's.
    local function d(g) return (0.1 * g / (1 - 0.9 ^ 2)) / (sqrt(0.001 * g * g / (1 - 0.999 ^ 2)) + 1e-8) end
    local d1, d2 = d(2), d(5)
    rel_near(0.01 + 1e-3 * (1 * d1 + 5 * d2), opt:get("current_lr"), 1e-14)
  end)
end)

describe("optim_reference: AutoHypergradientAdamW", function()
  it("starts adaptation and surprise at call warmup_steps + 1", function()
    for _, warmup in ipairs { 3, 10 } do
      local params, grads = problem(20 + warmup, { 4, 2 })
      local opt = R.new("AutoHypergradientAdamW", params,
        { lr = 0.01, warmup_steps = warmup, track_surprise = true, adapt_momentum = true })
      for call = 1, warmup + 4 do
        opt:step(grads())
        local n = math.max(0, call - warmup)
        assert.same({ lr = 1 + n, beta1 = 1 + n, surprise = n }, history_lengths(opt))
        if call <= warmup then assert.equal(0, opt:get("current_surprise_gain")) end
      end
      assert.is_true(opt:get("current_surprise_gain") > 0)
    end
  end)

  it("with warmup_steps = 0 starts surprise at call 1 and lr adaptation at call 2", function()
    local params, grads = problem(5, { 3, 3 })
    local opt = R.new("AutoHypergradientAdamW", params, { warmup_steps = 0, track_surprise = true })
    opt:step(grads())
    assert.same({ lr = 1, beta1 = 1, surprise = 1 }, history_lengths(opt))
    opt:step(grads())
    assert.same({ lr = 2, beta1 = 1, surprise = 2 }, history_lengths(opt))
  end)

  it("gives tanh(1) as the first surprise, with var_ema = n2, Sbar and gain by hand", function()
    for _, warmup in ipairs { 0, 4 } do
      local params, grads = problem(7, { 5, 2 })
      local opt = R.new("AutoHypergradientAdamW", params,
        { warmup_steps = warmup, track_surprise = true, surprise_alpha = 0.2, trauma_threshold = 0.3 })
      for _ = 1, warmup do opt:step(grads()) end
      local g = grads()
      local n2 = dot(g[1], g[1]) + dot(g[2], g[2])
      opt:step(g)
      rel_near(tanh(1), opt:get("current_surprise"), 1e-12)
      rel_near(n2, opt:get("var_ema"))
      local sbar = 0.2 * opt:get("current_surprise")
      rel_near(sbar, opt:get("accumulated_surprise"))
      rel_near(sbar * exp(-sbar / 0.3), opt:get("current_surprise_gain"))
      assert.same(g, { opt.state.per_param[1].ema_g, opt.state.per_param[2].ema_g })
    end
  end)

  it("forms the second surprise from ema_g and var_ema before updating ema_g", function()
    local opt = R.new("AutoHypergradientAdamW", { { 0, 0 } }, { warmup_steps = 0, track_surprise = true })
    local g1, g2 = { 3, 4 }, { 1, -2 }
    opt:step { g1 }
    opt:step { g2 }
    local var = 0.9 * 25 + 0.1 * 5
    local e2 = (1 - 3) ^ 2 + (-2 - 4) ^ 2
    rel_near(tanh(e2 / (var + 1e-12)), opt:get("current_surprise"))
    rel_near(var, opt:get("var_ema"))
    local ema = opt.state.per_param[1].ema_g
    rel_near(0.9 * 3 + 0.1 * 1, ema[1])
    rel_near(0.9 * 4 + 0.1 * -2, ema[2])
  end)

  it("counts a parameter without ema_g yet as g*g in e2", function()
    local opt = R.new("AutoHypergradientAdamW", { { 0 }, { 0 } }, { warmup_steps = 0, track_surprise = true })
    opt:step { { 2 }, false }
    opt:step { { 2 }, { 3 } }
    local var = 0.9 * 4 + 0.1 * (4 + 9)
    rel_near(tanh(9 / (var + 1e-12)), opt:get("current_surprise"))
    assert.same({ 3 }, opt.state.per_param[2].ema_g)
  end)

  it("takes the hand-derived first adaptation (direction normalizer, momentum)", function()
    local g1, g2 = { 1, -2, 0.5 }, { 0.3, 0.1, 0.2 }
    local opt = R.new("AutoHypergradientAdamW", { { 1, 1, 1 } },
      { lr = 0.5, warmup_steps = 0, adapt_momentum = true })
    opt:step { g1 }
    local d1, N = {}, 0
    for j = 1, 3 do
      d1[j] = g1[j] / (math.abs(g1[j]) + 1e-8)
      N = N + d1[j] * d1[j]
    end
    rel_near(N, opt:get("prev_norm"))
    opt:step { g2 }
    local h = -dot(g2, d1) / N
    local G = 0.99 + 0.01 * h * h
    rel_near(0.5 - 0.01 * h / (sqrt(G) + 1e-12), opt:get("current_lr"))
    rel_near(G, opt:get("G_lr"))
    local m1 = { 0.1 * g1[1], 0.1 * g1[2], 0.1 * g1[3] }
    local hb = dot(g2, m1) / N
    local Gb = 0.99 + 0.01 * hb * hb
    rel_near(0.9 - hb / (sqrt(Gb) + 1e-12), opt:get("beta1"))
    rel_near(Gb, opt:get("G_beta"))
  end)

  it("normalises by the previous gradients' squared norm with normalizer = gradient", function()
    local g1, g2 = { 1, -2, 0.5 }, { 0.3, 0.1, 0.2 }
    local opt = R.new("AutoHypergradientAdamW", { { 1, 1, 1 } },
      { lr = 0.5, warmup_steps = 0, normalizer = "gradient" })
    opt:step { g1 }
    rel_near(dot(g1, g1), opt:get("prev_norm"))
    opt:step { g2 }
    local d1 = {}
    for j = 1, 3 do d1[j] = g1[j] / (math.abs(g1[j]) + 1e-8) end
    local h = -dot(g2, d1) / dot(g1, g1)
    rel_near(0.5 - 0.01 * h / (sqrt(0.99 + 0.01 * h * h) + 1e-12), opt:get("current_lr"))
  end)

  it("refreshes prev_norm every step, with unchanged m and v of a gradient-less parameter", function()
    local opt = R.new("AutoHypergradientAdamW", { { 1, 1 }, { 1 } })
    opt:step { { 2, -1 }, { 4 } }
    opt:step { { 1, 1 }, false }
    local direction = opt:directions()
    local m, v = 0.1 * 4, 0.001 * 16                   -- parameter 2, left by call 1
    rel_near((m / (1 - 0.9 ^ 2)) / (sqrt(v / (1 - 0.999 ^ 2)) + 1e-8), direction[2][1])
    rel_near(dot(direction[1], direction[1]) + direction[2][1] ^ 2, opt:get("prev_norm"))
    assert.equal(1, #opt:get("lr_history"))            -- still in warmup
  end)

  it("limits lr to exactly x1.1 or x0.9 while the rate limit binds, and moves by hyper_lr above", function()
    local g = { 1, 2, -3 }
    local opt = R.new("AutoHypergradientAdamW", { { 0, 0, 0 } }, { lr = 0.03, warmup_steps = 0 })
    opt:step { g }
    -- A constant gradient agrees with d_prev: h clips to -1 and G_lr stays 1.
    local lr = 0.03
    for _ = 1, 20 do
      opt:step { g }
      if 0.01 / (1 + 1e-12) > 0.1 * lr then
        rel_near(lr * 1.1, opt:get("current_lr"))
      else
        rel_near(lr + 0.01 / (1 + 1e-12), opt:get("current_lr"))
      end
      lr = opt:get("current_lr")
      assert.equal(1, opt:get("G_lr"))
    end
    assert.is_true(lr > 0.1)                           -- both regimes were crossed
    local small = R.new("AutoHypergradientAdamW", { { 0, 0, 0 } }, { lr = 0.01, warmup_steps = 0 })
    small:step { g }
    small:step { { -1, -2, 3 } }                       -- disagrees: h = +1, lr shrinks
    rel_near(0.01 * 0.9, small:get("current_lr"))
  end)

  it("honours max_lr_change, h_clip and the sum accumulator", function()
    local g = { 1, 2, -3 }
    local function second_call(opts)
      opts.warmup_steps, opts.lr = 0, 0.01
      local opt = R.new("AutoHypergradientAdamW", { { 0, 0, 0 } }, opts)
      opt:step { g }
      opt:step { g }
      return opt
    end
    -- After one call d = g / (|g| + eps); both calls see the same g.
    local d = {}
    for j = 1, 3 do d[j] = g[j] / (math.abs(g[j]) + 1e-8) end
    local h = -dot(g, d) / dot(d, d)                   -- about -2
    rel_near(0.01 * 1.5, second_call({ max_lr_change = 0.5 }):get("current_lr"))
    rel_near(0.01 + 0.01 / (1 + 1e-12), second_call({ max_lr_change = false }):get("current_lr"))
    local unclipped = second_call({ h_clip = false, max_lr_change = false })
    local G = 0.99 + 0.01 * h * h
    rel_near(G, unclipped:get("G_lr"))
    rel_near(0.01 - 0.01 * h / (sqrt(G) + 1e-12), unclipped:get("current_lr"))
    rel_near(0.99 + 0.01 * 1.5 * 1.5, second_call({ h_clip = 1.5, max_lr_change = false }):get("G_lr"))
    -- paper: N = sum g^2, G starts at 0 and sums h^2, no clip, no rate limit.
    local hp = -dot(g, d) / dot(g, g)
    local paper = second_call({ variant = "paper" })
    rel_near(hp * hp, paper:get("G_lr"))
    rel_near(0.01 - 0.01 * hp / (math.abs(hp) + 1e-12), paper:get("current_lr"))
  end)

  it("resolves presets, with explicit options overriding them", function()
    local function opts(o) return R.new("AutoHypergradientAdamW", { { 1 } }, o).options end
    local d = opts {}
    assert.same({ "direction", "ema", 1, 0.1 }, { d.normalizer, d.accumulator, d.h_clip, d.max_lr_change })
    assert.equal("gradient", opts { variant = "grilly-v2" }.normalizer)
    local p = opts { variant = "paper", h_clip = 2 }
    assert.same({ "gradient", "sum", 2, false }, { p.normalizer, p.accumulator, p.h_clip, p.max_lr_change })
    assert.equal(0, R.new("AutoHypergradientAdamW", { { 1 } }, { variant = "paper" }).state.G_beta)
    assert.equal("direction", opts { variant = "grilly-v2", normalizer = "direction" }.normalizer)
  end)
end)

describe("optim_reference: non-finite gradients", function()
  local function started(policy)
    local params, grads = problem(9, { 3, 2 })
    local opt = R.new("AutoHypergradientAdamW", params,
      { warmup_steps = 1, track_surprise = true, adapt_momentum = true, nonfinite = policy })
    for _ = 1, 3 do opt:step(grads()) end
    local g = grads()
    g[2][2] = 0 / 0
    return opt, params, g
  end

  it("skips the whole step by default, t and histories included, and counts it", function()
    for _, bad in ipairs { 0 / 0, math.huge, -math.huge } do
      local opt, params, g = started(nil)
      g[2][2] = bad
      local snap, p0 = opt:snapshot(), copy(params)
      assert.equal(42, opt:step(function() return 42 end, g))
      assert.same(p0, params)
      snap.state.skipped_steps = 1
      assert.same(snap, opt:snapshot())
      assert.equal(3, opt:get("step_count"))
    end
  end)

  it("raises with nothing changed under nonfinite = error", function()
    local opt, params, g = started("error")
    local snap, p0 = opt:snapshot(), copy(params)
    assert.error_matches(function() opt:step(g) end, "non%-finite gradient")
    assert.same(p0, params)
    assert.same(snap, opt:snapshot())
  end)

  it("lets the values through under nonfinite = propagate", function()
    local opt, params, g = started("propagate")
    opt:step(g)
    assert.equal(4, opt:get("step_count"))
    assert.is_true(params[2][2] ~= params[2][2])
    assert.is_true(opt:get("current_surprise") ~= opt:get("current_surprise"))
  end)
end)

describe("optim_reference: API", function()
  it("runs the closure first and returns its value", function()
    local p = { 1 }
    local opt = R.new("AdamW", { p })
    local seen
    assert.equal("loss", opt:step(function() seen = p[1]; return "loss" end, { { 1 } }))
    assert.equal(1, seen)
    assert.is_true(p[1] < 1)
  end)

  it("takes param groups", function()
    local a, b = { 1 }, { 2, 3 }
    local opt = R.new("AdamW", { { params = { a } }, { params = { b } } })
    opt:step { { 1 }, { 1, 1 } }
    assert.equal(2, #opt.params)
    assert.is_true(a[1] < 1 and b[2] < 3)
  end)

  it("rejects a gradient of the wrong size with nothing changed", function()
    local p = { 1, 2 }
    local opt = R.new("AdamW", { p })
    assert.error_matches(function() opt:step { { 1 } } end, "shape mismatch: 1 vs 2")
    assert.error_matches(function() opt:step { { 1, "x" } } end, "element 2 is not a number")
    assert.same({ 1, 2 }, p)
    assert.equal(0, opt:get("step_count"))
  end)

  it("rejects bad options naming the option", function()
    local bad = {
      { "AdamW", { lr = 0 }, "'lr' must be" }, { "AdamW", { lr = 0 / 0 }, "'lr' must be" },
      { "AdamW", { lr = "1" }, "'lr' must be" }, { "AdamW", { betas = { 0.9, 1 } }, "'betas' must be" },
      { "AdamW", { betas = { -0.1, 0.9 } }, "'betas' must be" }, { "AdamW", { betas = 0.9 }, "'betas' must be" },
      { "AdamW", { eps = -1 }, "'eps' must be" }, { "AdamW", { weight_decay = math.huge }, "'weight_decay'" },
      { "AdamW", { amsgrad = 1 }, "'amsgrad' must be a boolean" },
      { "AdamW", { bias_correction = "pow" }, "'bias_correction' must be one of" },
      { "AdamW", { nonfinite = "ignore" }, "'nonfinite' must be one of" },
      { "AdamW", { beta_hyper = 1 }, "unknown option 'beta_hyper'" },
      { "AdamW", { variant = "paper" }, "unknown option 'variant'" },
      { "HypergradientAdamW", { hyper_lr = 1 }, "unknown option 'hyper_lr'" },
      { "HypergradientAdamW", { beta_hyper = -1 }, "'beta_hyper' must be" },
      { "HypergradientAdamW", { lr_min = 0.5, lr_max = 0.1 }, "'lr_min' must be <= lr_max" },
      { "AutoHypergradientAdamW", { log_scale = true }, "unknown option 'log_scale'" },
      { "AutoHypergradientAdamW", { hyper_lr_beta = -1 }, "'hyper_lr_beta' must be" },
      { "AutoHypergradientAdamW", { surprise_gamma = 1.5 }, "'surprise_gamma' must be" },
      { "AutoHypergradientAdamW", { surprise_alpha = -0.1 }, "'surprise_alpha' must be" },
      { "AutoHypergradientAdamW", { trauma_threshold = 0 }, "'trauma_threshold' must be" },
      { "AutoHypergradientAdamW", { beta_max = 1 }, "'beta_max' must be" },
      { "AutoHypergradientAdamW", { beta_min = 0.9, beta_max = 0.8 }, "'beta_min' must be <= beta_max" },
      { "AutoHypergradientAdamW", { warmup_steps = 1.5 }, "'warmup_steps' must be an integer" },
      { "AutoHypergradientAdamW", { warmup_steps = -1 }, "'warmup_steps' must be an integer" },
      { "AutoHypergradientAdamW", { h_clip = 0 }, "'h_clip' must be" },
      { "AutoHypergradientAdamW", { h_clip = true }, "'h_clip' must be" },
      { "AutoHypergradientAdamW", { max_lr_change = math.huge }, "'max_lr_change' must be" },
      { "AutoHypergradientAdamW", { normalizer = "norm" }, "'normalizer' must be one of" },
      { "AutoHypergradientAdamW", { accumulator = "adagrad" }, "'accumulator' must be one of" },
      { "AutoHypergradientAdamW", { variant = "v2" }, "'variant' must be one of" },
      { "AutoHypergradientAdamW", { lrr = 1 }, "unknown option 'lrr'" },
    }
    for _, case in ipairs(bad) do
      local ok, err = pcall(R.new, case[1], { { 1 } }, case[2])
      assert.is_false(ok, case[3])
      assert.truthy(err:find(case[3], 1, true), err)
    end
    assert.error_matches(function() R.new("SGD", { { 1 } }) end, "unknown optimizer class 'SGD'")
  end)

  it("reads properties and options, and writes options with validation", function()
    local opt = R.new("AutoHypergradientAdamW", { { 1 } }, { lr = 0.02, warmup_steps = 0 })
    assert.same({ 0.9, 0.999 }, opt:get("betas"))
    assert.equal(0.02, opt:get("current_lr"))
    assert.equal(0, opt:get("step_count"))
    assert.equal(0, opt:get("current_surprise"))
    assert.is_nil(opt:get("no_such_field"))
    assert.is_nil(R.new("AdamW", { { 1 } }):get("current_surprise"))
    opt:set("hyper_lr", 0.05)
    assert.equal(0.05, opt:get("hyper_lr"))
    -- The written lr and beta1 drive the next update (no adaptation at call 1).
    opt:set("lr", 0.1)
    opt:set("beta1", 0.5)
    local x = opt.params[1]
    opt:step { { 2 } }
    rel_near(1 * (1 - 0.1 * 0.01) - 0.1 * ((0.5 * 2) / 0.5) / (2 + 1e-8), x[1])
    opt:step { { 3 } }
    rel_near(0.5 * (0.5 * 2) + 0.5 * 3, opt.state.per_param[1].m[1])
    assert.equal(0.5, opt:get("beta1"))
    assert.are_not.equal(0.1, opt:get("current_lr"))   -- adaptation continued from 0.1
    assert.same({ 0.02, opt:get("current_lr") }, opt:get("lr_history"))
    assert.error_matches(function() opt:set("lr", -1) end, "'lr' must be")
    assert.error_matches(function() opt:set("lr_min", 2) end, "'lr_min' must be <= lr_max")
    assert.error_matches(function() opt:set("beta2", 1) end, "'beta2' must be")
    assert.error_matches(function() opt:set("log_scale", true) end, "cannot set 'log_scale'")
    assert.error_matches(function() opt:set("variant", "paper") end, "cannot set 'variant'")
    assert.equal(0.05, opt:get("hyper_lr"))
  end)

  it("continues bit-identically from a snapshot restored into a new optimizer", function()
    local opts = { lr = 0.01, warmup_steps = 2, track_surprise = true, adapt_momentum = true,
                   amsgrad = true, bias_correction = "product" }
    local pa, ga = problem(31, { 4, 3 })
    local pb = copy(pa)
    local a = R.new("AutoHypergradientAdamW", pa, opts)
    local gs = {}
    for k = 1, 16 do gs[k] = ga() end
    for k = 1, 16 do a:step(copy(gs[k])) end
    local b = R.new("AutoHypergradientAdamW", pb, opts)
    for k = 1, 8 do b:step(copy(gs[k])) end
    local snap = b:snapshot()
    local pc = copy(pb)
    local c = R.new("AutoHypergradientAdamW", pc, {})
    c:restore(snap)
    for k = 9, 16 do c:step(copy(gs[k])) end
    assert.same(pa, pc)
    assert.same(a:snapshot(), c:snapshot())
  end)

  it("validates a snapshot before restoring it", function()
    local opt = R.new("AutoHypergradientAdamW", { { 1, 2 } })
    opt:step { { 1, 1 } }
    local before = opt:snapshot()
    local other_class = R.new("AdamW", { { 1, 2 } }):snapshot()
    local other_count = R.new("AutoHypergradientAdamW", { { 1, 2 }, { 3 } })
    local other_size = R.new("AutoHypergradientAdamW", { { 1, 2, 3 } })
    other_size:step { { 1, 1, 1 } }
    assert.error_matches(function() opt:restore(other_class) end, "snapshot of another class")
    assert.error_matches(function() opt:restore(other_count:snapshot()) end, "has 2 parameters")
    assert.error_matches(function() opt:restore(other_size:snapshot()) end, "has 3 elements")
    assert.same(before, opt:snapshot())
  end)
end)

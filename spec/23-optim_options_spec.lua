-- Construction, options and fields of the three optimizers: defaults, presets,
-- validation (every bad value names its option and changes nothing), fields,
-- properties, lifetime and parameter lists.
local grilly = require "grilly"
local support = require "optim_support"

local optim = grilly.optim

local DEFAULTS = {
  AdamW = {
    lr = 1e-3, betas = { 0.9, 0.999 }, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01,
    amsgrad = false, bias_correction = "power", nonfinite = "skip",
  },
  HypergradientAdamW = { beta_hyper = 1e-7, log_scale = false, lr_min = 1e-6, lr_max = 1.0 },
  AutoHypergradientAdamW = {
    hyper_lr = 0.01, hyper_lr_beta = 1.0, lr_min = 1e-6, lr_max = 1.0, adapt_momentum = false,
    track_surprise = false, surprise_gamma = 0.9, surprise_alpha = 0.1, trauma_threshold = 0.5,
    beta_min = 0.5, beta_max = 0.9995, warmup_steps = 10, normalizer = "direction",
    accumulator = "ema", h_clip = 1, max_lr_change = 0.1, variant = "grilly",
  },
}

-- The options of each class (AdamW's are everyone's).
local function options_of(class)
  local all = {}
  for k, v in pairs(DEFAULTS.AdamW) do all[k] = v end
  if class ~= "AdamW" then
    for k, v in pairs(DEFAULTS[class]) do all[k] = v end
  end
  return all
end

-- Bad values: option, value, the message after "option '<name>' must be ".
local INVALID = {
  { "lr", 0, "> 0 (got 0)" }, { "lr", -1, "> 0 (got -1)" }, { "lr", "0.1", 'a number (got "0.1")' },
  { "lr", true, "a number (got true)" },
  { "betas", { 0.9 }, "a pair of numbers {beta1, beta2} (got table)" },
  { "betas", { 1, 0.9 }, "a pair of numbers in [0, 1) (got {1, 0.9})" },
  { "betas", { 0.9, -0.1 }, "a pair of numbers in [0, 1) (got {0.9, -0.1})" },
  { "betas", 0.9, "a pair of numbers {beta1, beta2} (got 0.9)" },
  { "betas", { 0.9, 0 / 0 }, "a pair of numbers in [0, 1) (got {0.9, nan})" },
  { "beta1", 1, "in [0, 1) (got 1)" }, { "beta2", -0.5, "in [0, 1) (got -0.5)" },
  { "eps", -1e-9, ">= 0 (got -1e-09)" }, { "weight_decay", -0.1, ">= 0 (got -0.1)" },
  { "amsgrad", 1, "a boolean (got 1)" }, { "amsgrad", "yes", 'a boolean (got "yes")' },
  { "bias_correction", "linear", '"power" or "product" (got "linear")' },
  { "nonfinite", "ignore", '"skip", "error" or "propagate" (got "ignore")' },
  { "nonfinite", false, '"skip", "error" or "propagate" (got false)' },
  { "beta_hyper", -1, ">= 0 (got -1)" }, { "log_scale", 0, "a boolean (got 0)" },
  { "lr_min", 0, "> 0 (got 0)" }, { "lr_max", -1, "> 0 (got -1)" },
  { "hyper_lr", -0.1, ">= 0 (got -0.1)" }, { "hyper_lr_beta", -1, ">= 0 (got -1)" },
  { "adapt_momentum", "no", 'a boolean (got "no")' }, { "track_surprise", 1, "a boolean (got 1)" },
  { "surprise_gamma", 1.5, "in [0, 1] (got 1.5)" }, { "surprise_alpha", -0.1, "in [0, 1] (got -0.1)" },
  { "trauma_threshold", 0, "> 0 (got 0)" },
  { "beta_min", 1, "in [0, 1) (got 1)" }, { "beta_max", 1, "in [0, 1) (got 1)" },
  { "warmup_steps", -1, "an integer >= 0 (got -1)" }, { "warmup_steps", 2.5, "an integer >= 0 (got 2.5)" },
  { "warmup_steps", "10", 'an integer >= 0 (got "10")' },
  { "normalizer", "norm", '"direction" or "gradient" (got "norm")' },
  { "accumulator", "max", '"ema" or "sum" (got "max")' },
  { "h_clip", 0, "> 0 (got 0)" }, { "h_clip", true, "a number > 0 or false (got true)" },
  { "max_lr_change", -0.1, "> 0 (got -0.1)" }, { "max_lr_change", "none", 'a number > 0 or false (got "none")' },
  { "variant", "v3", '"grilly", "grilly-v2" or "paper" (got "v3")' },
  { "lr", {}, "a number (got table)" }, { "eps", print, "a number (got function)" },
}

-- The numeric options, each of which also rejects nan and infinities.
local NUMERIC = { "lr", "beta1", "beta2", "eps", "weight_decay", "beta_hyper", "lr_min", "lr_max",
                  "hyper_lr", "hyper_lr_beta", "surprise_gamma", "surprise_alpha", "trauma_threshold",
                  "beta_min", "beta_max", "h_clip", "max_lr_change" }

local function classes_with(name)
  local out = {}
  for _, class in ipairs(support.CLASSES) do
    if options_of(class)[name] ~= nil then out[#out + 1] = class end
  end
  return out
end

for _, device in ipairs(support.devices()) do
  describe("optimizer options on " .. device, function()
    local function param(n) return grilly.zeros(n or 3, { device = device }) end

    for _, class in ipairs(support.CLASSES) do
      it(class .. " has the documented defaults as fields", function()
        local opt = optim[class]({ param() })
        for name, value in pairs(options_of(class)) do
          assert.are.same(value, opt[name], name)
        end
        assert.are.equal(1e-3, opt.current_lr)
        assert.are.equal(0, opt.step_count)
        assert.are.equal(0, opt.skipped_steps)
        assert.are.same({ 1e-3 }, opt.lr_history)
        assert.are.equal(device, opt.device)
      end)
    end

    it("presets set four options at once, and explicit options override them", function()
      local v2 = optim.AutoHypergradientAdamW({ param() }, { variant = "grilly-v2" })
      assert.are.equal("gradient", v2.normalizer)
      assert.are.equal("ema", v2.accumulator)
      assert.are.equal("grilly-v2", v2.variant)
      local paper = optim.AutoHypergradientAdamW({ param() }, { variant = "paper" })
      assert.are.same({ "gradient", "sum", false, false, "paper" },
        { paper.normalizer, paper.accumulator, paper.h_clip, paper.max_lr_change, paper.variant })
      local mixed = optim.AutoHypergradientAdamW({ param() }, { variant = "paper", h_clip = 2 })
      assert.are.equal(2, mixed.h_clip)
      assert.are.equal("sum", mixed.accumulator)
      assert.are.equal("custom", mixed.variant)
      mixed.variant = "grilly"
      assert.are.same({ "direction", "ema", 1, 0.1 },
        { mixed.normalizer, mixed.accumulator, mixed.h_clip, mixed.max_lr_change })
    end)

    it("the sum accumulator starts G at 0, the EMA at 1", function()
      local sum = optim.AutoHypergradientAdamW({ param() }, { accumulator = "sum" }):state_dict()
      local ema = optim.AutoHypergradientAdamW({ param() }):state_dict()
      assert.are.same({ 0, 0, 1, 1 }, { sum.G_lr, sum.G_beta, ema.G_lr, ema.G_beta })
    end)

    describe("every invalid option names itself, at construction and as a field write", function()
      local cases = {}
      for _, c in ipairs(INVALID) do cases[#cases + 1] = c end
      for _, name in ipairs(NUMERIC) do
        cases[#cases + 1] = { name, 0 / 0, "finite (got nan)" }
        cases[#cases + 1] = { name, math.huge, "finite (got inf)" }
        cases[#cases + 1] = { name, -math.huge, "finite (got -inf)" }
      end
      for _, c in ipairs(cases) do
        local name, value, expected = c[1], c[2], c[3]
        for _, class in ipairs(classes_with(name)) do
          it(("%s %s = %s"):format(class, name, tostring(value)), function()
            local message = ("%s: option '%s' must be %s"):format(class, name, expected)
            assert.error_matches(function() optim[class]({ param() }, { [name] = value }) end,
              message, nil, true)
            local opt = optim[class]({ param() })
            local before = opt[name]
            assert.error_matches(function() opt[name] = value end, message, nil, true)
            assert.are.same(before, opt[name])
          end)
        end
      end
    end)

    it("checks lr_min <= lr_max and beta_min <= beta_max, naming the side that was set", function()
      assert.error_matches(function()
        optim.AutoHypergradientAdamW({ param() }, { lr_min = 1, lr_max = 0.1 })
      end, "AutoHypergradientAdamW: option 'lr_min' must be <= lr_max (got 1 > 0.1)", nil, true)
      assert.error_matches(function()
        optim.HypergradientAdamW({ param() }, { lr_max = 1e-7 })
      end, "HypergradientAdamW: option 'lr_max' must be >= lr_min (got 1e-07 < 1e-06)", nil, true)
      assert.error_matches(function()
        optim.AutoHypergradientAdamW({ param() }, { beta_min = 0.9, beta_max = 0.8 })
      end, "option 'beta_min' must be <= beta_max (got 0.9 > 0.8)", nil, true)
      local opt = optim.AutoHypergradientAdamW({ param() })
      assert.error_matches(function() opt.beta_max = 0.1 end,
        "option 'beta_max' must be >= beta_min (got 0.1 < 0.5)", nil, true)
      assert.error_matches(function() opt.lr_min = 2 end,
        "option 'lr_min' must be <= lr_max (got 2 > 1)", nil, true)
      assert.are.same({ 1e-6, 1.0, 0.5, 0.9995 }, { opt.lr_min, opt.lr_max, opt.beta_min, opt.beta_max })
    end)

    it("rejects unknown options, options of other classes and bad option tables", function()
      assert.error_matches(function() optim.AdamW({ param() }, { lrate = 1 }) end,
        "AdamW: unknown option 'lrate'", nil, true)
      assert.error_matches(function() optim.AdamW({ param() }, { hyper_lr = 1 }) end,
        "AdamW: unknown option 'hyper_lr' (an option of AutoHypergradientAdamW)", nil, true)
      assert.error_matches(function() optim.HypergradientAdamW({ param() }, { variant = "paper" }) end,
        "HypergradientAdamW: unknown option 'variant' (an option of AutoHypergradientAdamW)", nil, true)
      assert.error_matches(function() optim.AdamW({ param() }, { 0.1 }) end,
        "AdamW: option names must be strings (got number)", nil, true)
      assert.error_matches(function() optim.AdamW({ param() }, "fast") end,
        "bad argument #2 to 'AdamW' (options table expected, got string)", nil, true)
    end)

    it("reads and writes hyperparameters as fields, with the values in use", function()
      local opt = optim.AutoHypergradientAdamW({ param() })
      opt.lr = 3e-4
      assert.are.same({ 3e-4, 3e-4 }, { opt.lr, opt.current_lr })
      opt.betas = { 0.8, 0.99 }
      assert.are.same({ 0.8, 0.99, 0.8, 0.99 }, { opt.beta1, opt.beta2, opt.betas[1], opt.betas[2] })
      opt.beta1 = 0.85
      assert.are.same({ 0.85, 0.99 }, opt.betas)
      opt.hyper_lr = 0.02
      opt.nonfinite = "error"
      opt.h_clip = false
      opt.warmup_steps = 0
      assert.are.same({ 0.02, "error", false, 0 }, { opt.hyper_lr, opt.nonfinite, opt.h_clip, opt.warmup_steps })
      -- Construction values stay in the options of the state; the values in use move.
      local sd = opt:state_dict()
      assert.are.same({ 1e-3, { 0.9, 0.999 } }, { sd.options.lr, sd.options.betas })
      assert.are.same({ 3e-4, 0.85, 0.99 }, { sd.lr, sd.beta1, sd.beta2 })
    end)

    it("reads unknown fields as nil and refuses to write them or read-only ones", function()
      local opt = optim.AdamW({ param() })
      assert.is_nil(opt.no_such_field)
      assert.is_nil(opt.hyper_lr)
      assert.is_nil(opt.current_surprise)
      assert.is_nil(opt[1])
      assert.error_matches(function() opt.no_such_field = 1 end,
        "AdamW: cannot set unknown field 'no_such_field'", nil, true)
      assert.error_matches(function() opt.hyper_lr = 1 end, "AdamW: cannot set unknown field 'hyper_lr'", nil, true)
      for _, name in ipairs { "step_count", "current_lr", "skipped_steps", "lr_history", "device", "step" } do
        assert.error_matches(function() opt[name] = 1 end, ("AdamW: field '%s' is read-only"):format(name), nil, true)
      end
      assert.error_matches(function() opt[1] = 1 end, "AdamW: cannot set a number key", nil, true)
      local auto = optim.AutoHypergradientAdamW({ param() })
      for _, name in ipairs { "current_surprise", "accumulated_surprise", "current_surprise_gain",
                              "beta1_history", "surprise_history", "s_bar_history" } do
        assert.is_not_nil(auto[name], name)
        assert.error_matches(function() auto[name] = 1 end, "field '" .. name .. "' is read-only", nil, true)
      end
      assert.are.same({ 0, 0, 0 }, { auto.current_surprise, auto.accumulated_surprise, auto.current_surprise_gain })
      assert.are.same({ 0.9 }, auto.beta1_history)
      assert.are.same({}, auto.surprise_history)
    end)

    it("shows class, lr, beta1, step and device in tostring", function()
      local opt = optim.HypergradientAdamW({ param() }, { lr = 0.01, betas = { 0.8, 0.9 } })
      assert.are.equal(("grilly.HypergradientAdamW(lr=0.01, beta1=0.8, step=0, device=%s)"):format(device),
        tostring(opt))
    end)

    it("frees idempotently, then refuses use", function()
      local opt = optim.AutoHypergradientAdamW({ param() })
      opt:free()
      opt:free()
      assert.are.equal("grilly.AutoHypergradientAdamW(freed)", tostring(opt))
      assert.error_matches(function() return opt.lr end, "use of freed grilly.AutoHypergradientAdamW", nil, true)
      assert.error_matches(function() opt:step() end, "use of freed grilly.AutoHypergradientAdamW", nil, true)
      assert.error_matches(function() opt.lr = 1 end, "use of freed grilly.AutoHypergradientAdamW", nil, true)
      assert.error_matches(function() opt:state_dict() end, "use of freed", nil, true)
      -- Collected after free, and collected without one.
      opt = nil
      optim.AdamW({ param() })
      collectgarbage()
      collectgarbage()
    end)

    describe("parameters", function()
      it("accepts param groups like a flat list", function()
        local a1, b1, c1 = param(2), param(3), param(1)
        local a2, b2, c2 = param(2), param(3), param(1)
        local flat = optim.AdamW({ a1, b1, c1 }, { lr = 0.1 })
        local grouped = optim.AdamW({ { params = { a2, b2 } }, { params = { c2 } } }, { lr = 0.1 })
        local g = { grilly.ones(2, { device = device }), grilly.ones(3, { device = device }),
                    grilly.ones(1, { device = device }) }
        flat:step { [a1] = g[1], [b1] = g[2], [c1] = g[3] }
        grouped:step { [a2] = g[1], [b2] = g[2], [c2] = g[3] }
        assert.are.same({ a1:totable(), b1:totable(), c1:totable() }, { a2:totable(), b2:totable(), c2:totable() })
        assert.are.same(flat:state_dict().state[3].m:totable(), grouped:state_dict().state[3].m:totable())
      end)

      it("rejects bad parameter lists, naming what is wrong", function()
        local a = param()
        local cases = {
          { function() optim.AdamW(a) end,
            "bad argument #1 to 'AdamW' (array of parameter tensors or param groups expected, got grilly.Tensor)" },
          { function() optim.AdamW({}) end, "AdamW: empty parameter list" },
          { function() optim.AdamW({ { params = {} } }) end, "AdamW: empty parameter list" },
          { function() optim.AdamW({ a, 3 }) end,
            "bad argument #1 to 'AdamW' (parameter 2 must be a grilly.Tensor, got number)" },
          { function() optim.AdamW({ a, { params = { a } } }) end,
            "bad argument #1 to 'AdamW' (mixes parameter tensors and param groups)" },
          { function() optim.AdamW({ { params = { a }, lr = 0.1 } }) end,
            "param group 1: per-group option 'lr' is not supported" },
          { function() optim.AdamW({ { a } }) end, "param group 1: unexpected number key (a group is {params = {...}})" },
          { function() optim.AdamW({ {} }) end, "param group 1: 'params' must be an array of tensors, got nil" },
          { function() optim.AdamW({ { params = { a, "b" } } }) end,
            "param group 1: parameter 2 must be a grilly.Tensor, got string" },
          { function() optim.AdamW({ a, a }) end, "AdamW: parameter 2 shares memory with parameter 1" },
          { function() optim.AdamW({ a, a:view(3, 1) }) end, "AdamW: parameter 2 shares memory with parameter 1" },
        }
        for _, c in ipairs(cases) do assert.error_matches(c[1], c[2], nil, true) end
        local freed = param()
        freed:free()
        assert.error_matches(function() optim.AdamW({ freed }) end,
          "parameter 1 must be a grilly.Tensor, got a freed grilly.Tensor", nil, true)
      end)

      it("needs every parameter on one device", function()
        local others = {}
        for _, d in ipairs(grilly.devices()) do
          if d.device ~= device then others[#others + 1] = d.device end
        end
        if #others == 0 then
          -- One device only: then parameters can only share it.
          assert.is_not_nil(optim.AdamW({ param(), param() }))
          return
        end
        local b = grilly.zeros(3, { device = others[1] })
        assert.error_matches(function() optim.AdamW({ param(), b }) end,
          ("AdamW: all parameters must be on one device (parameter 1 is on %s, parameter 2 on"):format(device),
          nil, true)
      end)
    end)
  end)
end

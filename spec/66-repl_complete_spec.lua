-- Tab completion candidates, and the field lists userdata expose for it.
local grilly = require "grilly"
local complete = require "grilly.repl.complete"

local function env_with(vars)
  local env = setmetatable({}, { __index = _G })
  for k, v in pairs(vars) do env[k] = v end
  return env
end

describe("grilly.repl.complete", function()
  local opt = grilly.optim.AutoHypergradientAdamW({ grilly.zeros(3) }, {})
  local env = env_with{ opt = opt, grilly = grilly, t = grilly.zeros(2), s = "text" }

  it("completes the fields of an optimizer after a dot", function()
    assert.same({ "opt.current_lr", "opt.current_surprise", "opt.current_surprise_gain" },
                complete.candidates("opt.cur", env))
    assert.same({ "opt.hyper_lr", "opt.hyper_lr_beta" }, complete.candidates("opt.hyper", env))
    assert.same({ "opt.lr", "opt.lr_history", "opt.lr_max", "opt.lr_min" }, complete.candidates("opt.lr", env))
  end)

  it("completes only methods after a colon", function()
    assert.same({ "opt:state_dict", "opt:step" }, complete.candidates("opt:st", env))
    assert.same({ "t:numel" }, complete.candidates("t:nume", env))
    assert.same({ "s:upper" }, complete.candidates("s:upp", env))
  end)

  it("completes globals of the session, of _G and keywords", function()
    assert.same({ "opt" }, complete.candidates("op", env))
    assert.same({ "print" }, complete.candidates("prin", env))
    assert.same({ "function" }, complete.candidates("functio", env))
  end)

  it("follows dotted paths and class tables behind __index", function()
    assert.same({ "grilly.optim.AdamW", "grilly.optim.AutoHypergradientAdamW" },
                complete.candidates("grilly.optim.A", env))
    local Class = { greet = function() end }
    Class.__index = Class
    local obj = setmetatable({ name = "x" }, Class)
    local e = env_with{ obj = obj }
    assert.same({ "obj.greet" }, complete.candidates("obj.gr", e))
    assert.same({ "obj:greet" }, complete.candidates("obj:", e))
  end)

  it("offers nothing for unknown paths and non-names", function()
    assert.same({}, complete.candidates("nosuch.x", env))
    assert.same({}, complete.candidates("opt.current_lr.x", env))
    assert.same({}, complete.candidates("1.5", env))
  end)

  it("uses __fields and methods of any userdata", function()
    local u = newproxy(true)
    local mt = getmetatable(u)
    mt.__fields = { "alpha", "beta" }
    mt.methods = { run = function() end }
    local e = env_with{ u = u }
    assert.same({ "u.alpha", "u.beta", "u.run" }, complete.candidates("u.", e))
    assert.same({ "u:run" }, complete.candidates("u:", e))
  end)
end)

describe("optimizer __fields", function()
  local documented = {
    AdamW = { "current_lr", "step_count", "lr_history", "lr", "beta1", "beta2", "betas", "eps",
              "weight_decay", "amsgrad" },
    HypergradientAdamW = { "current_lr", "lr_history", "beta_hyper", "lr_min", "lr_max", "log_scale" },
    AutoHypergradientAdamW = { "current_lr", "current_surprise", "accumulated_surprise",
                               "current_surprise_gain", "lr_history", "beta1_history", "surprise_history",
                               "s_bar_history", "hyper_lr", "trauma_threshold", "warmup_steps" },
  }
  for class, names in pairs(documented) do
    it("lists readable fields of " .. class .. ", the documented ones among them", function()
      local opt = grilly.optim[class]({ grilly.zeros(2) }, {})
      local fields = getmetatable(opt).__fields
      local set = {}
      for _, name in ipairs(fields) do
        assert.is_false(set[name] == true, "listed twice: " .. name)
        set[name] = true
        assert.is_not_nil(opt[name], name)
      end
      for _, name in ipairs(names) do assert.is_true(set[name] == true, name) end
    end)
  end
end)

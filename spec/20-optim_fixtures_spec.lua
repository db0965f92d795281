-- grilly's optimizers against the Python grilly's own runs: every run of both
-- fixture files, replayed step by step in closed loop (spec/support/fixtures.lua).
local grilly = require "grilly"
local fixtures = require "fixtures"
local support = require "optim_support"
local ref = require "tensor_ref"

-- The adapter the replay drives: one optimizer over one 10-element tensor.
local function maker(device)
  return function(class_name, options, x0)
    local x = ref.tensor(x0, { #x0 }, device)
    local opt = grilly.optim[class_name]({ x }, options)
    local private = { G_lr = true, G_beta = true, var_ema = true }
    return fixtures.adapter {
      step = function(g) opt:step { [x] = ref.tensor(g, { #g }, device) } end,
      params = function() return (ref.read(x)) end,
      read = function(name)
        if private[name] then
          return class_name == "AutoHypergradientAdamW" and opt:state_dict()[name] or nil
        end
        return opt[name]
      end,
    }
  end
end

for _, device in ipairs(support.devices()) do
  describe("optimizers on " .. device .. " reproduce the Python grilly fixtures", function()
    for _, file in ipairs { "grilly-v3-quadratic.json", "grilly-v2-quadratic.json" } do
      local fix = fixtures.load(file)
      for _, name in ipairs(fixtures.run_names(fix)) do
        local run = fix.runs[name]
        it(("%s: %s (%s, %d steps)"):format(file, name, run.optimizer, #run.steps), function()
          local mismatches = fixtures.replay(run, maker(device))
          assert(#mismatches == 0, fixtures.describe(mismatches, 5))
        end)
      end
    end

    it("tells the variants apart: v2 runs do not match the default variant", function()
      local v2 = fixtures.load("grilly-v2-quadratic.json").runs.auto_default
      local as_default = setmetatable({ options = { lr = 0.01 } }, { __index = v2 })
      assert.is_true(#fixtures.replay(as_default, maker(device)) > 0)
    end)
  end)
end

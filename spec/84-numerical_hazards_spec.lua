-- Numerical hazards of the optimizers and their expected behaviour
-- (docs/reliability.md): lr at its clamps, eps = 0, non-finite gradients
-- under each policy, all-zero gradients for many steps, and long runs.
local grilly = require "grilly"
local ref = require "tensor_ref"

local optim = grilly.optim
local cpu = { device = "cpu" }

local function t(values) return grilly.tensor(values, cpu) end

describe("lr at its clamps", function()
  -- A constant gradient makes g·d_prev positive, so lr rises; an alternating
  -- one makes it negative, so lr falls.
  local function run(class, options, steps, sign)
    local p = { t { 1, 2, 3 } }
    local opt = optim[class](p, options)
    for k = 1, steps do
      local s = sign == "alternating" and (-1) ^ k or 1
      opt:step { [p[1]] = t { s, s, s } }
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

-- The three optimizers on one problem: a badly conditioned quadratic
--   f(x) = 0.5 * sum_i a_i x_i^2,  a_i from 1 to 1000,
-- with noisy gradients. Prints the loss of each as the run goes on, and
-- where the hypergradient classes have taken their learning rate.
--
-- Run from the project root after `make`:  luajit examples/01_optimizers_quadratic.lua
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local optim = grilly.optim

local N, STEPS, NOISE = 1000, 300, 0.05
local CHECKPOINTS = { 1, 10, 30, 100, 200, 300 }

local a = grilly.linspace(0, math.log(1000), N):exp()

local function loss_of(x) return 0.5 * (a * x * x):sum() end

-- Runs one optimizer from the same start with the same gradient noise.
local function run(make)
  grilly.manual_seed(1)
  local x = grilly.randn(N)
  local opt = make(x)
  local losses = {}
  for step = 1, STEPS do
    local noise = grilly.randn(N) * NOISE
    opt:step { [x] = a * x + noise }
    losses[step] = loss_of(x)
  end
  return losses, opt
end

local runs = {
  { "AdamW", function(x) return optim.AdamW({ x }, { lr = 0.01 }) end },
  { "HypergradientAdamW", function(x) return optim.HypergradientAdamW({ x }, { lr = 0.01, beta_hyper = 1e-4 }) end },
  { "AutoHypergradientAdamW", function(x) return optim.AutoHypergradientAdamW({ x }, { lr = 0.01 }) end },
}

grilly.manual_seed(1)
print(("f(x0) = %.4g, %d parameters, %d steps, gradient noise %.2g\n"):format(loss_of(grilly.randn(N)), N, STEPS, NOISE))

local header = { ("%-24s"):format("step") }
for _, s in ipairs(CHECKPOINTS) do header[#header + 1] = ("%10d"):format(s) end
header[#header + 1] = "   final lr"
print(table.concat(header))
for _, r in ipairs(runs) do
  local losses, opt = run(r[2])
  local row = { ("%-24s"):format(r[1]) }
  for _, s in ipairs(CHECKPOINTS) do row[#row + 1] = ("%10.4g"):format(losses[s]) end
  row[#row + 1] = ("%11.4g"):format(opt.current_lr)
  print(table.concat(row))
end

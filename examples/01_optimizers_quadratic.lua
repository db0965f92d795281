-- The three optimizers on one problem: a badly conditioned quadratic
--   f(x) = 0.5 * sum_i a_i x_i^2,  a_i from 1 to 1000,
-- with noisy gradients. Prints the loss of each as the run goes on, and
-- where the hypergradient classes have taken their learning rate; draws the
-- losses and learning rates into 01_optimizers_quadratic_loss.png and
-- 01_optimizers_quadratic_lr.png in the current directory.
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
  local losses, lrs = {}, {}
  for step = 1, STEPS do
    local noise = grilly.randn(N) * NOISE
    opt:step { [x] = a * x + noise }
    losses[step] = loss_of(x)
    lrs[step] = opt.current_lr
  end
  return losses, opt, lrs
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
local loss_lines, lr_lines = {}, {}
for _, r in ipairs(runs) do
  local losses, opt, lrs = run(r[2])
  loss_lines[#loss_lines + 1] = { y = losses, name = r[1] }
  lr_lines[#lr_lines + 1] = { y = lrs, name = r[1] }
  local row = { ("%-24s"):format(r[1]) }
  for _, s in ipairs(CHECKPOINTS) do row[#row + 1] = ("%10.4g"):format(losses[s]) end
  row[#row + 1] = ("%11.4g"):format(opt.current_lr)
  print(table.concat(row))
end

print()
for _, plot in ipairs({
  { lines = loss_lines, file = "01_optimizers_quadratic_loss.png", title = "Loss on the quadratic", ylabel = "f(x)" },
  { lines = lr_lines, file = "01_optimizers_quadratic_lr.png", title = "Learning rate in use", ylabel = "lr" },
}) do
  local spec = { file = plot.file, title = plot.title, xlabel = "step", ylabel = plot.ylabel, log_y = true }
  for i, line in ipairs(plot.lines) do spec[i] = line end
  local png, err = grilly.plot.lines(spec)
  print(png and ("wrote " .. png) or err)
end

-- The three optimizers on one problem: a badly conditioned quadratic
--   f(x) = 0.5 * sum_i a_i x_i^2,  a_i from 1 to 1000,
-- with noisy gradients, each trained by a grilly.train loop from the same
-- start with the same noise. Prints the loss of each as the run goes on, and
-- where the hypergradient classes have taken their learning rate; writes
-- each run's history to a TSV file and plots the losses and learning rates.
--
-- Run from the project root after `make`:  luajit examples/01_optimizers_quadratic.lua
-- (--help lists the options.)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local example = require "example"
local quadratic = require "quadratic"
local optim = grilly.optim

local opts = args.parse(example.options("01_optimizers_quadratic", {
  { "steps", 300, "steps per optimizer" },
  { "size", 1000, "parameters" },
  { "noise", 0.05, "standard deviation of the gradient noise" },
}, {
  log = "per-step TSV history, one file per optimizer: _adamw, _hyper, _auto before the extension; \"\" for none",
  plot = "plot of the losses; the learning rates go to the same name with _lr before the extension; \"\" for none",
}), arg, "Compares AdamW, HypergradientAdamW and AutoHypergradientAdamW on a quadratic.")

grilly.set_device(opts.device)
local N, STEPS = opts.size, opts.steps
local a = grilly.linspace(0, math.log(1000), N):exp()
local criterion = quadratic.criterion(a)

local runs = {
  { "AdamW", "adamw", function(x) return optim.AdamW({ x }, { lr = 0.01 }) end },
  { "HypergradientAdamW", "hyper",
    function(x) return optim.HypergradientAdamW({ x }, { lr = 0.01, beta_hyper = 1e-4 }) end },
  { "AutoHypergradientAdamW", "auto", function(x) return optim.AutoHypergradientAdamW({ x }, { lr = 0.01 }) end },
}

-- One optimizer from the same start with the same gradient noise.
local function train(run)
  grilly.manual_seed(1)
  local x = grilly.parameter(grilly.randn(N))
  local opt = run[3](x)
  local log = example.output(opts.log ~= "" and example.suffixed(opts.log, "_" .. run[2]) or "")
  local loop = grilly.train.loop {
    model = quadratic.model(x), criterion = criterion, optimizer = opt,
    data = quadratic.batches(STEPS, N, opts.noise, function() return 0 end),
    log = log, progress = false,
  }
  loop:run { epochs = 1 }
  loop:close()
  return loop, opt, log
end

-- The loss at the start of these steps, and of the last.
local checkpoints = {}
for _, s in ipairs({ 10, 30, 100, 200 }) do
  if s < STEPS then checkpoints[#checkpoints + 1] = s end
end
checkpoints[#checkpoints + 1] = STEPS

local header = { ("%-24s"):format("loss at step") }
for _, s in ipairs(checkpoints) do header[#header + 1] = ("%10d"):format(s) end
header[#header + 1] = "   final lr"
local loss_lines, lr_lines, logs = {}, {}, {}
for i, run in ipairs(runs) do
  local loop, opt, log = train(run)
  local h = loop.history
  if i == 1 then
    print(("f(x0) = %.4g, %d parameters, %d steps, gradient noise %.2g\n"):format(h.loss[1], N, STEPS, opts.noise))
    print(table.concat(header))
  end
  loss_lines[i] = { x = h.step, y = h.loss, name = run[1] }
  lr_lines[i] = { x = h.step, y = h.lr, name = run[1] }
  logs[#logs + 1] = log
  local row = { ("%-24s"):format(run[1]) }
  for _, s in ipairs(checkpoints) do row[#row + 1] = ("%10.4g"):format(h.loss[s]) end
  row[#row + 1] = ("%11.4g"):format(opt.current_lr)
  print(table.concat(row))
end

print()
for _, log in ipairs(logs) do example.wrote_log(log) end
local plot_path = example.output(opts.plot)
if plot_path then
  for _, plot in ipairs({
    { lines = loss_lines, file = plot_path, title = "Loss on the quadratic", ylabel = "f(x)" },
    { lines = lr_lines, file = example.suffixed(plot_path, "_lr"), title = "Learning rate in use", ylabel = "lr" },
  }) do
    local spec = { file = plot.file, title = plot.title, xlabel = "step", ylabel = plot.ylabel, log_y = true }
    for i, line in ipairs(plot.lines) do spec[i] = line end
    example.wrote_plot(grilly.plot.lines(spec))
  end
end

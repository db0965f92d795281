-- A phase shift: halfway through training on Fashion-MNIST the data
-- distribution changes (the labels rotate, class k becoming k + 1, or the
-- pixels are permuted). The spiking network of example 04 keeps training
-- with AutoHypergradientAdamW and surprise tracking, and the script prints
-- the optimizer's signals in windows around the shift and plots them: the
-- loss jumps, the averaged surprise s_bar swings through trauma_threshold and
-- back, so the input gain s_bar * exp(-s_bar / trauma_threshold) traces its
-- inverted U (largest at s_bar = trauma_threshold), and the learning rate
-- climbs before it settles again.
--
-- Run from the project root after `make`:
--   luajit examples/05_phase_shift.lua --log shift.tsv --plot shift.png
-- (--help lists the options.)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local common = require "fashion_mnist"

local nn = grilly.nn

local opts = args.parse(common.options {
  epochs = 2, batch_size = 256, gain_scale = 0.5, quiet = true,
  extra = {
    { "shift", "labels", "what changes: labels (class k becomes k + 1) or permute (the pixels)" },
    { "shift-step", 0, "training step at which the data changes (0: the start of the middle epoch)" },
    { "hidden", 256, "spiking neurons" },
    { "steps", 6, "time steps T" },
    { "plot", "", "also draw loss, surprise, s_bar, gain and lr into this .png or .svg file" },
  },
}, arg, "Trains a spiking network through a change of the data distribution and shows the optimizer's reaction.")
if opts.shift ~= "permute" and opts.shift ~= "labels" then error("--shift must be permute or labels", 0) end

grilly.set_device(opts.device)
grilly.manual_seed(opts.seed)
local train, test = common.loaders(opts)
local shift_step = opts.shift_step > 0 and opts.shift_step or math.floor(opts.epochs / 2) * train:size() + 1

-- The change, applied to every batch once it has happened.
local pixel_order = grilly.data.permutation(784, opts.seed + 1)
local next_label = grilly.tensor({ 2, 3, 4, 5, 6, 7, 8, 9, 10, 1 }, { device = opts.device })
local function change(x, y)
  if opts.shift == "permute" then return x:index_select(2, pixel_order), y end
  return x, next_label:index_select(1, y)
end

-- Batch sources that pass batches through the change from shift_step on.
local batches_taken = 0
local function shifting(loader, counts)
  return {
    next = function()
      local x, y = loader:next()
      if x == nil then return nil end
      if counts then batches_taken = batches_taken + 1 end
      if batches_taken >= shift_step then x, y = change(x, y) end
      return x, y
    end,
    reset = function() loader:reset() end,
    size = function() return loader:size() end,
  }
end

local model = nn.Sequential {
  nn.Linear(784, opts.hidden), nn.DirectEncoder(opts.steps), nn.LIF { tau = 2 },
  nn.Linear(opts.hidden, 10), nn.MembraneReadout { tau = 2 },
}
local opt = common.optimizer(opts, model:parameters())
print(string.format("the data changes (%s) at step %d", opts.shift, shift_step))
local _, loop = common.train(model, opt, shifting(train, true), shifting(test, false), opts)

-- Means of the optimizer's signals over windows before and after the shift.
local h = loop.history
local function window(from, to)
  local n, sums = 0, { loss = 0, surprise = 0, s_bar = 0, gain = 0, lr = 0 }
  for k = 1, #h.step do
    if h.step[k] >= from and h.step[k] < to then
      n = n + 1
      for key in pairs(sums) do sums[key] = sums[key] + h[key][k] end
    end
  end
  for key in pairs(sums) do sums[key] = n > 0 and sums[key] / n or 0 / 0 end
  return sums
end
print(string.format("\n%-24s %8s %9s %8s %8s %10s", "steps", "loss", "surprise", "s_bar", "gain", "lr"))
local last = h.step[#h.step]
local bounds = { shift_step - 50, shift_step, shift_step + 10, shift_step + 25, shift_step + 50, shift_step + 100,
                 shift_step + 200, last + 1 }
for i = 1, #bounds - 1 do
  local a, b = math.max(1, bounds[i]), math.min(bounds[i + 1], last + 1)
  if a < b then
    local w = window(a, b)
    print(string.format("%-24s %8.4f %9.4f %8.4f %8.4f %10.3g", string.format("%d-%d%s", a, b - 1,
          a == shift_step and "  (shift)" or ""), w.loss, w.surprise, w.s_bar, w.gain, w.lr))
  end
end
print("\n" .. grilly.plot.history(loop, { "loss", "surprise", "s_bar", "gain", "lr" }, { rows = 6 }))
if opts.plot ~= "" then
  local path, err = grilly.plot.history(loop, { "loss", "surprise", "s_bar", "gain", "lr" },
                                        { file = opts.plot, title = "phase shift at step " .. shift_step })
  print(path and ("plot written to " .. path) or ("no plot: " .. err))
end

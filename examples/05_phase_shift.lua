-- A phase shift: halfway through training on Fashion-MNIST the data
-- distribution changes (the labels rotate, class k becoming k + 1, or the
-- pixels are permuted). The spiking network of example 04 keeps training
-- with AutoHypergradientAdamW and surprise tracking, and the script prints
-- the optimizer's signals step by step around the shift, then over windows,
-- and plots them: the loss jumps and the surprise S rises to about 1 (the
-- gradients no longer resemble their running average). While the network
-- relearns, its large gradients agree from step to step, so S falls well
-- below its level before the shift and comes back as training settles. The
-- averaged surprise s_bar swings through trauma_threshold and back, so the
-- input gain s_bar * exp(-s_bar / trauma_threshold) traces its inverted U
-- (largest, trauma_threshold / e, at s_bar = trauma_threshold), and the
-- learning rate climbs before it settles again. The per-step history goes to
-- examples-out/05_phase_shift.tsv and its plot to examples-out/05_phase_shift.png.
--
-- Run from the project root after `make`:
--   luajit examples/05_phase_shift.lua
-- (--help lists the options.)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local example = require "example"
local common = require "fashion_mnist"

local nn = grilly.nn

local opts = args.parse(common.options("05_phase_shift", {
  epochs = 2, batch_size = 256, gain_scale = 0.5, quiet = true,
  extra = {
    { "shift", "labels", "what changes: labels (class k becomes k + 1) or permute (the pixels)" },
    { "shift-step", 0, "training step at which the data changes (0: the start of the middle epoch)" },
    { "hidden", 256, "spiking neurons" },
    { "steps", 6, "time steps T" },
  },
}), arg, "Trains a spiking network through a change of the data distribution and shows the optimizer's reaction.")
if opts.shift ~= "permute" and opts.shift ~= "labels" then error("--shift must be permute or labels", 0) end
if opts.optimizer ~= "auto" or not opts.surprise then
  error("this example follows AutoHypergradientAdamW's surprise: it needs --optimizer auto and --surprise", 0)
end

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

-- The optimizer's signals at one step, and their means over steps from..to.
local h = loop.history
local last = #h.step
local SIGNALS = { "loss", "surprise", "s_bar", "gain", "lr" }
local function mean(key, from, to)
  local sum = 0
  for k = from, to do sum = sum + h[key][k] end
  return sum / (to - from + 1)
end
local function row(from, to, note)
  from, to = math.max(1, from), math.min(to, last)
  if from > to then return end
  local label = from == to and tostring(from) or string.format("%d-%d", from, to)
  local cells = { string.format("%-14s", label .. (note or "")) }
  for _, key in ipairs(SIGNALS) do
    cells[#cells + 1] = string.format(key == "lr" and "%11.3g" or "%9.4f", mean(key, from, to))
  end
  print(table.concat(cells, " "))
end

print(string.format("\n%-14s %9s %9s %9s %9s %11s", "step", "loss", "surprise", "s_bar", "gain", "lr"))
row(shift_step - 50, shift_step - 3)
for k = shift_step - 2, shift_step + 5 do row(k, k, k == shift_step and " shift" or nil) end
for _, w in ipairs({ { 6, 15 }, { 16, 50 }, { 51, 100 }, { 101, last - shift_step } }) do
  row(shift_step + w[1], shift_step + w[2])
end

-- What the table shows, in numbers: the rise of S at the shift and its dip
-- while the network relearns, the gain over s_bar, and the lr's reaction.
local function extreme(key, from, to, better)
  local at
  for k = math.max(1, from), math.min(to, last) do
    if not at or better(h[key][k], h[key][at]) then at = k end
  end
  return at
end
local function larger(a, b) return a > b end
local function smaller(a, b) return a < b end
local settled = opt.warmup_steps + 1
if shift_step > settled and shift_step <= last then
  local peak = extreme("surprise", shift_step, shift_step + 4, larger)
  local dip = extreme("surprise", shift_step, shift_step + 100, smaller)
  print(string.format("\nsurprise: mean %.3f over the %d steps before the shift, %.4f at step %d, down to %.3f at "
                      .. "step %d", mean("surprise", math.max(settled, shift_step - 50), shift_step - 1),
                      shift_step - math.max(settled, shift_step - 50), h.surprise[peak], peak, h.surprise[dip], dip))
  local top = extreme("gain", shift_step, shift_step + 100, larger)
  print(string.format("gain: largest after the shift %.4f at step %d, where s_bar = %.3f (trauma_threshold %g, "
                      .. "largest possible gain %.4f)", h.gain[top], top, h.s_bar[top], opt.trauma_threshold,
                      opt.trauma_threshold / math.exp(1)))
  local lr_top = extreme("lr", shift_step, last, larger)
  print(string.format("lr: %.3g at the shift, up to %.3g at step %d (x%.1f), %.3g at the end", h.lr[shift_step],
                      h.lr[lr_top], lr_top, h.lr[lr_top] / h.lr[shift_step], h.lr[last]))
end

-- The gain against s_bar over the whole run, in bins of s_bar: it rises up to
-- s_bar = trauma_threshold and falls beyond, the inverted U.
local bins = {}
for k = settled, last do
  local b = math.floor(h.s_bar[k] * 10)
  bins[b] = bins[b] or { n = 0, sum = 0 }
  bins[b].n, bins[b].sum = bins[b].n + 1, bins[b].sum + h.gain[k]
end
local s_bar_cells, gain_cells = { "s_bar  " }, { "gain   " }
for b = 0, 9 do
  if bins[b] then
    s_bar_cells[#s_bar_cells + 1] = string.format("%9s", string.format("%.1f-%.1f", b / 10, (b + 1) / 10))
    gain_cells[#gain_cells + 1] = string.format("%9.4f", bins[b].sum / bins[b].n)
  end
end
print(string.format("\nmean gain = s_bar * exp(-s_bar / %g) over the steps with s_bar in each range:",
                    opt.trauma_threshold))
print(table.concat(s_bar_cells))
print(table.concat(gain_cells))

-- The plot starts after warmup, where the signals begin, and at most 100
-- steps before the shift.
local plot_path = example.output(opts.plot)
if plot_path then
  local from = math.max(settled, shift_step - 100)
  local columns = {}
  for _, key in ipairs({ "step", "loss", "surprise", "s_bar", "gain", "lr" }) do
    columns[key] = {}
    for k = from, last do columns[key][k - from + 1] = h[key][k] end
  end
  example.wrote_plot(grilly.plot.history(columns, SIGNALS, { file = plot_path,
    title = string.format("%s change at step %d; gain = s_bar exp(-s_bar / %g)", opts.shift, shift_step,
                          opt.trauma_threshold) }))
end

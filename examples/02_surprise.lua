-- Surprise tracking in AutoHypergradientAdamW. The parameters walk towards a
-- distant target that jumps to the other side halfway through the run:
--   f(x) = 0.5 * |x - target|^2,  target = +4 for the first half, then -4,
-- with noisy gradients, trained by a grilly.train loop.
-- While the walk goes one way the gradients change slowly and the surprise S
-- stays low. The jump makes them unlike their running average, so S spikes,
-- the accumulated surprise Sbar follows it, and the gain
-- Sbar * exp(-Sbar / trauma_threshold) rises; a model would scale its input by
-- (1 + scale * gain). The learning rate adapts throughout. The histories go
-- to a TSV file and a plot.
--
-- Run from the project root after `make`:  luajit examples/02_surprise.lua
-- (--help lists the options.)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local example = require "example"
local quadratic = require "quadratic"

local opts = args.parse(example.options("02_surprise", {
  { "steps", 300, "training steps; the target jumps after half of them" },
  { "size", 256, "parameters" },
  { "noise", 0.05, "standard deviation of the gradient noise" },
}), arg, "Shows AutoHypergradientAdamW's surprise, gain and lr around a jump of the target.")

grilly.set_device(opts.device)
local STEPS, JUMP, WARMUP = opts.steps, math.floor(opts.steps / 2), 10
local SCALE = 0.5    -- of the input scale a model would use, 1 + SCALE * gain

grilly.manual_seed(2)
local x = grilly.parameter(grilly.zeros(opts.size))
local opt = grilly.optim.AutoHypergradientAdamW({ x }, { lr = 0.01, lr_max = 0.03, track_surprise = true,
                                                         warmup_steps = WARMUP })

print(("%5s %10s %10s %10s %10s %11s %10s"):format("step", "loss", "surprise", "S_bar", "gain",
                                                   "in. scale", "lr"))
local function show(_, row)
  local step = row.step
  if step % 20 == 0 or (step > JUMP and step <= JUMP + 6) or step == WARMUP + 1 then
    print(("%5d %10.4g %10.4f %10.4f %10.4f %11.4f %10.4g%s"):format(step, row.loss, row.surprise, row.s_bar,
      row.gain, 1 + SCALE * row.gain, row.lr, step == JUMP + 1 and "   <- target jumps" or ""))
  end
end

local log = example.output(opts.log)
local loop = grilly.train.loop {
  model = quadratic.model(x), criterion = quadratic.criterion(1), optimizer = opt,
  data = quadratic.batches(STEPS, opts.size, opts.noise, function(k) return k <= JUMP and 4 or -4 end),
  log = log, progress = false, on_step = show,
}
loop:run { epochs = 1 }
loop:close()

-- The largest surprise in the 10 steps before the jump and around it.
local s = loop.history.surprise
local before, after = 0, 0
for k = math.max(1, JUMP - 9), JUMP do before = math.max(before, s[k]) end
for k = JUMP + 1, math.min(STEPS, JUMP + 10) do after = math.max(after, s[k]) end
print(("\nlargest surprise in the 10 steps before the jump: %.4f, in the 10 from it: %.4f"):format(before, after))
print(("%d surprise values, %d lr adaptations"):format(#opt.surprise_history, #opt.lr_history - 1))

if log then example.wrote_log(log) end
local plot_path = example.output(opts.plot)
if plot_path then
  example.wrote_plot(grilly.plot.history(loop, { "loss", "surprise", "s_bar", "gain", "lr" }, {
    file = plot_path, title = "Surprise around a target jump at step " .. (JUMP + 1), log_y = { "loss", "lr" } }))
end

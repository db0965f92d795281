-- Surprise tracking in AutoHypergradientAdamW. The parameters walk towards a
-- distant target that jumps to the other side halfway through the run:
--   f(x) = 0.5 * |x - target|^2,  target = +4 for steps 1..150, then -4.
-- While the walk goes one way the gradients change slowly and the surprise S
-- stays low. The jump makes them unlike their running average, so S spikes,
-- the accumulated surprise Sbar follows it, and the gain
-- Sbar * exp(-Sbar / trauma_threshold) rises; a model would scale its input by
-- (1 + scale * gain). The learning rate adapts throughout.
--
-- Run from the project root after `make`:  luajit examples/02_surprise.lua
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"

local N, STEPS, JUMP, NOISE, SCALE = 256, 300, 150, 0.05, 0.5

grilly.manual_seed(2)
local x = grilly.zeros(N)
local opt = grilly.optim.AutoHypergradientAdamW({ x }, { lr = 0.01, lr_max = 0.03, track_surprise = true, warmup_steps = 10 })

print(("%5s %10s %10s %10s %10s %11s %10s"):format("step", "loss", "surprise", "S_bar", "gain",
                                                   "in. scale", "lr"))
for step = 1, STEPS do
  local target = step <= JUMP and 4 or -4
  local diff = x - target
  local loss = 0.5 * diff:dot(diff)
  opt:step { [x] = diff + grilly.randn(N) * NOISE }
  local show = step % 20 == 0 or (step > JUMP and step <= JUMP + 6) or step == 11
  if show then
    print(("%5d %10.4g %10.4f %10.4f %10.4f %11.4f %10.4g%s"):format(step, loss, opt.current_surprise,
      opt.accumulated_surprise, opt.current_surprise_gain, 1 + SCALE * opt.current_surprise_gain,
      opt.current_lr, step == JUMP + 1 and "   <- target jumps" or ""))
  end
end

local s = opt.surprise_history
local before, after = 0, 0
for k = JUMP - 20, JUMP - 11 do before = math.max(before, s[k]) end    -- entries are steps 11..300
for k = JUMP - 10, JUMP + 10 do after = math.max(after, s[k]) end
print(("\nlargest surprise in the 10 steps before the jump: %.4f, around it: %.4f"):format(before, after))
print(("%d surprise values, %d lr adaptations"):format(#s, #opt.lr_history - 1))

-- A long run of a tiny problem: per-step time must not grow as the histories
-- do. Times the first and the last tenth of STEPS steps of an
-- AutoHypergradientAdamW (surprise and momentum adaptation on, so all four
-- histories grow every step) over 4 elements on the CPU, and fails when the
-- last tenth is more than MAX_RATIO times slower than the first.
-- Usage: make bench-long-run, or luajit bench/optim_long_run.lua [STEPS [MAX_RATIO]]
local timing = require "timing"
local grilly = require "grilly"

local STEPS = tonumber(arg[1]) or 1000000
local MAX_RATIO = tonumber(arg[2]) or 3

local cpu = { device = "cpu" }
local p = { grilly.tensor({ 1, 2, 3, 4 }, cpu) }
local g = grilly.tensor({ 0.1, -0.2, 0.3, -0.4 }, cpu)
local grads = { [p[1]] = g }
local opt = grilly.optim.AutoHypergradientAdamW(p, { warmup_steps = 0, track_surprise = true, adapt_momentum = true })

local tenth = math.floor(STEPS / 10)
local function steps(first, last)
  local t0 = timing.now()
  for k = first, last do
    g[1] = 0.1 * math.sin(k)
    opt:step(grads)
  end
  return (timing.now() - t0) / (last - first + 1)
end

local head = steps(1, tenth)
steps(tenth + 1, STEPS - tenth)
local tail = steps(STEPS - tenth + 1, STEPS)
local ratio = tail / head
print(("long run: %d steps over 4 elements; first tenth %.3f us/step, last tenth %.3f us/step, ratio %.2f; " ..
       "%d lr_history entries (%s)"):format(STEPS, head * 1e6, tail * 1e6, ratio, #opt:history("lr"):totable(),
       timing.machine()))
if ratio > MAX_RATIO then
  io.stderr:write(("long run: the last tenth is %.2f times slower than the first (limit %g)\n"):format(ratio, MAX_RATIO))
  os.exit(1)
end

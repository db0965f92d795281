-- Every device runs the optimizers to the CPU's results: the same seeded
-- multi-tensor problem, stepped on the CPU and on each other device.
local grilly = require "grilly"
local support = require "optim_support"
local ref = require "tensor_ref"

local SHAPES = { { 300 }, { 17, 5 }, { 4 } }
local STEPS = 12
local CASES = {
  { "AdamW", { lr = 0.05, amsgrad = true } },
  { "HypergradientAdamW", { lr = 0.05, beta_hyper = 0.01, log_scale = true } },
  { "AutoHypergradientAdamW", { lr = 0.05, warmup_steps = 2, adapt_momentum = true, track_surprise = true } },
  { "AutoHypergradientAdamW", { variant = "paper", warmup_steps = 1, nonfinite = "propagate", amsgrad = true } },
}

local function run(class, options, device)
  local tensors, _, grads = support.problem(5, SHAPES, device)
  local opt = grilly.optim[class](tensors, options)
  for k = 1, STEPS do opt:step(support.grads_table(tensors, grads(k), device)) end
  local seen = support.observe(opt, tensors)
  seen.directions = {}
  local d = grilly.optim.hypergradient.compute_update_directions(opt)
  for i, t in ipairs(tensors) do seen.directions[i] = ref.read(d[t]) end
  return seen
end

describe("optimizers on every device agree with the CPU", function()
  for _, device in ipairs(support.devices()) do
    if device ~= "cpu" then
      for _, case in ipairs(CASES) do
        it(("%s on %s"):format(case[1], device), function()
          support.assert_close(run(case[1], case[2], "cpu"), run(case[1], case[2], device), 1e-5, 1e-7, case[1])
        end)
      end
    end
  end
end)

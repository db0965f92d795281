-- grilly.optim: the optimizers AdamW, HypergradientAdamW and
-- AutoHypergradientAdamW, load(path, params) for an optimizer saved with
-- opt:save(path), and the helpers of grilly.optim.hypergradient.
local core = require "grilly.core"

local optim = {
  AdamW = core.optim.AdamW,
  HypergradientAdamW = core.optim.HypergradientAdamW,
  AutoHypergradientAdamW = core.optim.AutoHypergradientAdamW,
  load = core.optim.load,
}

optim.hypergradient = {
  HypergradientAdamW = core.optim.HypergradientAdamW,
  AutoHypergradientAdamW = core.optim.AutoHypergradientAdamW,
  collect_grads = core.optim.collect_grads,
  compute_update_directions = core.optim.compute_update_directions,
}

return optim

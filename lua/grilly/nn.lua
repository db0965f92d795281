-- grilly.nn: modules, losses and spiking layers for training networks in
-- Lua, Torch7-style (see docs/nn.md). The heavy work runs in C kernels
-- (grilly.core.nn) and tensor ops.
local core = require "grilly.core"

local nn = {
  Module = require "grilly.nn.module",
  Sequential = require "grilly.nn.sequential",
}

for _, part in ipairs({ "grilly.nn.layers", "grilly.nn.loss", "grilly.nn.spiking" }) do
  for name, v in pairs(require(part)) do nn[name] = v end
end

-- Writes a model's parameters (its state_dict) to a grilly tensor file,
-- atomically (grilly.save).
function nn.save(model, path)
  core.save(path, model:state_dict())
end

-- Reads parameters written by nn.save into the model, checking every name
-- and shape before copying; file errors raise as in grilly.load. Returns
-- the model.
function nn.load(model, path)
  local params = model:parameters()
  local state = core.load(path, { device = params[1] and params[1].device or nil })
  return model:load_state_dict(state)
end

return nn

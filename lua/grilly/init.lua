-- grilly: tensors and hypergradient optimizers for LuaJIT.
-- The front module: everything of grilly.core, plus the Lua-level modules.
local core = require "grilly.core"

local grilly = {}
for name, fn in pairs(core) do grilly[name] = fn end

grilly.version = "0.1.0"
grilly.optim = require "grilly.optim"
grilly.nn = require "grilly.nn"
grilly.data = require "grilly.data"

-- Lua-level modules load on first use, so that require "grilly" stays cheap.
local on_demand = { plot = "grilly.plot", train = "grilly.train", distributed = "grilly.distributed" }
setmetatable(grilly, {
  __index = function(t, key)
    local name = on_demand[key]
    if not name then return nil end
    local module = require(name)
    rawset(t, key, module)
    return module
  end,
})

return grilly

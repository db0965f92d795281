-- grilly: tensors and hypergradient optimizers for LuaJIT.
-- The front module: everything of grilly.core, plus the Lua-level modules.
local core = require "grilly.core"

local grilly = {}
for name, fn in pairs(core) do grilly[name] = fn end

grilly.version = "0.1.0"
grilly.optim = require "grilly.optim"
grilly.nn = require "grilly.nn"
grilly.data = require "grilly.data"

return grilly

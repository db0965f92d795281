-- The module protocol of grilly.nn and the class helper every module uses.
--
-- A module maps an input to an output with forward(x), and with
-- backward(x, grad_output[, need_input_grad]) adds the gradients of its
-- parameters into their .grad and returns the gradient with respect to x
-- (nil when need_input_grad is false). backward(x, ...) uses what the last
-- forward(x) kept, so it must follow a forward of the same x.
local core = require "grilly.core"

local Module = {}
Module.__index = Module
Module.__name = "Module"

-- A subclass named `name`; calling it (Class(...)) runs Class.new(...).
function Module.class(name, parent)
  parent = parent or Module
  local cls = {}
  for k, v in pairs(parent) do
    if k:find("^__") then cls[k] = v end
  end
  cls.__index = cls
  cls.__name = name
  return setmetatable(cls, {
    __index = parent,
    __call = function(c, ...) return c.new(...) end,
  })
end

-- A new instance of cls in training mode.
function Module.instance(cls, fields)
  local self = fields or {}
  self.is_training = true
  return setmetatable(self, cls)
end

-- "32x784" for a tensor of that shape ("scalar" for 0-d).
function Module.shape_str(t)
  local s = t:size()
  if #s == 0 then return "scalar" end
  return table.concat(s, "x")
end

-- Raises "<name>: <msg>" at the caller of the module method.
function Module:fail(fmt, ...)
  error(tostring(self) .. ": " .. string.format(fmt, ...), 3)
end

-- Raises unless x is a tensor; `what` names it.
function Module:check_tensor(x, what)
  if not core.is_tensor(x) then
    error(string.format("%s: %s must be a grilly.Tensor, got %s", tostring(self), what, type(x)), 3)
  end
end

-- Raises unless grad_output has the shape of the output it belongs to.
function Module:check_grad(grad_output, output)
  if output == nil then error(tostring(self) .. ": backward called before forward", 3) end
  self:check_tensor(grad_output, "grad_output")
  local gs, os = Module.shape_str(grad_output), Module.shape_str(output)
  if gs ~= os then
    error(string.format("%s: grad_output %s does not match the output %s", tostring(self), gs, os), 3)
  end
end

-- Raises unless v is an integer >= min; `what` names it.
function Module.check_count(v, what, min)
  if type(v) ~= "number" or v ~= math.floor(v) or v < min then
    error(string.format("%s must be an integer >= %d, got %s", what, min, tostring(v)), 3)
  end
end

function Module:forward(x)
  error(self.__name .. " does not implement forward", 2)
end

function Module:backward(x, grad_output, need_input_grad)
  error(self.__name .. " does not implement backward", 2)
end

-- The parameter tensors (each with a .grad), in a fixed order.
function Module:parameters()
  local list = {}
  for _, name in ipairs(self.param_names or {}) do
    if self[name] then list[#list + 1] = self[name] end
  end
  return list
end

-- Parameters by name, nested for containers: the table grilly.save writes.
function Module:state_dict()
  local state = {}
  for _, name in ipairs(self.param_names or {}) do state[name] = self[name] end
  return state
end

-- Copies the tensors of a state_dict-shaped table (a grilly.load result)
-- into the parameters. Every name and shape is checked before anything is
-- copied, so a mismatch leaves the module as it was.
function Module:load_state_dict(state)
  self:check_state(state, "")
  self:copy_state(state)
  return self
end

-- Raises unless `state` holds a tensor of the right shape for every
-- parameter; `path` is the key path of `state` for messages.
function Module:check_state(state, path)
  if type(state) ~= "table" then
    error(string.format("%s: state '%s' must be a table, got %s", tostring(self), path, type(state)), 0)
  end
  for _, name in ipairs(self.param_names or {}) do
    local p, v = self[name], state[name]
    if p then
      if not core.is_tensor(v) then
        error(string.format("%s: the state has no tensor '%s%s'", tostring(self), path, name), 0)
      end
      local ps, vs = Module.shape_str(p), Module.shape_str(v)
      if ps ~= vs then
        error(string.format("%s: shape mismatch for '%s%s': parameter %s vs state %s", tostring(self), path,
                            name, ps, vs), 0)
      end
    end
  end
end

function Module:copy_state(state)
  for _, name in ipairs(self.param_names or {}) do
    if self[name] then self[name]:copy_(state[name]) end
  end
end

function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do
    if p.grad then p.grad:fill_(0) end
  end
  return self
end

-- Training mode (mode true or nil) or evaluation mode (false), recorded in
-- is_training; Dropout is the layer that behaves differently.
function Module:train(mode)
  self.is_training = mode ~= false
  return self
end

function Module:eval() return self:train(false) end

-- Torch7's names for the two modes, which grilly.train's loop calls around
-- a validation pass.
function Module:training() return self:train(true) end
function Module:evaluate() return self:train(false) end

-- Moves the parameters to a device (before an optimizer takes them).
function Module:to(device)
  for _, name in ipairs(self.param_names or {}) do
    local p = self[name]
    if p then self[name] = p:to(device):requires_grad() end
  end
  return self
end

-- Calls forward; a module is callable like a function.
function Module:__call(x) return self:forward(x) end

function Module:__tostring() return self:describe() end

-- The one-line description used in messages and when printing a model.
function Module:describe() return self.__name .. "()" end

return Module

-- nn.Sequential: modules applied one after another.
local core = require "grilly.core"
local Module = require "grilly.nn.module"

local Sequential = Module.class("Sequential")

-- Sequential{m1, m2, ...} or Sequential(m1, m2, ...)
function Sequential.new(...)
  local list = select("#", ...) == 1 and getmetatable(...) == nil and type(...) == "table" and ... or { ... }
  local self = Module.instance(Sequential, { modules = {} })
  for i, m in ipairs(list) do
    if type(m) ~= "table" or type(m.forward) ~= "function" or type(m.backward) ~= "function" then
      error(string.format("Sequential: entry %d is not a module (got %s)", i, type(m)), 2)
    end
    self.modules[i] = m
  end
  return self
end

-- Appends a module; returns the container.
function Sequential:add(m)
  if type(m) ~= "table" or type(m.forward) ~= "function" then
    error("Sequential:add: a module expected, got " .. type(m), 2)
  end
  self.modules[#self.modules + 1] = m
  return self
end

function Sequential:forward(x)
  self.outputs = {}
  self.input_shape = core.is_tensor(x) and Module.shape_str(x) or nil
  for i, m in ipairs(self.modules) do
    x = m:forward(x)
    self.outputs[i] = x
  end
  self.output = x
  return x
end

-- Runs the modules' backward passes last to first; the first module skips
-- its input gradient when need_input_grad is false.
function Sequential:backward(x, grad_output, need_input_grad)
  if not self.outputs then error("Sequential: backward called before forward", 2) end
  -- Checked before any module adds to its parameters' gradients, so that a
  -- call that fails changes nothing.
  if not core.is_tensor(x) then error("Sequential: input must be a grilly.Tensor, got " .. type(x), 2) end
  if Module.shape_str(x) ~= self.input_shape then
    error(string.format("Sequential: input %s is not the shape of the last forward's input, %s", Module.shape_str(x),
                        tostring(self.input_shape)), 2)
  end
  if not core.is_tensor(grad_output) then
    error("Sequential: grad_output must be a grilly.Tensor, got " .. type(grad_output), 2)
  end
  if Module.shape_str(grad_output) ~= Module.shape_str(self.output) then
    error(string.format("Sequential: grad_output %s does not match the output %s", Module.shape_str(grad_output),
                        Module.shape_str(self.output)), 2)
  end
  local g = grad_output
  for i = #self.modules, 1, -1 do
    local input = i > 1 and self.outputs[i - 1] or x
    g = self.modules[i]:backward(input, g, i > 1 or need_input_grad)
  end
  return g
end

function Sequential:parameters()
  local list = {}
  for _, m in ipairs(self.modules) do
    for _, p in ipairs(m:parameters()) do list[#list + 1] = p end
  end
  return list
end

function Sequential:state_dict()
  local state = {}
  for i, m in ipairs(self.modules) do
    local s = m:state_dict()
    if next(s) then state[i] = s end
  end
  return state
end

function Sequential:check_state(state, path)
  if type(state) ~= "table" then
    error(string.format("%s: state '%s' must be a table, got %s", tostring(self), path, type(state)), 0)
  end
  for i, m in ipairs(self.modules) do
    if #m:parameters() > 0 then m:check_state(state[i], path .. i .. ".") end
  end
end

function Sequential:copy_state(state)
  for i, m in ipairs(self.modules) do
    if #m:parameters() > 0 then m:copy_state(state[i]) end
  end
end

function Sequential:train(mode)
  self.is_training = mode ~= false
  for _, m in ipairs(self.modules) do m:train(mode) end
  return self
end

function Sequential:to(device)
  for _, m in ipairs(self.modules) do m:to(device) end
  return self
end

function Sequential:describe()
  local lines = { "Sequential(" }
  for i, m in ipairs(self.modules) do
    local d = tostring(m):gsub("\n", "\n  ")
    lines[#lines + 1] = string.format("  (%d): %s", i, d)
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

return Sequential

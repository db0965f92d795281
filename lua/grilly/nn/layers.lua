-- Layers of grilly.nn: Linear, the activations ReLU, Tanh and Sigmoid,
-- Flatten and Dropout.
local core = require "grilly.core"
local Module = require "grilly.nn.module"

local kernels = core.nn
local shape_str = Module.shape_str

local layers = {}

local check_count = Module.check_count

---------------------------------------------------------------------- Linear

local Linear = Module.class("Linear")
layers.Linear = Linear

-- Weight initialisations of a (fan_out x fan_in) matrix.
local inits = {
  kaiming = function(w, fan_in, fan_out) w:uniform_(-math.sqrt(6 / fan_in), math.sqrt(6 / fan_in)) end,
  kaiming_normal = function(w, fan_in, fan_out) w:normal_(0, math.sqrt(2 / fan_in)) end,
  xavier = function(w, fan_in, fan_out)
    local b = math.sqrt(6 / (fan_in + fan_out))
    w:uniform_(-b, b)
  end,
  xavier_normal = function(w, fan_in, fan_out) w:normal_(0, math.sqrt(2 / (fan_in + fan_out))) end,
}

-- Linear(in_features, out_features[, {bias = true, init = "kaiming", device = ...}])
-- y = x W^T + b over the last dimension of x; W is out_features x in_features.
function Linear.new(in_features, out_features, opts)
  check_count(in_features, "Linear: in_features", 1)
  check_count(out_features, "Linear: out_features", 1)
  opts = opts or {}
  if type(opts) ~= "table" then error("Linear: options must be a table, got " .. type(opts), 2) end
  local init = opts.init or "kaiming"
  if not inits[init] then
    error(string.format("Linear: option 'init' must be one of kaiming, kaiming_normal, xavier, xavier_normal "
                        .. "(got %s)", tostring(init)), 2)
  end
  local dev = { device = opts.device }
  local w = core.empty(out_features, in_features, dev)
  inits[init](w, in_features, out_features)
  local self = Module.instance(Linear, {
    in_features = in_features,
    out_features = out_features,
    weight = w:requires_grad(),
    param_names = { "weight", "bias" },
  })
  if opts.bias ~= false then self.bias = core.zeros(out_features, dev):requires_grad() end
  return self
end

function Linear:describe()
  return string.format("Linear(%d -> %d%s)", self.in_features, self.out_features, self.bias and "" or ", no bias")
end

function Linear:check_input(x)
  self:check_tensor(x, "input")
  if x:dim() < 1 or x:size(-1) ~= self.in_features then
    self:fail("expected input of shape ... x %d, got %s", self.in_features, shape_str(x))
  end
end

function Linear:forward(x)
  self:check_input(x)
  self.output = kernels.linear_forward(x, self.weight, self.bias)
  return self.output
end

function Linear:backward(x, grad_output, need_input_grad)
  self:check_input(x)
  self:check_tensor(grad_output, "grad_output")
  local expect = x:size()
  expect[#expect] = self.out_features
  if shape_str(grad_output) ~= table.concat(expect, "x") then
    self:fail("grad_output %s does not match the output %s", shape_str(grad_output), table.concat(expect, "x"))
  end
  local w, b = self.weight, self.bias
  return kernels.linear_backward(x, w, grad_output, w.grad, b and b.grad, need_input_grad ~= false)
end

----------------------------------------------------------------- activations

local function activation(name, method, kernel)
  local cls = Module.class(name)
  function cls.new() return Module.instance(cls) end
  function cls:forward(x)
    self:check_tensor(x, "input")
    self.output = x[method](x)
    return self.output
  end
  function cls:backward(x, grad_output, need_input_grad)
    self:check_grad(grad_output, self.output)
    if need_input_grad == false then return nil end
    return kernels.activation_backward(kernel, self.output, grad_output)
  end
  return cls
end

layers.ReLU = activation("ReLU", "relu", "relu")
layers.Tanh = activation("Tanh", "tanh", "tanh")
layers.Sigmoid = activation("Sigmoid", "sigmoid", "sigmoid")

--------------------------------------------------------------------- Flatten

local Flatten = Module.class("Flatten")
layers.Flatten = Flatten

-- Flatten([start_dim = 2[, end_dim = -1]]): merges dimensions start_dim to
-- end_dim (1-based, negative from the end) into one; a view, no copy.
function Flatten.new(start_dim, end_dim)
  start_dim, end_dim = start_dim or 2, end_dim or -1
  for _, d in ipairs({ start_dim, end_dim }) do
    if type(d) ~= "number" or d ~= math.floor(d) or d == 0 then
      error("Flatten: dimensions must be non-zero integers, got " .. tostring(d), 2)
    end
  end
  return Module.instance(Flatten, { start_dim = start_dim, end_dim = end_dim })
end

function Flatten:describe() return string.format("Flatten(%d, %d)", self.start_dim, self.end_dim) end

function Flatten:forward(x)
  self:check_tensor(x, "input")
  local s, n = x:size(), x:dim()
  local a = self.start_dim < 0 and self.start_dim + n + 1 or self.start_dim
  local b = self.end_dim < 0 and self.end_dim + n + 1 or self.end_dim
  if a < 1 or b > n or a > b then
    self:fail("cannot flatten dimensions %d to %d of an input of shape %s", self.start_dim, self.end_dim, shape_str(x))
  end
  local shape = {}
  for i = 1, a - 1 do shape[#shape + 1] = s[i] end
  local merged = 1
  for i = a, b do merged = merged * s[i] end
  shape[#shape + 1] = merged
  for i = b + 1, n do shape[#shape + 1] = s[i] end
  self.output = x:view(shape)
  return self.output
end

function Flatten:backward(x, grad_output, need_input_grad)
  self:check_grad(grad_output, self.output)
  if need_input_grad == false then return nil end
  return grad_output:view(x:size())
end

--------------------------------------------------------------------- Dropout

local Dropout = Module.class("Dropout")
layers.Dropout = Dropout

-- Dropout([p = 0.5]): in training, zeroes each element with probability p
-- and scales the rest by 1/(1-p); in evaluation, the identity.
function Dropout.new(p)
  p = p or 0.5
  if type(p) ~= "number" or not (p >= 0 and p < 1) then
    error("Dropout: p must be a number in [0, 1), got " .. tostring(p), 2)
  end
  return Module.instance(Dropout, { p = p })
end

function Dropout:describe() return string.format("Dropout(%g)", self.p) end

function Dropout:forward(x)
  self:check_tensor(x, "input")
  if self.is_training and self.p > 0 then
    self.mask = kernels.dropout_mask(x, self.p)
    self.output = x * self.mask
  else
    self.mask = nil
    self.output = x
  end
  return self.output
end

function Dropout:backward(x, grad_output, need_input_grad)
  self:check_grad(grad_output, self.output)
  if need_input_grad == false then return nil end
  return self.mask and grad_output * self.mask or grad_output
end

return layers

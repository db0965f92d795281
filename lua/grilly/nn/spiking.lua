-- Spiking layers of grilly.nn: LIF and IF neurons trained through time
-- with surrogate gradients, spike encoders and readouts. Spiking tensors
-- are time-major: (T, batch, features...).
local core = require "grilly.core"
local Module = require "grilly.nn.module"

local kernels = core.nn
local shape_str = Module.shape_str

local spiking = {}

-- Default surrogate sharpness per surrogate.
local default_alpha = { atan = 2, sigmoid = 4, fast_sigmoid = 2 }

local function option_error(cls, name, expected, got)
  error(string.format("%s: option '%s' must be %s, got %s", cls, name, expected, tostring(got)), 4)
end

local function check_number(cls, opts, name, default, ok, expected)
  local v = opts[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or not ok(v) then option_error(cls, name, expected, v) end
  return v
end

local function check_bool(cls, opts, name)
  local v = opts[name]
  if v ~= nil and type(v) ~= "boolean" then option_error(cls, name, "a boolean", v) end
  return v == true
end

local function finite(v) return v > -math.huge and v < math.huge end

local neuron_options = {
  LIF = { "tau", "v_threshold", "v_reset", "surrogate", "alpha", "decay_input", "detach_reset" },
  IF = { "v_threshold", "v_reset", "surrogate", "alpha", "detach_reset" },
  MembraneReadout = { "tau", "decay_input", "reduce" },
}

-- Raises on an option key that cls does not have.
local function check_keys(cls, opts)
  if opts ~= nil and type(opts) ~= "table" then error(cls .. ": options must be a table, got " .. type(opts), 4) end
  for key in pairs(opts or {}) do
    local known = false
    for _, k in ipairs(neuron_options[cls]) do known = known or k == key end
    if not known then
      error(string.format("%s: unknown option '%s' (known: %s)", cls, tostring(key),
                          table.concat(neuron_options[cls], ", ")), 4)
    end
  end
  return opts or {}
end

-- The kernel parameters of a LIF-type layer from its options; leaky false
-- means no leak (IF).
local function neuron_params(cls, opts, leaky)
  local tau = leaky and check_number(cls, opts, "tau", 2, function(v) return v >= 1 and finite(v) end,
                                     "a finite number >= 1") or nil
  local surrogate = opts.surrogate or "atan"
  if not default_alpha[surrogate] then
    option_error(cls, "surrogate", "'atan', 'sigmoid' or 'fast_sigmoid'", surrogate)
  end
  local v_reset = check_number(cls, opts, "v_reset", nil, finite, "a finite number or nil (soft reset)")
  local decay_input = leaky and check_bool(cls, opts, "decay_input")
  local p = {
    tau = tau,
    decay = tau and 1 - 1 / tau or 1,
    input_scale = decay_input and 1 / tau or 1,
    decay_input = decay_input,
    v_threshold = check_number(cls, opts, "v_threshold", 1, finite, "a finite number"),
    v_reset = v_reset or 0,
    v_rest = v_reset or 0,
    hard_reset = v_reset ~= nil,
    detach_reset = check_bool(cls, opts, "detach_reset"),
    surrogate = surrogate,
    alpha = check_number(cls, opts, "alpha", default_alpha[surrogate], function(v) return v > 0 and finite(v) end,
                         "a finite number > 0"),
    output = "spikes",
  }
  return p
end

local function check_time_major(self, x)
  self:check_tensor(x, "input")
  if x:dim() < 2 then self:fail("expected input of shape time x batch x ..., got %s", shape_str(x)) end
end

------------------------------------------------------------------ LIF and IF

local LIF = Module.class("LIF")
spiking.LIF = LIF

-- LIF{tau = 2, v_threshold = 1, v_reset = nil (soft reset) or a number (hard
-- reset to it), surrogate = "atan" | "sigmoid" | "fast_sigmoid", alpha,
-- decay_input = false, detach_reset = false}
function LIF.new(opts)
  opts = check_keys("LIF", opts)
  return Module.instance(LIF, { params = neuron_params("LIF", opts, true) })
end

function LIF:describe()
  local p = self.params
  return string.format("%s(%sv_threshold=%g, %s, %s(alpha=%g)%s%s)", self.__name,
                       p.tau and string.format("tau=%g, ", p.tau) or "", p.v_threshold,
                       p.hard_reset and ("v_reset=" .. p.v_reset) or "soft reset", p.surrogate, p.alpha,
                       p.decay_input and ", decay_input" or "", p.detach_reset and ", detach_reset" or "")
end

function LIF:forward(x)
  check_time_major(self, x)
  self.output, self.membrane = kernels.lif_forward(x, self.params)
  return self.output
end

function LIF:backward(x, grad_output, need_input_grad)
  self:check_grad(grad_output, self.output)
  if need_input_grad == false then return nil end
  return kernels.lif_backward(self.membrane, grad_output, self.params)
end

local IF = Module.class("IF", LIF)
spiking.IF = IF

-- IF{v_threshold = 1, v_reset, surrogate, alpha, detach_reset}: integrate
-- and fire, a LIF neuron without leak.
function IF.new(opts)
  opts = check_keys("IF", opts)
  return Module.instance(IF, { params = neuron_params("IF", opts, false) })
end

-------------------------------------------------------------------- encoders

-- x (batch, ...) repeated over `steps` time steps: (steps, batch, ...).
local function repeat_time(x, steps)
  local s, ones = x:size(), { steps }
  table.insert(s, 1, 1)
  for i = 2, #s do ones[i] = 1 end
  return x:view(s) + core.zeros(ones, { device = x.device })
end

local function check_steps(cls, steps)
  Module.check_count(steps, cls .. ": steps", 1)
  return steps
end

local encode = {}
spiking.encode = encode

-- Direct coding: the input itself at every step.
function encode.direct(x, steps)
  check_steps("encode.direct", steps)
  return repeat_time(x, steps)
end

-- Rate coding: at each step an independent spike with probability x
-- (clamped to [0, 1]), drawn from grilly's generator.
function encode.rate(x, steps)
  check_steps("encode.rate", steps)
  return kernels.bernoulli(repeat_time(x, steps))
end

-- Latency coding: one spike per input above threshold (default 0), the
-- brighter the earlier: at step 1 + round((steps - 1) * (1 - min(x, 1))).
function encode.latency(x, steps, threshold)
  check_steps("encode.latency", steps)
  return kernels.latency_encode(x, steps, threshold or 0)
end

local function encoder(name, fn, backward)
  local cls = Module.class(name)
  function cls.new(steps, threshold)
    return Module.instance(cls, { steps = check_steps(name, steps), threshold = threshold })
  end
  function cls:describe() return string.format("%s(steps=%d)", name, self.steps) end
  function cls:forward(x)
    self:check_tensor(x, "input")
    self.output = fn(x, self.steps, self.threshold)
    return self.output
  end
  function cls:backward(x, grad_output, need_input_grad)
    self:check_grad(grad_output, self.output)
    if need_input_grad == false or not backward then return nil end
    return grad_output:sum(1)
  end
  spiking[name] = cls
end

-- The gradient of a direct code is the sum over steps; rate coding passes
-- the same sum straight through (the gradient of its expectation inside
-- [0, 1]); latency coding has none (backward returns nil).
encoder("DirectEncoder", encode.direct, true)
encoder("RateEncoder", encode.rate, true)
encoder("LatencyEncoder", encode.latency, false)

-------------------------------------------------------------------- readouts

local SpikeCount = Module.class("SpikeCount")
spiking.SpikeCount = SpikeCount

-- SpikeCount([{mean = false}]): (T, batch, ...) -> (batch, ...), the number
-- of spikes over time, or the firing rate with mean = true.
function SpikeCount.new(opts)
  opts = opts or {}
  return Module.instance(SpikeCount, { mean = check_bool("SpikeCount", opts, "mean") })
end

function SpikeCount:describe() return self.mean and "SpikeCount(mean)" or "SpikeCount()" end

function SpikeCount:forward(x)
  check_time_major(self, x)
  self.output = self.mean and x:mean(1) or x:sum(1)
  return self.output
end

function SpikeCount:backward(x, grad_output, need_input_grad)
  self:check_grad(grad_output, self.output)
  if need_input_grad == false then return nil end
  local g = repeat_time(grad_output, x:size(1))
  return self.mean and g:div_(x:size(1)) or g
end

local MembraneReadout = Module.class("MembraneReadout")
spiking.MembraneReadout = MembraneReadout

-- MembraneReadout([{tau = 2, decay_input = false, reduce = "mean" | "last"}]):
-- non-firing leaky integrators driven by the input; (T, batch, ...) ->
-- (batch, ...), their membrane potential averaged over time or at the last step.
function MembraneReadout.new(opts)
  opts = check_keys("MembraneReadout", opts)
  local reduce = opts.reduce or "mean"
  if reduce ~= "mean" and reduce ~= "last" then option_error("MembraneReadout", "reduce", "'mean' or 'last'", reduce) end
  local p = neuron_params("MembraneReadout", { tau = opts.tau, decay_input = opts.decay_input }, true)
  p.output = "membrane"
  return Module.instance(MembraneReadout, { params = p, reduce = reduce })
end

function MembraneReadout:describe()
  return string.format("MembraneReadout(tau=%g, %s%s)", self.params.tau, self.reduce,
                       self.params.decay_input and ", decay_input" or "")
end

function MembraneReadout:forward(x)
  check_time_major(self, x)
  local v
  v, self.membrane = kernels.lif_forward(x, self.params)
  self.output = self.reduce == "mean" and v:mean(1) or v:select(1, x:size(1))
  return self.output
end

function MembraneReadout:backward(x, grad_output, need_input_grad)
  self:check_grad(grad_output, self.output)
  if need_input_grad == false then return nil end
  local steps = x:size(1)
  local g
  if self.reduce == "mean" then
    g = repeat_time(grad_output, steps):div_(steps)
  else
    g = core.zeros(x:size(), { device = x.device })
    g[steps] = grad_output
  end
  return kernels.lif_backward(self.membrane, g, self.params)
end

return spiking

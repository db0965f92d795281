-- A plain-Lua, float64 reference of the optimizer contract (docs/optimizer-spec.md):
-- AdamW, HypergradientAdamW and AutoHypergradientAdamW with every option. Specs drive it
-- side by side with the C optimizers; it favours being a literal reading of the text over
-- speed. Everything (parameters, moments, scalars) is a Lua double.
--
--   local R = require "optim_reference"
--   local x1, x2 = {1, 2, 3}, {0.5}               -- parameters: arrays of numbers
--   local opt = R.new("AutoHypergradientAdamW", {x1, x2}, {lr = 1e-2, track_surprise = true})
--   opt:step({g1, false})        -- one gradient per parameter, by position; false or nil:
--                                -- that parameter has no gradient this step
--   local loss = opt:step(closure, grads)   -- the closure runs first; step returns its value
--   x1[1]                        -- parameters are updated in place
--   opt:get("current_lr")        -- a property or option (nil when the class has none)
--   opt:set("hyper_lr", 0.02)    -- writes with construction's validation
--   opt.state                    -- t, lr, beta1, beta2, P, skipped_steps, lr_history,
--                                -- on AutoHypergradientAdamW also G_lr, G_beta, prev_norm,
--                                -- var_ema, S, Sbar, gain and the other histories,
--                                -- used_beta1/used_beta2 (the betas of the last step), and
--                                -- per_param[i] = {m, v, vmax, ema_g} (absent until created)
--   opt.options                  -- every option, defaults and preset resolved; lr and betas
--                                -- there are the construction values, the ones in use are
--                                -- state.lr, state.beta1 and state.beta2
--   local snap = opt:snapshot()  -- deep copy of options and state (not the parameters)
--   opt:restore(snap)            -- validated, then replaces options and state
--   opt:directions()             -- the current Adam direction d per parameter
--   R.dot(a, b)                  -- sum of a[j] * b[j] over two arrays, in double
--   R.copy(x)                    -- deep copy of a table (arrays of parameters, snapshots)
--
-- Parameters may also be given as groups: {{params = {x1, x2}}, {params = {x3}}}.
-- Properties for get(): current_lr (= lr), beta1, beta2, betas, step_count (= t),
-- skipped_steps, lr_history, and on AutoHypergradientAdamW current_surprise (S),
-- accumulated_surprise (Sbar), current_surprise_gain (gain), beta1_history,
-- surprise_history, s_bar_history; any option; any scalar of state (G_lr, var_ema, ...).
-- Histories are returned as copies.
local R = {}

local CLASSES = {
  AdamW = { hyper = false, auto = false },
  HypergradientAdamW = { hyper = true, auto = false },
  AutoHypergradientAdamW = { hyper = false, auto = true },
}

local function finite(x) return type(x) == "number" and x == x and x > -math.huge and x < math.huge end

-- Option checks: each returns nil when value is acceptable, else what was expected.
local function positive(x) if not finite(x) or x <= 0 then return "a finite number > 0" end end
local function nonneg(x) if not finite(x) or x < 0 then return "a finite number >= 0" end end
local function unit_closed(x) if not finite(x) or x < 0 or x > 1 then return "a number in [0, 1]" end end
local function unit_open(x) if not finite(x) or x < 0 or x >= 1 then return "a number in [0, 1)" end end
local function boolean(x) if type(x) ~= "boolean" then return "a boolean" end end
local function count(x)
  if not finite(x) or x < 0 or x ~= math.floor(x) then return "an integer >= 0" end
end
local function positive_or_false(x)
  if x ~= false and positive(x) then return "a finite number > 0 or false" end
end
local function one_of(...)
  local allowed, text = {}, {}
  for _, v in ipairs { ... } do allowed[v] = true; text[#text + 1] = '"' .. v .. '"' end
  local expected = "one of " .. table.concat(text, ", ")
  return function(x) if not allowed[x] then return expected end end
end
local function beta_pair(x)
  if type(x) ~= "table" or #x ~= 2 or unit_open(x[1]) or unit_open(x[2]) then
    return "a pair {beta1, beta2} of numbers in [0, 1)"
  end
end

-- name -> {default, check, classes}: "all", "hyper" (HypergradientAdamW), "auto",
-- "adaptive" (both hypergradient classes).
local OPTIONS = {
  lr = { 1e-3, positive, "all" },
  betas = { { 0.9, 0.999 }, beta_pair, "all" },
  eps = { 1e-8, nonneg, "all" },
  weight_decay = { 0.01, nonneg, "all" },
  amsgrad = { false, boolean, "all" },
  bias_correction = { "power", one_of("power", "product"), "all" },
  nonfinite = { "skip", one_of("skip", "error", "propagate"), "all" },
  beta_hyper = { 1e-7, nonneg, "hyper" },
  log_scale = { false, boolean, "hyper" },
  lr_min = { 1e-6, positive, "adaptive" },
  lr_max = { 1.0, positive, "adaptive" },
  hyper_lr = { 0.01, nonneg, "auto" },
  hyper_lr_beta = { 1.0, nonneg, "auto" },
  adapt_momentum = { false, boolean, "auto" },
  track_surprise = { false, boolean, "auto" },
  surprise_gamma = { 0.9, unit_closed, "auto" },
  surprise_alpha = { 0.1, unit_closed, "auto" },
  trauma_threshold = { 0.5, positive, "auto" },
  beta_min = { 0.5, unit_open, "auto" },
  beta_max = { 0.9995, unit_open, "auto" },
  warmup_steps = { 10, count, "auto" },
  normalizer = { "direction", one_of("direction", "gradient"), "auto" },
  accumulator = { "ema", one_of("ema", "sum"), "auto" },
  h_clip = { 1, positive_or_false, "auto" },
  max_lr_change = { 0.1, positive_or_false, "auto" },
  variant = { "grilly", one_of("grilly", "grilly-v2", "paper"), "auto" },
}

R.PRESETS = {
  grilly = {},
  ["grilly-v2"] = { normalizer = "gradient" },
  paper = { normalizer = "gradient", accumulator = "sum", h_clip = false, max_lr_change = false },
}

local function applies(spec, class)
  local scope = spec[3]
  return scope == "all" or (scope == "hyper" and class.hyper) or (scope == "auto" and class.auto)
      or (scope == "adaptive" and (class.hyper or class.auto))
end

local function copy(x)
  if type(x) ~= "table" then return x end
  local c = {}
  for k, v in pairs(x) do c[k] = copy(v) end
  return c
end
R.copy = copy

local function show(x)
  if type(x) == "table" then
    local parts = {}
    for i, v in ipairs(x) do parts[i] = tostring(v) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(x)
end

local function check_option(class_name, name, value)
  local spec = OPTIONS[name]
  if not spec or not applies(spec, CLASSES[class_name]) then
    error(string.format("%s: unknown option '%s'", class_name, tostring(name)), 3)
  end
  local expected = spec[2](value)
  if expected then
    error(string.format("%s: option '%s' must be %s (got %s)", class_name, name, expected,
      show(value)), 3)
  end
end

local function check_ranges(class_name, o)
  if o.lr_min and o.lr_min > o.lr_max then
    error(string.format("%s: option 'lr_min' must be <= lr_max (got %s > %s)", class_name,
      o.lr_min, o.lr_max), 3)
  end
  if o.beta_min and o.beta_min > o.beta_max then
    error(string.format("%s: option 'beta_min' must be <= beta_max (got %s > %s)", class_name,
      o.beta_min, o.beta_max), 3)
  end
end

local function flatten_params(class_name, params)
  if type(params) ~= "table" then
    error(class_name .. ": parameters must be an array of arrays or param groups", 3)
  end
  local flat = {}
  for _, entry in ipairs(params) do
    local list = (type(entry) == "table" and type(entry.params) == "table") and entry.params
                 or { entry }
    for _, p in ipairs(list) do
      if type(p) ~= "table" then
        error(class_name .. ": each parameter must be an array of numbers", 3)
      end
      flat[#flat + 1] = p
    end
  end
  return flat
end

local Opt = {}
Opt.__index = Opt

function R.new(class_name, params, opts)
  local class = CLASSES[class_name]
  if not class then error("unknown optimizer class '" .. tostring(class_name) .. "'", 2) end
  opts = opts or {}
  for name, value in pairs(opts) do check_option(class_name, name, value) end
  local o = {}
  for name, spec in pairs(OPTIONS) do
    if applies(spec, class) then o[name] = copy(spec[1]) end
  end
  if class.auto then
    for name, value in pairs(R.PRESETS[opts.variant or "grilly"]) do o[name] = value end
  end
  for name, value in pairs(opts) do o[name] = copy(value) end
  check_ranges(class_name, o)

  local self = setmetatable({ class_name = class_name, class = class, options = o,
                              params = flatten_params(class_name, params) }, Opt)
  local s = {
    t = 0, lr = o.lr, beta1 = o.betas[1], beta2 = o.betas[2], P = 1,
    used_beta1 = o.betas[1], used_beta2 = o.betas[2],
    skipped_steps = 0, lr_history = { o.lr }, per_param = {},
  }
  if class.auto then
    local g0 = (o.accumulator == "sum") and 0 or 1
    s.G_lr, s.G_beta, s.prev_norm, s.var_ema, s.S, s.Sbar, s.gain = g0, g0, 0, 0, 0, 0, 0
    s.beta1_history, s.surprise_history, s.s_bar_history = { o.betas[1] }, {}, {}
  end
  for i = 1, #self.params do s.per_param[i] = {} end
  self.state = s
  return self
end

local function clamp(x, lo, hi)
  -- NaN passes through, as numpy's clip does.
  if x < lo then return lo elseif x > hi then return hi end
  return x
end

local function clip(x, c)
  if c == false then return x end
  return clamp(x, -c, c)
end

-- 1 - b1^t, or 1 - P_t with product bias correction.
local function bias1(self, beta1, t, P)
  if self.options.bias_correction == "product" then return 1 - P end
  return 1 - beta1 ^ t
end

-- The bias-correction denominators of d_prev: t - 1 and the betas that the previous step
-- used (a beta written since then does not change the previous direction).
local function prev_bias(self)
  local s = self.state
  return bias1(self, s.used_beta1, s.t - 1, s.P), 1 - s.used_beta2 ^ (s.t - 1)
end

-- The Adam direction of parameter i from its m and v (vmax with amsgrad), given the
-- bias-correction denominators; zero for a parameter that has no moments yet.
local function direction(self, i, bc1, bc2)
  local st, n = self.state.per_param[i], #self.params[i]
  local d = {}
  if not st.m then
    for j = 1, n do d[j] = 0 end
    return d
  end
  local v = self.options.amsgrad and st.vmax or st.v    -- no vmax yet: amsgrad just turned on
  local eps = self.options.eps
  for j = 1, n do d[j] = (st.m[j] / bc1) / (math.sqrt(v[j] / bc2) + eps) end
  return d
end

-- sum of a[j] * b[j] in double; exported as R.dot for specs.
local function dot(a, b)
  local s = 0
  for j = 1, #a do s = s + a[j] * b[j] end
  return s
end
R.dot = dot

-- Validates the gradients; returns them by position (false for none) and whether any
-- element is non-finite.
local function collect(self, grads)
  if grads ~= nil and type(grads) ~= "table" then
    error("bad argument to 'step' (table of gradients expected, got " .. type(grads) .. ")", 3)
  end
  local out, nonfinite = {}, false
  for i, p in ipairs(self.params) do
    local g = grads and grads[i]
    if g then
      if type(g) ~= "table" or #g ~= #p then
        error(string.format("bad gradient #%d to 'step' (shape mismatch: %s vs %d)", i,
          type(g) == "table" and #g or type(g), #p), 3)
      end
      for j = 1, #g do
        if type(g[j]) ~= "number" then
          error(string.format("bad gradient #%d to 'step' (element %d is not a number)", i, j), 3)
        end
        if not finite(g[j]) then nonfinite = true end
      end
    end
    out[i] = g or false
  end
  return out, nonfinite
end

-- The HypergradientAdamW rule (Baydin et al.): lr += beta_hyper * sum(g * d_prev).
local function adapt_hyper(self, grads, k0)
  local o, s = self.options, self.state
  if k0 < 1 then return end
  local bc1, bc2 = prev_bias(self)
  local h = 0
  for i, g in ipairs(grads) do
    if g then h = h + dot(g, direction(self, i, bc1, bc2)) end
  end
  if o.log_scale then
    s.lr = math.exp(clamp(math.log(s.lr) + o.beta_hyper * h, math.log(o.lr_min), math.log(o.lr_max)))
  else
    s.lr = clamp(s.lr + o.beta_hyper * h, o.lr_min, o.lr_max)
  end
  s.lr_history[#s.lr_history + 1] = s.lr
end

-- Block A of AutoHypergradientAdamW: the surprise signal and the gradient EMA.
local function surprise(self, grads, k0)
  local o, s = self.options, self.state
  if not (o.track_surprise and k0 >= o.warmup_steps) then return end
  local gamma = o.surprise_gamma
  local n2, e2 = 0, 0
  for i, g in ipairs(grads) do
    if g then
      local ema = s.per_param[i].ema_g
      for j = 1, #g do
        n2 = n2 + g[j] * g[j]
        local diff = ema and (g[j] - ema[j]) or g[j]
        e2 = e2 + diff * diff
      end
    end
  end
  if s.var_ema == 0 and k0 == o.warmup_steps then
    s.var_ema = n2
  else
    s.var_ema = gamma * s.var_ema + (1 - gamma) * n2
  end
  s.S = math.tanh(e2 / (s.var_ema + 1e-12))
  s.surprise_history[#s.surprise_history + 1] = s.S
  s.Sbar = o.surprise_alpha * s.S + (1 - o.surprise_alpha) * s.Sbar
  s.s_bar_history[#s.s_bar_history + 1] = s.Sbar
  s.gain = s.Sbar * math.exp(-s.Sbar / o.trauma_threshold)
  for i, g in ipairs(grads) do
    if g then
      local st = s.per_param[i]
      if st.ema_g then
        for j = 1, #g do st.ema_g[j] = gamma * st.ema_g[j] + (1 - gamma) * g[j] end
      else
        st.ema_g = copy(g)
      end
    end
  end
end

local function accumulate(self, G, h)
  if self.options.accumulator == "sum" then return G + h * h end
  return 0.99 * G + 0.01 * h * h
end

-- Block B of AutoHypergradientAdamW: lr (and beta1) adaptation.
local function adapt_auto(self, grads, k0)
  local o, s = self.options, self.state
  if not (k0 >= o.warmup_steps and k0 >= 1 and s.prev_norm > 1e-12) then return end
  local N = s.prev_norm
  local bc1, bc2 = prev_bias(self)
  local gd, gm = 0, 0
  for i, g in ipairs(grads) do
    if g then
      gd = gd + dot(g, direction(self, i, bc1, bc2))
      local m = s.per_param[i].m
      if m then gm = gm + dot(g, m) end
    end
  end
  local h = clip(-gd / N, o.h_clip)
  s.G_lr = accumulate(self, s.G_lr, h)
  local lr = s.lr
  local target = lr - o.hyper_lr * h / (math.sqrt(s.G_lr) + 1e-12)
  if o.max_lr_change and math.abs(target - lr) > o.max_lr_change * lr then
    target = lr + (target > lr and 1 or -1) * o.max_lr_change * lr
  end
  s.lr = clamp(target, o.lr_min, o.lr_max)
  s.lr_history[#s.lr_history + 1] = s.lr
  if o.adapt_momentum then
    local hb = clip(gm / N, o.h_clip)
    s.G_beta = accumulate(self, s.G_beta, hb)
    s.beta1 = clamp(s.beta1 - o.hyper_lr_beta * hb / (math.sqrt(s.G_beta) + 1e-12),
                    o.beta_min, o.beta_max)
    s.beta1_history[#s.beta1_history + 1] = s.beta1
  end
end

-- The AdamW update of every parameter with a gradient, with the global t already advanced.
local function adamw_update(self, grads)
  local o, s = self.options, self.state
  local b1, b2, lr, t = s.beta1, s.beta2, s.lr, s.t
  s.P = s.P * b1
  s.used_beta1, s.used_beta2 = b1, b2
  local bc1, bc2 = bias1(self, b1, t, s.P), 1 - b2 ^ t
  local decay, step_size = 1 - lr * o.weight_decay, lr / bc1
  for i, g in ipairs(grads) do
    if g then
      local p, st, n = self.params[i], s.per_param[i], #self.params[i]
      if not st.m then
        st.m, st.v = {}, {}
        for j = 1, n do st.m[j], st.v[j] = 0, 0 end
      end
      if o.amsgrad and not st.vmax then
        st.vmax = {}
        for j = 1, n do st.vmax[j] = 0 end
      end
      local m, v, vmax = st.m, st.v, st.vmax
      for j = 1, n do
        m[j] = b1 * m[j] + (1 - b1) * g[j]
        v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j]
        local vv = v[j]
        if o.amsgrad then
          if vv > vmax[j] then vmax[j] = vv end
          vv = vmax[j]
        end
        local den = math.sqrt(vv / bc2) + o.eps
        p[j] = p[j] * decay
        p[j] = p[j] - step_size * m[j] / den
      end
    end
  end
end

-- Step D: the normaliser for the next step, refreshed on every step.
local function refresh_norm(self, grads)
  local s = self.state
  local sum = 0
  if self.options.normalizer == "gradient" then
    for _, g in ipairs(grads) do
      if g then sum = sum + dot(g, g) end
    end
  else
    for _, d in ipairs(self:directions()) do sum = sum + dot(d, d) end
  end
  s.prev_norm = sum
end

function Opt:step(a, b)
  local closure, grads = nil, a
  if type(a) == "function" then closure, grads = a, b end
  local result
  if closure then result = closure() end
  local g, nonfinite = collect(self, grads)
  if nonfinite then
    local policy = self.options.nonfinite
    if policy == "skip" then
      self.state.skipped_steps = self.state.skipped_steps + 1
      return result
    elseif policy == "error" then
      error(self.class_name .. ": non-finite gradient (nonfinite = \"error\")", 2)
    end
  end
  local s = self.state
  local k0 = s.t
  s.t = k0 + 1
  if self.class.auto then
    surprise(self, g, k0)
    adapt_auto(self, g, k0)
  elseif self.class.hyper then
    adapt_hyper(self, g, k0)
  end
  adamw_update(self, g)
  if self.class.auto then refresh_norm(self, g) end
  return result
end

-- The current direction d per parameter (zeros where there are no moments yet).
function Opt:directions()
  local s = self.state
  local out = {}
  local bc1, bc2 = bias1(self, s.beta1, s.t, s.P), 1 - s.beta2 ^ s.t
  for i = 1, #self.params do out[i] = direction(self, i, bc1, bc2) end
  return out
end

local PROPERTIES = {
  current_lr = function(s) return s.lr end,
  step_count = function(s) return s.t end,
  betas = function(s) return { s.beta1, s.beta2 } end,
}
local STATE_NAMES = {
  current_surprise = "S", accumulated_surprise = "Sbar", current_surprise_gain = "gain",
}

function Opt:get(name)
  local s = self.state
  if PROPERTIES[name] then return PROPERTIES[name](s) end
  if STATE_NAMES[name] then return s[STATE_NAMES[name]] end
  if name ~= "per_param" and s[name] ~= nil then return copy(s[name]) end
  return copy(self.options[name])
end

-- Hyperparameters whose value in use lives in state (adaptation changes them).
local STATE_FIELDS = { lr = true, beta1 = true, beta2 = true }

function Opt:set(name, value)
  local s, o = self.state, self.options
  if STATE_FIELDS[name] then
    local expected = (name == "lr") and positive(value) or unit_open(value)
    if expected then
      error(string.format("%s: option '%s' must be %s (got %s)", self.class_name, name, expected,
        show(value)), 2)
    end
    s[name] = value
  elseif name == "betas" then
    check_option(self.class_name, name, value)
    s.beta1, s.beta2 = value[1], value[2]
  elseif name == "variant" or o[name] == nil then
    error(string.format("%s: cannot set '%s'", self.class_name, tostring(name)), 2)
  else
    check_option(self.class_name, name, value)
    local trial = copy(o)
    trial[name] = value
    check_ranges(self.class_name, trial)
    o[name] = value
  end
end

function Opt:snapshot()
  return { class_name = self.class_name, options = copy(self.options), state = copy(self.state) }
end

function Opt:restore(snap)
  if type(snap) ~= "table" or snap.class_name ~= self.class_name then
    error(self.class_name .. ": snapshot of another class", 2)
  end
  local per = snap.state.per_param
  if #per ~= #self.params then
    error(string.format("%s: snapshot has %d parameters, optimizer has %d", self.class_name,
      #per, #self.params), 2)
  end
  for i, st in ipairs(per) do
    for _, buf in pairs(st) do
      if #buf ~= #self.params[i] then
        error(string.format("%s: snapshot parameter #%d has %d elements, expected %d",
          self.class_name, i, #buf, #self.params[i]), 2)
      end
    end
  end
  self.options, self.state = copy(snap.options), copy(snap.state)
end

return R

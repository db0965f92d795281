-- The Lua API fuzzer of spec/87-fuzz_spec.lua. It calls every function of the
-- grilly module tables (the C ones of grilly.core included), every method
-- and metamethod of the tensor and optimizer metatables, every grilly.nn
-- class and every method of its modules, found by enumerating them, with
-- random arguments:
-- wrong types, nil, NaN, infinities, huge and negative sizes, empty and
-- cyclic tables, freed objects, tensors of other devices and shapes, random
-- option tables, state tables and files. Every call must return or raise a
-- Lua error with a message, and a call that raised must leave every object
-- it was given (and what they hold: grads, an optimizer's parameters) exactly
-- as it was. A crash ends the process; the spec then shows the last calls,
-- which are logged before they are made.
--
-- Sizes the machine could really allocate (up to 2^40 elements) are legal
-- requests, so the numbers offered as sizes are either small or beyond that.
local grilly = require "grilly"
local ffi = require "ffi"
local scratch = require "scratch_files"

local fuzz = {}

local random = math.random
local function pick(list) return list[random(#list)] end

-- ---- describing values, for the log and for messages ----------------------

local function describe(v, depth)
  local ty = type(v)
  if ty == "table" and (depth or 0) < 2 then
    local parts = {}
    for k, x in pairs(v) do
      if #parts == 6 then parts[#parts + 1] = "..."; break end
      parts[#parts + 1] = "[" .. describe(k, 2) .. "]=" .. describe(x, (depth or 0) + 1)
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  if ty == "string" then
    return #v > 40 and ("string(%d bytes)"):format(#v) or ("%q"):format(v)
  elseif ty == "number" then
    return ("%.17g"):format(v)
  elseif grilly.is_tensor(v) then
    local ok, size = pcall(v.size, v)
    if not ok then return "Tensor(freed)" end
    return ("Tensor(%s, %s)"):format(table.concat(size, "x"), v.device)
  elseif ty == "userdata" and getmetatable(v) and getmetatable(v).__name then
    return tostring(getmetatable(v).__name)
  end
  return ty
end

-- ---- state snapshots --------------------------------------------------------

-- A number as text that tells every value apart (NaN sign included, -0 from 0).
local function num(x)
  if x ~= x then return ffi.string(ffi.new("double[1]", x), 8) == ffi.string(ffi.new("double[1]", 0 / 0), 8)
    and "nan" or "-nan" end
  return ("%a"):format(x)
end

local function tensor_state(t)
  local ok, size = pcall(t.size, t)
  if not ok then return "freed" end
  local parts = { t.device, table.concat(size, "x") }
  local flat = t:numel() > 0 and t:view(-1):totable() or {}
  for i = 1, #flat do parts[#parts + 1] = num(flat[i]) end
  return table.concat(parts, " ")
end

-- Plain data (numbers, strings, booleans, tensors, nested tables) as text,
-- keys sorted, so that equal states give equal text.
local function serialize(v, seen)
  local ty = type(v)
  if ty == "number" then return num(v) end
  if ty == "string" then return ("%q"):format(v) end
  if grilly.is_tensor(v) then return "T[" .. tensor_state(v) .. "]" end
  if ty ~= "table" then return ty end
  if seen[v] then return "(cycle)" end
  seen[v] = true
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) ~= type(b) then return type(a) < type(b) end
    if type(a) == "number" or type(a) == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = serialize(k, seen) .. "=" .. serialize(v[k], seen) end
  seen[v] = nil
  return "{" .. table.concat(parts, ",") .. "}"
end

local function is_optimizer(v)
  local mt = type(v) == "userdata" and getmetatable(v)
  return mt and type(mt.__name) == "string" and mt.__name:match("^grilly%..*AdamW$") ~= nil
end

local function is_module(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and type(mt.__name) == "string" and type(v.parameters) == "function"
end

local function optimizer_state(opt)
  local ok, sd = pcall(opt.state_dict, opt)
  if not ok then return "freed" end
  return serialize(sd, {})
end

-- ---- the pool of objects ----------------------------------------------------

local Fuzzer = {}
Fuzzer.__index = Fuzzer

local MAX_TENSORS, MAX_OPTIMIZERS, MAX_MODULES, MAX_NUMEL = 48, 10, 8, 256

-- Numbers offered as arguments: small and special values, and sizes beyond
-- what may be allocated (2^41 and up), never sizes in between.
local NUMBERS = {
  0, 1, 2, 3, 4, 8, -1, -2, -8, 0.5, -0.5, 1.5, 0.1, 0.9, 0.999, 1e-8, 1e-300, 5e-324, -0.0,
  2 ^ 41, 2 ^ 53, 2 ^ 53 + 2, 2 ^ 62, 2 ^ 63, 2 ^ 64, -2 ^ 63, 1e300, -1e300,
  math.huge, -math.huge, 0 / 0,
}

local STRINGS = {
  "", "cpu", "gpu", "vulkan", "vulkan:0", "vulkan:1", "vulkan:63", "vulkan:64", "vulkan:-1", "vulkan:x",
  "lr", "beta1", "beta2", "betas", "eps", "weight_decay", "amsgrad", "nonfinite", "variant", "lr_min", "lr_max",
  "hyper_lr", "warmup_steps", "track_surprise", "adapt_momentum", "h_clip", "max_lr_change", "normalizer",
  "accumulator", "bias_correction", "beta_hyper", "log_scale", "surprise_gamma", "trauma_threshold",
  "skip", "error", "propagate", "grilly", "grilly-v2", "paper", "product", "power", "direction", "gradient",
  "ema", "sum", "m", "v", "vmax", "ema_g", "state", "class", "format", "options", "t", "lr_history",
  "surprise", "s_bar", "step_count", "current_lr", "skipped_steps", "device", "grad", "dtype", "methods",
  "__index", "nan", "1e300", "x\0y", ("x"):rep(5000), "a.b", "%41",
  -- files: see Fuzzer:make_files
  "t.grl", "tensors.grl", "opt.grl", "auto.grl", "flipped.grl", "cut.grl", "text.grl", "empty.grl", "dir",
  "missing.grl", "new.grl", "dir/new.grl", "/dev/null", "/nonexistent/x.grl", "new.svg",
  "x.idx", "cut.idx", "x.csv", "bad.csv",
}

function fuzz.new(opts)
  local self = setmetatable({
    devices = opts.devices, tensors = {}, optimizers = {}, modules = {},
    params_of = setmetatable({}, { __mode = "k" }),   -- optimizer -> its parameter list
    targets = {}, calls = 0, errors = 0, log = opts.log, dirty = false,
  }, Fuzzer)
  self:make_files()
  for _ = 1, 24 do self:add_tensor(self:new_tensor()) end
  for _ = 1, 6 do self:add_optimizer(self:new_optimizer()) end
  for _ = 1, 6 do self:add_module(self:new_module()) end
  self:collect_targets()
  return self
end

-- A small tensor of random shape and values on a random device.
function Fuzzer:new_tensor()
  if random(6) == 1 and #self.tensors > 0 then
    -- a view sharing storage with a pool tensor
    local ok, v = pcall(function()
      local t = self:tensor()
      return random(2) == 1 and t:view(-1) or t[1]
    end)
    if ok and grilly.is_tensor(v) then return v end
  end
  local shapes = { {}, { 0 }, { 1 }, { 3 }, { 4 }, { 2, 3 }, { 3, 2 }, { 3, 4 }, { 4, 3 }, { 1, 4 }, { 2, 0 },
                   { 2, 3, 4 }, { 2, 1, 3 }, { 1, 1, 1, 1 } }
  local opts = { device = pick(self.devices) }
  local t = grilly.randn(pick(shapes), opts)
  local r = random(6)
  if r == 1 then t:mul_(0 / 0) elseif r == 2 then t:mul_(1e38):mul_(1e38) elseif r == 3 then t:fill_(0) end
  if random(3) == 1 then t:requires_grad() end
  if random(6) == 1 then t:free() end
  return t
end

function Fuzzer:new_optimizer()
  local device = pick(self.devices)
  local params = {}
  for i = 1, random(3) do
    params[i] = grilly.randn(pick { { 3 }, { 2, 3 }, { 1 }, { 0 } }, { device = device }):requires_grad()
    params[i].grad:uniform_(-1, 1)
  end
  local class = pick { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" }
  local ok, opt = pcall(grilly.optim[class], params, random(2) == 1 and self:option_table() or nil)
  if not ok then opt = grilly.optim[class](params) end
  for _ = 1, random(0, 3) do opt:step() end
  self.params_of[opt] = params
  if random(8) == 1 then opt:free() end
  return opt
end

-- A grilly.nn module on a random device.
function Fuzzer:new_module()
  local nn, at = grilly.nn, { device = pick(self.devices) }
  local makers = {
    function() return nn.Linear(4, 3, at) end,
    function() return nn.Sequential(nn.Linear(4, 3, at), nn.ReLU(), nn.Linear(3, 2, at)) end,
    function() return nn.Sequential { nn.Flatten(), nn.Linear(4, 2, at), nn.Sigmoid() } end,
    function() return nn.LIF() end,
    function() return nn.IF { v_reset = 0 } end,
    function() return nn.Dropout(0.5) end,
    function() return nn.Tanh() end,
    function() return nn.CrossEntropyLoss() end,
    function() return nn.MSELoss() end,
    function() return nn.SpikeCount() end,
  }
  return pick(makers)()
end

local function add(list, limit, v)
  if #list < limit then list[#list + 1] = v else list[random(limit)] = v end
end

function Fuzzer:add_tensor(t) add(self.tensors, MAX_TENSORS, t) end
function Fuzzer:add_optimizer(o) add(self.optimizers, MAX_OPTIMIZERS, o) end
function Fuzzer:add_module(m) add(self.modules, MAX_MODULES, m) end

-- Files in the current directory for the path arguments: valid tensor and
-- optimizer files, a bit-flipped and a truncated copy, text, an empty file,
-- a directory, and IDX and CSV files.
function Fuzzer:make_files()
  local read, write = scratch.read, scratch.write
  local x = grilly.randn(3, 4, { device = "cpu" })
  grilly.save("t.grl", x)
  grilly.save("tensors.grl", { a = x, b = { x, grilly.zeros(0, { device = "cpu" }) } })
  local p = { grilly.randn(3, { device = "cpu" }):requires_grad() }
  p[1].grad:fill_(0.5)
  local opt = grilly.optim.AdamW(p, { amsgrad = true })
  opt:step()
  opt:save("opt.grl")
  local auto = grilly.optim.AutoHypergradientAdamW(p, { track_surprise = true, warmup_steps = 0 })
  auto:step()
  auto:step()
  auto:save("auto.grl")
  local bytes = read("auto.grl")
  local at = math.floor(#bytes / 2)
  write("flipped.grl", bytes:sub(1, at - 1) .. string.char(bit.bxor(bytes:byte(at), 4)) .. bytes:sub(at + 1))
  write("cut.grl", bytes:sub(1, at))
  write("text.grl", "not a grilly file\n")
  -- IDX (a 2x3 array of bytes) and CSV files for grilly.data, whole and damaged
  write("x.idx", "\0\0\8\2\0\0\0\2\0\0\0\3" .. "\1\2\3\4\5\6")
  write("cut.idx", "\0\0\8\2\0\0\0\2\0\0\0\3\1\2")
  write("x.csv", "a,b,c\n1,2,3\n4,5.5,-6\n")
  write("bad.csv", "1,2\n3,x\n4\n")
  write("empty.grl", "")
  os.execute("mkdir -p dir")
end

-- ---- targets: every function and method, found by enumeration ---------------

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- Adds every function of table t as "prefix.name" (kind "function") or as a
-- method of objects of `kind` ("tensor" or "optimizer").
function Fuzzer:add_functions(t, prefix, kind)
  for _, name in ipairs(sorted_keys(t)) do
    if type(t[name]) == "function" then
      self.targets[#self.targets + 1] = { name = prefix .. name, fn = t[name], kind = kind }
    end
  end
end

function Fuzzer:collect_targets()
  self:add_functions(grilly, "grilly.", "function")
  self:add_functions(grilly.optim, "grilly.optim.", "function")
  self:add_functions(grilly.optim.hypergradient, "grilly.optim.hypergradient.", "function")
  self:add_functions(grilly.plot, "grilly.plot.", "function")
  local tmt = getmetatable(grilly.zeros(1, { device = "cpu" }))
  self:add_functions(tmt, "Tensor.", "tensor")
  self:add_functions(tmt.methods, "Tensor:", "tensor")
  local seen = {}
  for _, class in ipairs { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" } do
    local p = { grilly.zeros(1, { device = "cpu" }) }
    local mt = getmetatable(grilly.optim[class](p))
    self:add_functions(mt, class .. ".", "optimizer")
    if not seen[mt.methods] then
      seen[mt.methods] = true
      self:add_functions(mt.methods, "optimizer:", "optimizer")
    end
    self.field_names = self.field_names or {}
    for _, f in ipairs(mt.__fields) do self.field_names[#self.field_names + 1] = f end
  end
  local core = require "grilly.core"
  for _, part in ipairs { "nn", "data", "comm" } do self:add_functions(core[part], "grilly.core." .. part .. ".", "function") end
  self:add_functions(grilly.data, "grilly.data.", "function")
  self:add_functions(grilly.nn, "grilly.nn.", "function")
  self:add_functions(grilly.nn.encode, "grilly.nn.encode.", "function")
  -- nn classes are called to construct; their modules' methods are found
  -- along each class and its parents.
  local methods = {}
  for _, name in ipairs(sorted_keys(grilly.nn)) do
    local cls = grilly.nn[name]
    local mt = type(cls) == "table" and getmetatable(cls)
    if mt and mt.__call then
      self.targets[#self.targets + 1] = { name = "grilly.nn." .. name, fn = function(...) return cls(...) end,
                                          kind = "function" }
      local c = cls
      while type(c) == "table" do
        for k, v in pairs(c) do
          if type(k) == "string" and type(v) == "function" and not k:match("^__") and k ~= "new" then methods[k] = true end
        end
        c = getmetatable(c) and getmetatable(c).__index
      end
    end
  end
  -- grilly.distributed, where grilly was built with MPI: a process of its own
  -- is a world of one rank. abort() ends the process, as it is asked to, and
  -- finalize() ends MPI for the rest of the run; both are left out.
  local ok, distributed = pcall(function() return grilly.distributed end)
  if ok then
    self.communicator = distributed.communicator()
    for _, name in ipairs(sorted_keys(distributed)) do
      if type(distributed[name]) == "function" and name ~= "abort" and name ~= "finalize" then
        self.targets[#self.targets + 1] = { name = "grilly.distributed." .. name, fn = distributed[name],
                                            kind = "function" }
      end
    end
  end
  for _, name in ipairs(sorted_keys(methods)) do
    self.targets[#self.targets + 1] = {
      name = "module:" .. name, kind = "module",
      fn = function(m, ...)
        local f = type(m) == "table" and m[name]
        if type(f) ~= "function" then error("no method " .. name .. " on a " .. type(m), 2) end
        return f(m, ...)
      end,
    }
  end
end

-- ---- random arguments --------------------------------------------------------

function Fuzzer:tensor() return pick(self.tensors) end
function Fuzzer:optimizer() return pick(self.optimizers) end
function Fuzzer:module() return pick(self.modules) end

function Fuzzer:option_table()
  local names = self.field_names or { "lr", "betas", "eps", "nonfinite", "variant" }
  local t = {}
  for _ = 1, random(0, 4) do
    local key = random(8) == 1 and pick(STRINGS) or pick(names)
    local r = random(4)
    local value
    if r == 1 then value = pick(NUMBERS)
    elseif r == 2 then value = pick { 1e-3, 0.05, 0.5, 0.9, 0.99, 1e-6, 10, 0 }
    elseif r == 3 then value = pick(STRINGS)
    else value = self:value(1) end
    t[key] = value
  end
  if random(4) == 1 then t[random(3)] = self:value(1) end
  return t
end

-- A closure for step() and friends, given the optimizer it may be passed
-- to. Those that change objects mark the call dirty: what they changed is
-- then not the call's failure to answer for.
function Fuzzer:closure(opt)
  local r = random(8)
  if r == 1 then return function() return 1.5 end end
  if r == 2 then return function() error("fuzz closure error") end end
  if r == 3 then return function() collectgarbage() end end
  if r == 4 then
    return function()
      self.dirty = true
      local t = self:tensor()
      if t then pcall(t.free, t) end
    end
  end
  if r == 5 then
    return function()
      self.dirty = true
      local o = opt or self:optimizer()
      if o then pcall(o.free, o) end
    end
  end
  if r == 6 or r == 7 then
    -- frees one of the optimizer's parameters or gradients, or swaps a gradient
    return function()
      self.dirty = true
      local params = self.params_of[opt or self:optimizer()] or {}
      local p = params[random(math.max(#params, 1))]
      if not p then return end
      pcall(function()
        local k = random(3)
        if k == 1 then p:free() elseif k == 2 then p.grad:free() else p.grad = self:tensor() end
      end)
    end
  end
  return function()
    self.dirty = true
    local o = self:optimizer()
    if o then pcall(o.step, o) end
    return 0
  end
end

function Fuzzer:table_value(depth)
  local r = random(16)
  if r == 1 then return {} end
  if r == 2 then
    local t = {}
    for i = 1, random(0, 9) do t[i] = pick { 0, 1, 2, 3, 4, 8, -1, 0.5 } end
    return t
  end
  if r == 3 then return { { 1, 2 }, { 3, 4 } } end
  if r == 4 then return { { 1, 2 }, { 3 } } end
  if r == 5 then
    local t = {}
    for i = 1, random(1, 4) do t[i] = self:tensor() end
    return t
  end
  if r == 6 then
    local t = {}
    for _ = 1, random(1, 3) do
      local k = self:tensor()
      if k then t[k] = random(4) == 1 and self:value(depth + 1) or self:tensor() end
    end
    return t
  end
  if r == 7 then return { { params = { self:tensor() } }, { params = { self:tensor(), self:tensor() } } } end
  if r == 8 then
    local o = self:optimizer()
    local ok, sd = pcall(function() return o:state_dict() end)
    if not ok then return {} end
    if random(2) == 1 then
      local keys = sorted_keys(sd)
      sd[pick(keys)] = self:value(depth + 1)
    end
    return sd
  end
  if r == 9 then return self:option_table() end
  if r == 10 then return { device = pick { "cpu", "vulkan", "gpu", "vulkan:9", 1, "" } } end
  if r == 11 then
    local t = {}
    t[1] = t
    t.x = t
    return t
  end
  if r == 12 then return { pick(NUMBERS), pick(NUMBERS) } end
  if r == 13 then return { a = self:tensor(), b = { self:tensor() }, [1] = self:tensor() } end
  if r == 14 then
    local k = pick(NUMBERS)
    if k ~= k then k = -0.5 end   -- NaN cannot be a key
    return { [k] = self:tensor() }
  end
  if r == 15 then
    local t = {}
    for i = 1, random(1, 4) do t[i] = depth < 2 and self:value(depth + 1) or pick(NUMBERS) end
    return t
  end
  return { pick(STRINGS) }
end

-- A random value of any type; depth limits nesting.
function Fuzzer:value(depth)
  depth = depth or 0
  local r = random(20)
  if r <= 2 then return nil end
  if r == 3 then return random(2) == 1 end
  if r <= 7 then return pick(NUMBERS) end
  if r <= 9 then return pick(STRINGS) end
  if r <= 11 and depth < 3 then return self:table_value(depth) end
  if r <= 15 then return self:tensor() end
  if r <= 16 then return self:optimizer() end
  if r == 17 then return self:module() end
  if r == 18 then return self:closure() end
  return pick { io.stdout, coroutine.create(function() end), ffi.new("int[1]"), print, self.communicator or print }
end

-- ---- one call ----------------------------------------------------------------

-- The objects a call could affect, with their state: tensors and optimizers
-- among the arguments and one level into table arguments, and what they
-- hold (a tensor's grad, an optimizer's parameters and their grads).
function Fuzzer:watch(args, n)
  local watched, order = {}, {}
  local function add_object(v)
    if watched[v] ~= nil then return end
    if grilly.is_tensor(v) then
      watched[v] = false
      order[#order + 1] = v
      local ok, g = pcall(function() return v.grad end)
      if ok and g then add_object(g) end
    elseif is_optimizer(v) then
      watched[v] = false
      order[#order + 1] = v
      for _, p in ipairs(self.params_of[v] or {}) do add_object(p) end
    elseif is_module(v) then
      watched[v] = true   -- not compared itself: its parameters are
      local ok, params = pcall(v.parameters, v)
      for _, p in ipairs(ok and type(params) == "table" and params or {}) do add_object(p) end
    end
  end
  for i = 1, n do
    local a = args[i]
    add_object(a)
    if type(a) == "table" then
      for k, v in pairs(a) do
        add_object(k)
        add_object(v)
      end
    end
  end
  for _, v in ipairs(order) do
    local state = grilly.is_tensor(v) and tensor_state(v) or optimizer_state(v)
    local ok, g = pcall(function() return grilly.is_tensor(v) and v.grad or nil end)
    watched[v] = state .. " grad:" .. (ok and tostring(g) or "-")
  end
  return watched, order
end

-- ---- plausible arguments ------------------------------------------------------
-- Random values mostly fail the first check of a call. To reach the later
-- checks (and the successes whose results feed later calls), a call gets,
-- two times in three, arguments of the right kinds from a template for its
-- target, and then, half of those times, one of them replaced by a random
-- value. Templates are keyed by "t:" (tensor methods and metamethods), "o:"
-- (optimizer methods and metamethods) or the function's own name.

local SMALL = { -2, -1, 0, 1, 2, 3, 4 }

function Fuzzer:device_opts()
  local r = random(4)
  if r == 1 then return nil end
  if r == 2 then return { device = pick(STRINGS) } end
  return { device = pick(self.devices) }
end

function Fuzzer:sizes()
  local t = {}
  for i = 1, random(0, 3) do t[i] = random(0, 4) end
  return t
end

-- A pool tensor of t's shape, or a fresh one on a random device.
function Fuzzer:like(t)
  local ok, size = pcall(function() return t:size() end)
  if not ok then return self:tensor() end
  for _ = 1, 4 do
    local u = self:tensor()
    local ok2, s2 = pcall(function() return u:size() end)
    if ok2 and table.concat(s2, "x") == table.concat(size, "x") then return u end
  end
  local opts = { device = pick(self.devices) }
  return #size == 0 and grilly.randn({}, opts) or grilly.randn(size, opts)
end

function Fuzzer:params()
  local o = self:optimizer()
  if o and self.params_of[o] and random(2) == 1 then return self.params_of[o] end
  local t = {}
  for i = 1, random(1, 3) do t[i] = self:tensor() end
  return random(4) == 1 and { { params = t } } or t
end

function Fuzzer:grads_for(params)
  local g = {}
  for _, p in ipairs(params) do
    if random(3) > 1 and grilly.is_tensor(p) then g[p] = self:like(p) end
  end
  return g
end

local function unary(self) return { self:tensor() } end
local function binary(self)
  local t = self:tensor()
  return { t, random(3) == 1 and pick(NUMBERS) or (random(2) == 1 and self:like(t) or self:tensor()) }
end
local function reduce(self) return { self:tensor(), pick(SMALL), random(2) == 1 } end
local function create(self)
  local args = self:sizes()
  if random(2) == 1 then args = { args } end
  args[#args + 1] = self:device_opts()
  return args
end

local TEMPLATES = {
  ["t:add"] = binary, ["t:sub"] = binary, ["t:mul"] = binary, ["t:div"] = binary,
  ["t:add_"] = binary, ["t:sub_"] = binary, ["t:mul_"] = binary, ["t:div_"] = binary,
  ["t:__add"] = binary, ["t:__sub"] = binary, ["t:__mul"] = binary, ["t:__div"] = binary,
  ["t:copy_"] = binary, ["t:dot"] = binary,
  ["t:matmul"] = function(self)
    local t = self:tensor()
    local ok, u = pcall(function() return t:dim() == 2 and self:like(t):t() or self:like(t) end)
    return { t, ok and u or self:tensor() }
  end,
  ["t:sum"] = reduce, ["t:mean"] = reduce, ["t:max"] = reduce, ["t:min"] = reduce,
  ["t:argmax"] = reduce, ["t:norm"] = reduce,
  ["t:pow"] = function(self) return { self:tensor(), pick { 2, 0.5, -1, 0, 3 } } end,
  ["t:clamp"] = function(self) return { self:tensor(), pick { -1, 0, nil }, pick { 1, 0.5, nil } } end,
  ["t:fill_"] = function(self) return { self:tensor(), pick(NUMBERS) } end,
  ["t:view"] = function(self) local a = self:sizes(); table.insert(a, 1, self:tensor()); a[#a + 1] = -1; return a end,
  ["t:transpose"] = function(self) return { self:tensor(), pick(SMALL), pick(SMALL) } end,
  ["t:narrow"] = function(self) return { self:tensor(), pick(SMALL), random(0, 3), random(0, 3) } end,
  ["t:select"] = function(self) return { self:tensor(), pick(SMALL), random(0, 4) } end,
  ["t:index_select"] = function(self)
    local idx = {}
    for i = 1, random(0, 4) do idx[i] = random(0, 4) end
    return { self:tensor(), pick(SMALL), random(3) == 1 and grilly.tensor(#idx > 0 and idx or { 1 }) or idx }
  end,
  ["t:to"] = function(self) return { self:tensor(), pick(self.devices) } end,
  ["t:uniform_"] = function(self) return { self:tensor(), pick { -1, 0, 2 }, pick { 1, 0, -1 } } end,
  ["t:normal_"] = function(self) return { self:tensor(), pick { 0, 1 }, pick { 1, 0, -1 } } end,
  ["t:size"] = function(self) return { self:tensor(), pick(SMALL) } end,
  ["t:__index"] = function(self) return { self:tensor(), random(2) == 1 and random(0, 4) or pick { "grad", "device", "dtype" } } end,
  ["t:index_number"] = function(self) return { self:tensor(), random(0, 4) } end,
  ["t:__newindex"] = function(self)
    local t = self:tensor()
    if random(2) == 1 then return { t, "grad", random(3) == 1 and nil or self:like(t) } end
    return { t, random(0, 4), random(2) == 1 and pick(NUMBERS) or self:tensor() }
  end,
  ["t:newindex_number"] = function(self) return { self:tensor(), random(0, 4), pick(NUMBERS) } end,
  ["zeros"] = create, ["ones"] = create, ["empty"] = create, ["rand"] = create, ["randn"] = create,
  ["full"] = function(self) return { self:sizes(), pick(NUMBERS), self:device_opts() } end,
  ["tensor"] = function(self) return { pick { { 1, 2 }, { { 1, 2 }, { 3, 4 } }, 3.5, {} }, self:device_opts() } end,
  ["arange"] = function(self) return { pick(SMALL), pick(SMALL), pick { 1, 0.5, -1, 0 }, self:device_opts() } end,
  ["linspace"] = function(self) return { pick(SMALL), pick(SMALL), random(0, 5), self:device_opts() } end,
  ["cat"] = function(self)
    local t = self:tensor()
    return { { t, random(2) == 1 and self:like(t) or self:tensor() }, pick(SMALL) }
  end,
  ["parameter"] = unary,
  ["save"] = function(self) return { pick { "new.grl", "dir/new.grl", "t.grl" }, self:table_value(0) } end,
  ["load"] = function(self) return { pick(STRINGS), self:device_opts() } end,
  ["manual_seed"] = function() return { random(0, 5) } end,
  ["set_device"] = function(self) return { pick(self.devices) } end,
  ["AdamW"] = function(self) return { self:params(), self:option_table() } end,
  ["HypergradientAdamW"] = function(self) return { self:params(), self:option_table() } end,
  ["AutoHypergradientAdamW"] = function(self) return { self:params(), self:option_table() } end,
  ["load@optim"] = function(self)
    local p = { grilly.randn(3, { device = pick(self.devices) }) }
    return { pick { "opt.grl", "auto.grl", "flipped.grl", "cut.grl", "t.grl", "dir", "missing.grl" },
             random(3) == 1 and self:params() or p }
  end,
  ["collect_grads"] = function(self) local p = self:params(); return { p, self:grads_for(p) } end,
  ["compute_update_directions"] = function(self) return { self:optimizer() } end,
  ["o:step"] = function(self)
    local o = self:optimizer()
    local grads = self:grads_for(self.params_of[o] or {})
    if random(3) == 1 then return { o, self:closure(o), grads } end
    return { o, grads }
  end,
  ["o:history"] = function(self) return { self:optimizer(), pick { "lr", "beta1", "surprise", "s_bar", "x" } } end,
  ["o:load_state_dict"] = function(self)
    local o = self:optimizer()
    local from = random(2) == 1 and o or self:optimizer()
    local ok, sd = pcall(function() return from:state_dict() end)
    if not ok then sd = {} end
    if random(2) == 1 then
      local keys = sorted_keys(sd)
      if #keys > 0 then sd[pick(keys)] = self:value(1) end
    end
    return { o, sd }
  end,
  ["o:save"] = function(self) return { self:optimizer(), pick { "new.grl", "dir/new.grl", "dir" } } end,
  ["o:__index"] = function(self) return { self:optimizer(), pick(self.field_names) } end,
  ["o:__newindex"] = function(self)
    return { self:optimizer(), pick(self.field_names),
             random(2) == 1 and pick { 1e-3, 0.5, 0.9, 0, 2, 1e-9, true, "skip", "paper" } or self:value(1) }
  end,
}

-- A LIF parameter table as grilly.core.nn takes it, one field perhaps spoilt.
function Fuzzer:lif_params()
  local p = { decay = 0.5, input_scale = 0.5, v_threshold = 1, v_rest = 0, v_reset = 0, alpha = 2,
              hard_reset = random(2) == 1, detach_reset = random(2) == 1,
              surrogate = pick { "atan", "sigmoid", "fast_sigmoid" }, output = pick { "spikes", "membrane" } }
  if random(3) == 1 then p[pick { "decay", "v_threshold", "alpha", "surrogate", "output" }] = self:value(1) end
  return p
end

-- A module's input: a pool tensor, or one of the shape its first Linear takes.
function Fuzzer:module_input()
  if random(2) == 1 then return self:tensor() end
  return grilly.randn(pick { { 3, 4 }, { 2, 2, 2 }, { 5, 3, 4 } }, { device = pick(self.devices) })
end

TEMPLATES["m:forward"] = function(self) return { self:module(), self:module_input() } end
TEMPLATES["m:backward"] = function(self)
  local m, x = self:module(), self:module_input()
  local ok, y = pcall(function() return m:forward(x) end)
  local grad = ok and grilly.is_tensor(y) and self:like(y) or self:tensor()
  return { m, x, grad, random(2) == 1 }
end
TEMPLATES["m:load_state_dict"] = function(self)
  local ok, sd = pcall(function() return self:module():state_dict() end)
  return { self:module(), ok and sd or self:table_value(0) }
end
TEMPLATES["m:to"] = function(self) return { self:module(), pick(self.devices) } end
TEMPLATES["linear_forward"] = function(self)
  local x = self:module_input()
  local ok, k = pcall(function() return x:size(-1) end)
  local w = grilly.randn({ 3, ok and k or 4 }, { device = pick(self.devices) })
  return { x, w, random(2) == 1 and grilly.randn(3, { device = pick(self.devices) }) or nil }
end
TEMPLATES["linear_backward"] = function(self)
  local at = { device = pick(self.devices) }
  local x, w = grilly.randn({ 2, 4 }, at), grilly.randn({ 3, 4 }, at)
  return { x, w, random(2) == 1 and grilly.randn({ 2, 3 }, at) or self:tensor(),
           random(2) == 1 and grilly.zeros({ 3, 4 }, at) or self:tensor(),
           random(2) == 1 and grilly.zeros(3, at) or nil, random(2) == 1 }
end
TEMPLATES["activation_backward"] = function(self)
  local y = self:tensor()
  return { pick { "relu", "tanh", "sigmoid", "gelu" }, y, self:like(y) }
end
TEMPLATES["cross_entropy_forward"] = function(self)
  local at = { device = pick(self.devices) }
  return { grilly.randn({ 3, 4 }, at), grilly.tensor(pick { { 1, 4, 2 }, { 0, 1, 2 }, { 1, 5, 1 }, { 1.5, 2, 3 } }, at) }
end
TEMPLATES["cross_entropy_backward"] = TEMPLATES["cross_entropy_forward"]
TEMPLATES["lif_forward"] = function(self) return { self:module_input(), self:lif_params() } end
TEMPLATES["lif_backward"] = function(self)
  local h = self:module_input()
  return { h, self:like(h), self:lif_params() }
end
TEMPLATES["bernoulli"] = function(self) return { self:tensor() } end
TEMPLATES["dropout_mask"] = function(self) return { self:tensor(), pick { 0, 0.5, 1, -1, 0 / 0 } } end
TEMPLATES["latency_encode"] = function(self) return { self:tensor(), random(0, 4), pick { 0.5, 0, -1 } } end
TEMPLATES["read_idx"] = function(self) return { pick { "x.idx", "cut.idx", "x.csv", "t.grl", "dir" }, self:device_opts() } end
TEMPLATES["read_csv"] = function(self)
  return { pick { "x.csv", "bad.csv", "x.idx", "empty.grl", "dir" },
           { header = random(2) == 1, delimiter = pick { ",", ";", "", ",,", nil } } }
end
TEMPLATES["permutation"] = function() return { random(0, 8), random(0, 3), pick { 0, 1, nil } } end
TEMPLATES["spirals"] = function(self) return { random(0, 4), random(0, 4), pick { 0, 0.1, -1 }, 1, self:device_opts() } end
TEMPLATES["blobs"] = function(self)
  return { random(0, 3), random(0, 3), random(0, 3), pick { 1, 0 }, pick { 0.5, -1 }, 2, self:device_opts() }
end
-- grilly.core.comm takes the communicator last; grilly.distributed's
-- wrappers ignore it.
TEMPLATES["all_reduce"] = function(self)
  return { self:tensor(), pick { "sum", "mean", "max", "prod" }, self.communicator }
end
TEMPLATES["broadcast"] = function(self) return { self:tensor(), pick { 0, 1, -1 }, self.communicator } end
TEMPLATES["all_gather"] = function(self) return { self:tensor(), self.communicator } end
for _, name in ipairs { "rank", "size", "barrier", "traffic", "reset_traffic" } do
  TEMPLATES[name] = function(self) return { self.communicator } end
end
TEMPLATES["accuracy"] = function(self)
  local at = { device = pick(self.devices) }
  return { grilly.randn({ 3, 4 }, at), grilly.tensor({ 1, 2, 4 }, at) }
end

local function template_key(target)
  local short = target.name:match("[.:]([%w_]+)$")
  if target.kind == "tensor" then return "t:" .. short end
  if target.kind == "optimizer" then return "o:" .. short end
  if target.kind == "module" then return "m:" .. short end
  if target.name == "grilly.optim.load" then return "load@optim" end
  return short
end

function Fuzzer:arguments(target)
  local template = TEMPLATES[template_key(target)]
  local r = random(3)
  if template and r > 1 then
    local args = template(self)
    local n = table.maxn(args)
    if r == 2 and n > 0 then
      local i = random(n + 1)
      args[i] = self:value()
      n = math.max(n, i)
    end
    return args, n
  end
  local args, n = {}, random(0, 5)
  if target.kind ~= "function" then
    n = math.max(n, 1)
    if random(10) <= 8 then
      args[1] = target.kind == "tensor" and self:tensor() or target.kind == "optimizer" and self:optimizer()
                or self:module()
    else
      args[1] = self:value()
    end
  end
  for i = (target.kind == "function" and 1 or 2), n do args[i] = self:value() end
  return args, n
end

-- Keeps small results, so that later calls work on what earlier ones made.
function Fuzzer:adopt(results, n)
  for i = 1, n do
    local v = results[i]
    if grilly.is_tensor(v) then
      local ok, numel = pcall(v.numel, v)
      if ok and numel <= MAX_NUMEL then self:add_tensor(v) end
    elseif is_optimizer(v) then
      self:add_optimizer(v)
    elseif is_module(v) then
      self:add_module(v)
    end
  end
end

local function pack(...) return select("#", ...), { ... } end

-- Makes one random call and checks it; returns nil or a description of a
-- violation.
function Fuzzer:step()
  local target = pick(self.targets)
  local args, n = self:arguments(target)
  local shown = {}
  for i = 1, n do shown[i] = describe(args[i]) end
  local call = target.name .. "(" .. table.concat(shown, ", ") .. ")"
  if self.log then
    self.log:write(call, "\n")
    self.log:flush()
  end
  local watched, order = self:watch(args, n)
  self.dirty = false
  self.calls = self.calls + 1
  local count, results = pack(pcall(target.fn, unpack(args, 1, n)))
  local ok = results[1]
  if ok then
    self:adopt({ select(2, unpack(results, 1, count)) }, count - 1)
    return nil
  end
  self.errors = self.errors + 1
  local err = results[2]
  if type(err) ~= "string" or err == "" then
    return call .. " raised a " .. type(err) .. " instead of an error message"
  end
  if self.dirty then return nil end
  for _, v in ipairs(order) do
    local state = grilly.is_tensor(v) and tensor_state(v) or optimizer_state(v)
    local ok2, g = pcall(function() return grilly.is_tensor(v) and v.grad or nil end)
    state = state .. " grad:" .. (ok2 and tostring(g) or "-")
    if state ~= watched[v] then
      return ("%s failed (%s) but changed %s"):format(call, err, describe(v))
    end
  end
  return nil
end

-- Replaces a few pool objects now and then, so that fresh, freed and
-- garbage-collected objects keep appearing.
function Fuzzer:refresh()
  if random(20) == 1 then self:add_tensor(self:new_tensor()) end
  if random(50) == 1 then self:add_optimizer(self:new_optimizer()) end
  if random(50) == 1 then self:add_module(self:new_module()) end
end

-- Runs `iterations` calls; returns the list of violations.
function Fuzzer:run(iterations)
  local violations = {}
  for _ = 1, iterations do
    local v = self:step()
    if v then violations[#violations + 1] = v end
    self:refresh()
  end
  return violations
end

-- Drops every object the fuzzer holds.
function Fuzzer:release()
  self.tensors, self.optimizers, self.modules, self.params_of = {}, {}, {}, {}
end

return fuzz

-- Loading and closed-loop replay of the optimizer fixtures made by the Python grilly.
--
--   local fixtures = require "fixtures"
--   local fix = fixtures.load("grilly-v3-quadratic.json")
--   for _, name in ipairs(fixtures.run_names(fix)) do
--     local mismatches, worst = fixtures.replay(fix.runs[name], make)
--     assert(#mismatches == 0, fixtures.describe(mismatches, 5))
--   end
--
-- Where the fixtures live: $GRILLY_FIXTURES if set, else ../shared/fixtures relative to
-- the current directory (busted runs from the project root).
--
-- A fixture run has `optimizer` (the class name), `kwargs` (construction options) and
-- `steps`, one record per call k holding the state AFTER that call. load() adds to each
-- run: `name`, `file`, `scenario` (the header's scenario) and `options`, the options to
-- construct with. The fixture's kwargs use our option names unchanged (lr, beta_hyper,
-- log_scale, adapt_momentum, track_surprise, amsgrad); `options` is a copy of them plus
-- `variant` when the file was made with a non-default variant and the class takes one
-- (only AutoHypergradientAdamW has variants): grilly-v2-quadratic.json adds
-- variant = "grilly-v2", grilly-v3-quadratic.json (the default variant) adds nothing.
--
-- replay(run, make) drives one run in closed loop:
--   local adapter = make(class_name, options, x0)  -- x0: array of numbers (one tensor)
--   adapter.step(grad)          -- one optimizer step with gradient `grad` (array of numbers)
--   adapter.params()            -- current parameter values, an array of numbers
--   adapter.record()            -- table of the record fields below, after the step
--   adapter.history_lengths()   -- optional: {lr_history = n, ...}, checked after the run
-- Before call k it reads params(), computes loss_before = f(x) in double and the gradient
-- g_i = a_i * x_i rounded to float32, calls step(g), then compares params() with the
-- record's x and every other field of the record with record(): numbers within
-- 1e-4 * |expected| + 5e-5, flags exactly.
--
-- Record fields and what they are in terms of the optimizer (fixtures.adapter builds
-- record() from a reader of these properties):
--   lr               current_lr after the call: the lr its AdamW update used
--   beta1            beta1 after the call: the beta1 its AdamW update used
--   lr_adapted       #lr_history grew during the call (an adaptation step happened)
--   beta1_adapted    #beta1_history grew (momentum was adapted)
--   surprise_updated #surprise_history grew (the surprise block ran)
--   surprise         current_surprise (S); keeps its value on calls without surprise
--   s_bar            accumulated_surprise (Sbar)
--   gain             current_surprise_gain
--   G_lr, G_beta     the hypergradient accumulators
--   grad_var_ema     var_ema, the EMA of the global sum of g*g
-- A run also carries final history lengths (lr_history_len, beta1_history_len,
-- surprise_history_len, s_bar_history_len), checked when the adapter has history_lengths.
local json = require "json"
local ffi = require "ffi"

local fixtures = {}

fixtures.REL_TOL = 1e-4
fixtures.ABS_TOL = 5e-5

-- The variant each fixture file was made with, by file name.
fixtures.FILES = {
  ["grilly-v3-quadratic.json"] = { variant = "grilly" },
  ["grilly-v2-quadratic.json"] = { variant = "grilly-v2" },
}

local DEFAULT_VARIANT = "grilly"
local VARIANT_CLASSES = { AutoHypergradientAdamW = true }

-- The scenarios named in fixture headers, spelled out from their descriptions.
local SCENARIOS = {
  -- f(x) = 0.5 * sum_i a_i x_i^2 with a_i = 1 + i (i = 0..9), x0_i = 1.
  a_quadratic = function()
    local a, x0 = {}, {}
    for i = 1, 10 do a[i] = i; x0[i] = 1.0 end
    return { a = a, x0 = x0 }
  end,
}

local f32_box = ffi.new("float[1]")
-- x rounded to the nearest float32 (as a Lua number).
function fixtures.f32(x)
  f32_box[0] = x
  return f32_box[0]
end

local function readable(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- The fixtures folder; raises naming both places it looked when neither holds them.
function fixtures.dir()
  local probe = next(fixtures.FILES)
  local env = os.getenv("GRILLY_FIXTURES")
  if env and env ~= "" and readable(env .. "/" .. probe) then return env end
  local rel = "../shared/fixtures"
  if readable(rel .. "/" .. probe) then return rel end
  error(string.format("optimizer fixtures not found: looked in $GRILLY_FIXTURES (%s) and in %s "
    .. "relative to the current directory (run busted from the project root, or set "
    .. "GRILLY_FIXTURES to the folder holding %s)",
    env and env ~= "" and env or "unset", rel, probe), 2)
end

local cache = {}

-- Decodes a fixture file (cached) and annotates its runs as described above.
function fixtures.load(file)
  if cache[file] then return cache[file] end
  local path = fixtures.dir() .. "/" .. file
  local f = assert(io.open(path, "rb"))
  local fix = json.decode(f:read("*a"))
  f:close()
  local variant = (fixtures.FILES[file] or {}).variant or DEFAULT_VARIANT
  for name, run in pairs(fix.runs) do
    run.name, run.file, run.scenario = name, file, fix.header.scenario
    local options = {}
    for k, v in pairs(run.kwargs) do options[k] = v end
    if variant ~= DEFAULT_VARIANT and VARIANT_CLASSES[run.optimizer] then
      options.variant = variant
    end
    run.options = options
  end
  cache[file] = fix
  return fix
end

-- The run names of a fixture, sorted.
function fixtures.run_names(fix)
  local names = {}
  for name in pairs(fix.runs) do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function close_enough(expected, got)
  return math.abs(got - expected) <= fixtures.REL_TOL * math.abs(expected) + fixtures.ABS_TOL
end

-- Compares one value; returns the fraction of the tolerance used (0 for equal flags), or
-- nil when it does not match.
local function compare(expected, got)
  if type(expected) == "boolean" then
    if got == expected then return 0 end
    return nil
  end
  if type(got) ~= "number" or got ~= got or not close_enough(expected, got) then return nil end
  return math.abs(got - expected) / (fixtures.REL_TOL * math.abs(expected) + fixtures.ABS_TOL)
end

local SKIP = { k = true, x = true, loss_before = true }

-- Runs `run` in closed loop against make(class_name, options, x0). Returns the list of
-- mismatches {field, step, expected, got} (empty when all agree) and the worst fraction of
-- the tolerance used: {ratio, field, step}.
function fixtures.replay(run, make)
  local scenario = SCENARIOS[run.scenario]
  if not scenario then error("unknown fixture scenario '" .. tostring(run.scenario) .. "'", 2) end
  scenario = scenario()
  local a = scenario.a
  local adapter = make(run.optimizer, run.options, scenario.x0)
  local mismatches = {}
  local worst = { ratio = 0 }
  local function check(field, step, expected, got)
    local ratio = compare(expected, got)
    if ratio == nil then
      mismatches[#mismatches + 1] = { field = field, step = step, expected = expected, got = got }
    elseif ratio > worst.ratio then
      worst = { ratio = ratio, field = field, step = step }
    end
  end
  for _, rec in ipairs(run.steps) do
    local x = adapter.params()
    local loss, g = 0, {}
    for i = 1, #a do
      loss = loss + 0.5 * a[i] * x[i] * x[i]
      g[i] = fixtures.f32(a[i] * x[i])
    end
    check("loss_before", rec.k, rec.loss_before, loss)
    adapter.step(g)
    local got = adapter.record()
    for field, expected in pairs(rec) do
      if not SKIP[field] then check(field, rec.k, expected, got[field]) end
    end
    x = adapter.params()
    for i, expected in ipairs(rec.x) do check("x[" .. i .. "]", rec.k, expected, x[i]) end
  end
  if adapter.history_lengths then
    local lengths = adapter.history_lengths()
    for _, h in ipairs { "lr_history", "beta1_history", "surprise_history", "s_bar_history" } do
      local expected = run[h .. "_len"]
      if expected ~= nil and lengths[h] ~= expected then
        mismatches[#mismatches + 1] = { field = h .. "_len", step = #run.steps,
                                        expected = expected, got = lengths[h] }
      end
    end
  end
  return mismatches, worst
end

-- The first n mismatches, one per line.
function fixtures.describe(mismatches, n)
  local lines = { string.format("%d mismatches", #mismatches) }
  for i = 1, math.min(n or 5, #mismatches) do
    local m = mismatches[i]
    lines[#lines + 1] = string.format("  step %s %s: expected %s, got %s", tostring(m.step),
      m.field, tostring(m.expected), tostring(m.got))
  end
  return table.concat(lines, "\n")
end

local RECORD_FIELDS = {
  lr = "current_lr", beta1 = "beta1", surprise = "current_surprise",
  s_bar = "accumulated_surprise", gain = "current_surprise_gain",
  G_lr = "G_lr", G_beta = "G_beta", grad_var_ema = "var_ema",
}
local HISTORY_FLAGS = {
  lr_adapted = "lr_history", beta1_adapted = "beta1_history",
  surprise_updated = "surprise_history",
}
local HISTORIES = { "lr_history", "beta1_history", "surprise_history", "s_bar_history" }

-- Builds a replay adapter from three functions:
--   step(grad), params() as above, and read(name) giving the optimizer's property `name`
--   (current_lr, beta1, current_surprise, accumulated_surprise, current_surprise_gain,
--   G_lr, G_beta, var_ema, and the histories lr_history, beta1_history,
--   surprise_history, s_bar_history as tables), or nil where the class has none.
function fixtures.adapter(fns)
  local read = fns.read
  local function lengths()
    local n = {}
    for _, h in ipairs(HISTORIES) do
      local hist = read(h)
      n[h] = hist and #hist
    end
    return n
  end
  local before
  return {
    step = function(grad)
      before = lengths()
      fns.step(grad)
    end,
    params = fns.params,
    record = function()
      local rec, now = {}, lengths()
      for field, name in pairs(RECORD_FIELDS) do rec[field] = read(name) end
      for flag, h in pairs(HISTORY_FLAGS) do
        if now[h] then rec[flag] = now[h] > before[h] end
      end
      return rec
    end,
    history_lengths = lengths,
  }
end

return fixtures

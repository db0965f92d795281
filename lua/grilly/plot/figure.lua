-- Builds the renderer-neutral figure: a title, a shared step axis and panels,
-- each with a y axis and its series. Sources are optimizers (their history
-- fields), TSV logs written by grilly.train, training loops and column tables.
local tsv = require "grilly.tsv"
local scale = require "grilly.plot.scale"

local figure = {}

figure.palette = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                   "#e377c2", "#17becf" }

local OPTIMIZER_SERIES = { "lr", "beta1", "surprise", "s_bar", "gain" }

-- Reads a field of a table or userdata; an object that raises on the read
-- (a freed one) reads as nil here, so that detection never fails.
local function field(obj, key)
  if type(obj) ~= "table" and type(obj) ~= "userdata" then return nil end
  local ok, v = pcall(function() return obj[key] end)
  if ok then return v end
  return nil
end

local function copy_numbers(t)
  local out = {}
  if type(t) ~= "table" then return out end
  for i = 1, #t do out[i] = tonumber(t[i]) or 0 / 0 end
  return out
end

-- x positions for a history whose last entry belongs to step `last` and whose
-- entries are consecutive steps. Falls back to 1..n when that does not fit.
local function trailing_steps(n, last)
  local xs = {}
  local first = last and last - n + 1
  if not first or first < 1 then first = 1 end
  for i = 1, n do xs[i] = first + i - 1 end
  return xs
end

-- lr_history and beta1_history start with the value set at construction,
-- which is in effect from step 1 until the first adapted entry; the adapted
-- entries end at the optimizer's step count.
local function initial_then_trailing(h, steps)
  local n = #h
  if n == 0 then return {}, {} end
  if not steps or steps < n - 1 then
    local xs = {}
    for i = 1, n do xs[i] = i - 1 end
    return xs, h
  end
  local xs, ys = { 0 }, { h[1] }
  local until_step = n == 1 and steps or steps - n + 1
  if until_step > 0 then xs[2], ys[2] = until_step, h[1] end
  for i = 2, n do
    xs[#xs + 1], ys[#ys + 1] = steps - n + i, h[i]
  end
  return xs, ys
end

-- The series of an optimizer: x (steps) and y for name, or nil, reason.
local function optimizer_series(opt, name)
  local steps = tonumber(field(opt, "step_count"))
  if name == "lr" or name == "beta1" then
    local h = copy_numbers(field(opt, name .. "_history"))
    if #h == 0 then
      local current = tonumber(field(opt, name == "lr" and "current_lr" or "beta1"))
      if not current then return nil, "the optimizer has no " .. name .. " history" end
      h = { current }
    end
    return initial_then_trailing(h, steps)
  end
  local key = ({ surprise = "surprise_history", s_bar = "s_bar_history", gain = "s_bar_history" })[name]
  if not key then
    return nil, "an optimizer records only " .. table.concat(OPTIMIZER_SERIES, ", ") ..
                "; plot the training loop's log or loop.history for '" .. name .. "'"
  end
  local h = field(opt, key)
  if type(h) ~= "table" then return nil, "the optimizer has no " .. key end
  h = copy_numbers(h)
  if name == "gain" then
    -- gain = Sbar * exp(-Sbar / trauma_threshold), from the current threshold.
    local tau = tonumber(field(opt, "trauma_threshold"))
    if not tau then return nil, "the optimizer has no trauma_threshold to derive the gain from" end
    for i = 1, #h do h[i] = h[i] * math.exp(-h[i] / tau) end
  end
  return trailing_steps(#h, steps), h
end

-- Columns (from a TSV file, a loop's history or a plain table) -> series.
local function column_series(cols, name, what)
  local y = cols[name]
  if type(y) ~= "table" or name == "names" then
    local have = {}
    for _, n in ipairs(cols.names or {}) do
      if n ~= "step" and n ~= "epoch" then have[#have + 1] = n end
    end
    return nil, "no series '" .. tostring(name) .. "' in " .. what ..
                (#have > 0 and " (it has: " .. table.concat(have, ", ") .. ")" or "")
  end
  y = copy_numbers(y)
  local x
  if type(cols.step) == "table" and #cols.step == #y then
    x = copy_numbers(cols.step)
  else
    x = {}
    for i = 1, #y do x[i] = i end
  end
  return x, y
end

local function sorted_column_names(cols)
  local names = {}
  for k, v in pairs(cols) do
    if type(k) == "string" and type(v) == "table" and k ~= "names" then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

-- Resolves a source into a function name -> x, y (or nil, reason), the default
-- series names and a description for messages. Returns nil, message when a
-- TSV file cannot be read.
local function source(src)
  if type(src) == "string" then
    local cols, err = tsv.read(src)
    if not cols then return nil, err end
    local defaults = {}
    for _, n in ipairs(cols.names) do
      if n ~= "step" and n ~= "epoch" then defaults[#defaults + 1] = n end
    end
    return function(name) return column_series(cols, name, src) end, defaults
  end
  if field(src, "lr_history") ~= nil or field(src, "current_lr") ~= nil then
    local defaults = {}
    for _, name in ipairs(OPTIMIZER_SERIES) do
      local x = optimizer_series(src, name)
      if x and #x > 0 then defaults[#defaults + 1] = name end
    end
    return function(name) return optimizer_series(src, name) end, defaults
  end
  if type(src) == "table" then
    local cols = src
    if type(src.history) == "table" and type(src.history.step) == "table" then cols = src.history end
    local defaults = {}
    for _, n in ipairs(cols.names or sorted_column_names(cols)) do
      if n ~= "step" and n ~= "epoch" then defaults[#defaults + 1] = n end
    end
    return function(name) return column_series(cols, name, "the table") end, defaults
  end
  error("grilly.plot: bad argument #1 (an optimizer, a TSV path, a loop or a table of columns " ..
        "expected, got " .. type(src) .. ")", 3)
end

local function log_names(opt)
  if opt == nil then return { lr = true } end
  if opt == true or opt == false then return opt end
  local set = {}
  for _, n in ipairs(opt) do set[n] = true end
  return set
end

-- Adds computed axes to a figure: one shared x axis over every panel, a y
-- axis per panel, with about xticks and yticks ticks (default 6 and 4).
function figure.layout(fig, xticks, yticks)
  local xs = {}
  for _, p in ipairs(fig.panels) do
    for _, s in ipairs(p.series) do xs[#xs + 1] = s.x end
  end
  fig.xaxis = scale.axis(xs, { ticks = xticks or 6 })
  for _, p in ipairs(fig.panels) do
    local ys = {}
    for _, s in ipairs(p.series) do ys[#ys + 1] = s.y end
    p.yaxis = scale.axis(ys, { log = p.log_y, pad = 0.05, ticks = yticks or 4 })
    p.empty = scale.extent(ys) == nil
  end
  return fig
end

-- One panel per series name, sharing the step axis.
function figure.history(src, names, opts)
  local lookup, defaults = source(src)
  if not lookup then return nil, defaults end
  if names ~= nil and type(names) ~= "table" then
    error("grilly.plot.history: bad argument #2 (a list of series names expected, got " ..
          type(names) .. ")", 3)
  end
  names = names or defaults
  if #names == 0 then error("grilly.plot.history: no series to plot", 3) end
  local logs = log_names(opts.log_y)
  local fig = { title = opts.title, xlabel = opts.xlabel or "step", panels = {} }
  for i, name in ipairs(names) do
    local x, y = lookup(name)
    if not x then error("grilly.plot.history: " .. y, 3) end
    fig.panels[i] = {
      ylabel = name,
      log_y = logs == true or (type(logs) == "table" and logs[name]) or false,
      series = { { name = name, x = x, y = y, color = figure.palette[(i - 1) % #figure.palette + 1] } },
    }
  end
  return figure.layout(fig)
end

local function is_number_array(t)
  return type(t) == "table" and #t > 0 and type(t[1]) == "number"
end

-- Normalises one series argument: an array of numbers, or {y = ..., x = ..., name = ...}.
local function series_of(s, i)
  if is_number_array(s) then
    local x = {}
    for k = 1, #s do x[k] = k end
    return { name = "series " .. i, x = x, y = copy_numbers(s) }
  end
  if type(s) == "table" and type(s.y) == "table" then
    local y = copy_numbers(s.y)
    local x
    if s.x ~= nil then
      if type(s.x) ~= "table" or #s.x ~= #y then
        error("grilly.plot: series " .. i .. " has " .. (type(s.x) == "table" and #s.x or 0) ..
              " x values for " .. #y .. " y values", 4)
      end
      x = copy_numbers(s.x)
    else
      x = {}
      for k = 1, #y do x[k] = k end
    end
    return { name = s.name and tostring(s.name) or "series " .. i, x = x, y = y, color = s.color }
  end
  error("grilly.plot: series " .. i .. " must be an array of numbers or a table with y " ..
        "(and optional x, name), got " .. type(s), 4)
end

-- One panel holding every series of spec (its array part); options are the
-- spec's other keys.
function figure.lines(spec)
  if type(spec) ~= "table" then
    error("grilly.plot.lines: bad argument #1 (a table of series expected, got " .. type(spec) .. ")", 3)
  end
  local list = spec
  if is_number_array(spec) or type(spec.y) == "table" then list = { spec } end
  if #list == 0 then error("grilly.plot.lines: no series to plot", 3) end
  local series = {}
  for i = 1, #list do
    local s = series_of(list[i], i)
    s.color = s.color or figure.palette[(i - 1) % #figure.palette + 1]
    series[i] = s
  end
  local fig = {
    title = spec.title,
    xlabel = spec.xlabel or "x",
    panels = { { ylabel = spec.ylabel or "y", log_y = spec.log_y == true, series = series } },
  }
  return figure.layout(fig)
end

return figure

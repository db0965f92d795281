-- grilly.plot: optimizer histories and arbitrary series as PNG (gnuplot), SVG
-- (written here) or terminal braille text. See docs/plotting.md.
local figure = require "grilly.plot.figure"
local svg = require "grilly.plot.svg"
local braille = require "grilly.plot.braille"
local gnuplot = require "grilly.plot.gnuplot"

local plot = {}

-- The gnuplot program used for PNG output (GRILLY_GNUPLOT, else "gnuplot").
plot.gnuplot = gnuplot

local function format_of(fname, file)
  if type(file) ~= "string" then
    error("grilly.plot." .. fname .. ": option 'file' must be a string ending in .png or .svg, got " ..
          type(file), 4)
  end
  local ext = file:match("%.([%w]+)$")
  ext = ext and ext:lower()
  if ext ~= "png" and ext ~= "svg" then
    error("grilly.plot." .. fname .. ": option 'file' must end in .png or .svg, got '" .. file .. "'", 4)
  end
  return ext
end

local function write_file(path, text)
  local f, err = io.open(path, "w")
  if not f then return nil, "grilly.plot: cannot write " .. tostring(err) end
  f:write(text)
  f:close()
  return path
end

-- Ticks spaced for a text plot of opts.cols x opts.rows characters.
local function text_layout(fig, opts)
  local cols, rows = opts.cols or braille.COLS, opts.rows or braille.ROWS
  return figure.layout(fig, math.max(2, math.floor(cols / 10)), math.max(2, math.floor(rows / 2.5)))
end

-- Writes fig to opts.file (returns the path, or nil, message when the file
-- cannot be written or gnuplot is missing), or returns it as braille text
-- when no file is given.
local function output(fname, fig, opts)
  if opts.file == nil then return braille.render(text_layout(fig, opts), opts) end
  local ext = format_of(fname, opts.file)
  if ext == "svg" then return write_file(opts.file, svg.render(fig, opts)) end
  return gnuplot.render(fig, opts.file, opts)
end

local function check_opts(fname, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("grilly.plot." .. fname .. ": options must be a table, got " .. type(opts), 3)
  end
  return opts or {}
end

-- plot.history(source, names, opts): one panel per series name over a shared
-- step axis. source is an optimizer, a TSV log path, a grilly.train loop or a
-- table of columns. Series: lr, beta1, surprise, s_bar, gain from an
-- optimizer; any column from a log or table (loss, accuracy, ...).
-- opts: file (.png/.svg; without it the plot is returned as text), title,
-- xlabel, log_y (names drawn on a log axis, default {"lr"}; true/false for
-- all/none), width/height (pixels), cols/rows (characters), color.
function plot.history(source, names, opts)
  opts = check_opts("history", opts)
  local fig, err = figure.history(source, names, opts)
  if not fig then return nil, "grilly.plot.history: " .. err end
  return output("history", fig, opts)
end

-- plot.lines{series..., file =, title =, xlabel =, ylabel =, log_y =}: every
-- series in one panel with a legend. A series is an array of numbers or a
-- table {y = ..., x = ..., name = ...}.
function plot.lines(spec)
  local fig = figure.lines(spec)
  return output("lines", fig, spec)
end

-- plot.term(series, opts): the braille text of plot.lines for the series (one
-- series or a list of them); opts as for plot.lines, plus cols, rows, color.
function plot.term(series, opts)
  opts = check_opts("term", opts)
  if type(series) ~= "table" then
    error("grilly.plot.term: bad argument #1 (a series or a list of series expected, got " ..
          type(series) .. ")", 2)
  end
  local list = series
  if (#series > 0 and type(series[1]) == "number") or type(series.y) == "table" then list = { series } end
  local spec = {}
  for i = 1, #list do spec[i] = list[i] end
  for k, v in pairs(opts) do if type(k) == "string" then spec[k] = v end end
  return braille.render(text_layout(figure.lines(spec), opts), opts)
end

return plot

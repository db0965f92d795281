-- Renders a laid-out figure to PNG with gnuplot (Debian: gnuplot-nox), driven
-- through a pipe. Ranges, ticks and labels come from the figure, so the PNG
-- shows the same axes as the SVG and terminal renderings.
local scale = require "grilly.plot.scale"

local gnuplot = {}

-- The program to run; GRILLY_GNUPLOT overrides it.
gnuplot.command = os.getenv("GRILLY_GNUPLOT") or "gnuplot"

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function gp_quote(s) return "'" .. tostring(s):gsub("'", "''") .. "'" end

local function succeeded(status) return status == 0 or status == true end

local function missing_message(cmd)
  return "grilly.plot: PNG output needs gnuplot, and '" .. cmd .. "' was not found; " ..
         "install the Debian package gnuplot-nox (apt-get install gnuplot-nox) " ..
         "or write .svg instead, which needs nothing"
end

-- True when the command can be run, else nil, message.
local function available(cmd)
  if succeeded(os.execute("command -v " .. shell_quote(cmd) .. " >/dev/null 2>&1")) then return true end
  return nil, missing_message(cmd)
end

local function fmt(v) return string.format("%.10g", v) end

-- The gnuplot script that draws fig into path.
local function script(fig, path, opts)
  local width = opts.width or 800
  local panel_h = opts.panel_height or 200
  local n = #fig.panels
  local height = opts.height or ((fig.title and 40 or 12) + n * panel_h + (n - 1) * 36 + 56)
  local lines = {}
  local function add(s) lines[#lines + 1] = s end
  add("set terminal pngcairo noenhanced size " .. width .. "," .. height .. " font 'sans,10' background rgb 'white'")
  add("set output " .. gp_quote(path))
  add("set encoding utf8")
  -- Data blocks first; blank lines break a series where a point cannot be drawn.
  for i, p in ipairs(fig.panels) do
    for k, s in ipairs(p.series) do
      add("$d" .. i .. "_" .. k .. " << EOD")
      for j = 1, #s.y do
        local xv, yv = scale.position(fig.xaxis, s.x[j]), scale.position(p.yaxis, s.y[j])
        if xv and yv then add(fmt(s.x[j]) .. " " .. fmt(s.y[j])) else add("") end
      end
      add("EOD")
    end
  end
  local title = fig.title and (" title " .. gp_quote(fig.title) .. " font 'sans,13'") or ""
  add("set multiplot layout " .. n .. ",1" .. title)
  add("set grid xtics ytics lc rgb '#dddddd' lw 1 dt solid")
  add("set lmargin 10")
  add("set rmargin 3")
  add("set key top right opaque box lc rgb '#bbbbbb'")
  add("set border lw 1")
  local xaxis = fig.xaxis
  local xt = {}
  for _, t in ipairs(xaxis.ticks) do xt[#xt + 1] = gp_quote(t.label) .. " " .. fmt(t.value) end
  add("set xrange [" .. fmt(xaxis.lo) .. ":" .. fmt(xaxis.hi) .. "]")
  add("set xtics (" .. table.concat(xt, ", ") .. ")")
  for i, p in ipairs(fig.panels) do
    local yaxis = p.yaxis
    local lo, hi = yaxis.lo, yaxis.hi
    if yaxis.log then
      add("set logscale y")
      lo, hi = 10 ^ lo, 10 ^ hi
    else
      add("unset logscale y")
    end
    add("set yrange [" .. fmt(lo) .. ":" .. fmt(hi) .. "]")
    local yt = {}
    for _, t in ipairs(yaxis.ticks) do yt[#yt + 1] = gp_quote(t.label) .. " " .. fmt(t.value) end
    add(#yt > 0 and ("set ytics (" .. table.concat(yt, ", ") .. ")") or "unset ytics")
    add("set ylabel " .. gp_quote(p.ylabel .. (yaxis.log and " (log)" or "")))
    add("set xlabel " .. (i == n and gp_quote(fig.xlabel or "") or "''"))
    add("set title " .. (p.title and gp_quote(p.title) or "''"))
    add("unset label")
    if p.empty then
      add("set label 1 'no data' at graph 0.5, graph 0.5 center tc rgb '#888888'")
    end
    local plots = {}
    for k, s in ipairs(p.series) do
      plots[k] = "$d" .. i .. "_" .. k .. " using 1:2 with lines lw 2 lc rgb " .. gp_quote(s.color) ..
                 " title " .. gp_quote(s.name)
    end
    if p.empty then
      -- gnuplot cannot plot an empty data block; draw nothing in a fixed frame.
      add("plot NaN title " .. gp_quote(p.series[1].name) .. " lc rgb " .. gp_quote(p.series[1].color))
    else
      add("plot " .. table.concat(plots, ", \\\n     "))
    end
  end
  add("unset multiplot")
  add("set output")
  return table.concat(lines, "\n") .. "\n"
end

local function file_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local size = f:seek("end")
  f:close()
  return size
end

-- Draws fig into path. Returns path, or nil, message when gnuplot is missing
-- or fails.
function gnuplot.render(fig, path, opts)
  local cmd = opts.gnuplot or gnuplot.command
  local ok, err = available(cmd)
  if not ok then return nil, err end
  os.remove(path)
  local errfile = os.tmpname()
  local pipe = io.popen(shell_quote(cmd) .. " >" .. shell_quote(errfile) .. " 2>&1", "w")
  if not pipe then
    os.remove(errfile)
    return nil, "grilly.plot: cannot start " .. cmd
  end
  pipe:write(script(fig, path, opts))
  pipe:close()
  local f = io.open(errfile, "r")
  local messages = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(errfile)
  -- gnuplot reports errors (and warnings, which do no harm) as "line N: ...".
  local failed = false
  for line in messages:gmatch("[^\n]+") do
    if line:find("line %d+:") and not line:find("warning:") then failed = true end
  end
  local size = file_size(path)
  if not size or size == 0 or failed then
    return nil, "grilly.plot: gnuplot could not write " .. path ..
                (messages ~= "" and (": " .. messages:gsub("%s+$", "")) or "")
  end
  return path
end

return gnuplot

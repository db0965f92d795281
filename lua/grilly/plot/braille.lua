-- Terminal plots in Unicode braille: every character cell is a 2x4 grid of
-- dots, so a plot of C columns and R rows has 2C x 4R points of resolution.
local scale = require "grilly.plot.scale"

local braille = {}

local bit = require "bit"

-- Dot bits of a braille cell, by [column][row] inside the cell (U+2800 + bits).
local DOT = { [0] = { [0] = 0x01, 0x02, 0x04, 0x40 }, [1] = { [0] = 0x08, 0x10, 0x20, 0x80 } }

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40)
  end
  return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local ANSI = {
  ["#1f77b4"] = 34, ["#d62728"] = 31, ["#2ca02c"] = 32, ["#ff7f0e"] = 33,
  ["#9467bd"] = 35, ["#8c564b"] = 33, ["#e377c2"] = 35, ["#17becf"] = 36,
}

-- A canvas of cols x rows cells; dots are set in pixel coordinates where
-- (0, 0) is the top left dot.
local function canvas(cols, rows)
  local c = { cols = cols, rows = rows, bits = {}, color = {} }
  for i = 1, cols * rows do c.bits[i] = 0 end
  function c:set(px, py, color)
    if px < 0 or py < 0 or px >= 2 * cols or py >= 4 * rows then return end
    local cell = math.floor(py / 4) * cols + math.floor(px / 2) + 1
    self.bits[cell] = bit.bor(self.bits[cell], DOT[px % 2][py % 4])
    self.color[cell] = color
  end
  -- Bresenham between two dots.
  function c:line(x0, y0, x1, y1, color)
    local dx, dy = math.abs(x1 - x0), -math.abs(y1 - y0)
    local sx, sy = x0 < x1 and 1 or -1, y0 < y1 and 1 or -1
    local err = dx + dy
    while true do
      self:set(x0, y0, color)
      if x0 == x1 and y0 == y1 then return end
      local e2 = 2 * err
      if e2 >= dy then err = err + dy; x0 = x0 + sx end
      if e2 <= dx then err = err + dx; y0 = y0 + sy end
    end
  end
  function c:row(r, use_color)
    local out = {}
    local current
    for col = 1, cols do
      local cell = (r - 1) * cols + col
      local b = self.bits[cell]
      local ch = b == 0 and " " or utf8_char(0x2800 + b)
      if use_color then
        local code = b ~= 0 and (ANSI[self.color[cell]] or 39) or nil
        if code ~= current then
          out[#out + 1] = code and ("\27[" .. code .. "m") or "\27[0m"
          current = code
        end
      end
      out[#out + 1] = ch
    end
    if use_color and current then out[#out + 1] = "\27[0m" end
    return table.concat(out)
  end
  return c
end

local function pad_left(s, w) return string.rep(" ", w - #s) .. s end

local function centre(s, w)
  if #s >= w then return s end
  local left = math.floor((w - #s) / 2)
  return string.rep(" ", left) .. s
end

-- The x tick label line and tick marks for an axis of `cols` cells.
local function x_axis_lines(xaxis, cols, margin)
  local marks = {}
  for i = 1, cols do marks[i] = "─" end
  local labels = string.rep(" ", cols + 8)
  local last_end = -1
  for _, t in ipairs(xaxis.ticks) do
    local col = math.floor((t.pos - xaxis.lo) / (xaxis.hi - xaxis.lo) * (cols - 1) + 0.5)
    if col >= 0 and col < cols then
      marks[col + 1] = "┬"
      local start = col - math.floor(#t.label / 2)
      if start < 0 then start = 0 end
      if start > last_end then
        labels = labels:sub(1, start) .. t.label .. labels:sub(start + #t.label + 1)
        last_end = start + #t.label
      end
    end
  end
  return string.rep(" ", margin) .. "└" .. table.concat(marks),
         (string.rep(" ", margin + 1) .. labels):gsub("%s+$", "")
end

-- Renders fig (see grilly.plot.figure) as text. opts: cols (plot width in
-- characters, default 60), rows (height of each panel, default 10), color
-- (ANSI colours per series, default false).
braille.COLS, braille.ROWS = 60, 10

function braille.render(fig, opts)
  opts = opts or {}
  local cols = opts.cols or braille.COLS
  local rows = opts.rows or braille.ROWS
  local use_color = opts.color == true
  local xaxis = fig.xaxis
  local out = {}

  -- One margin for every panel, wide enough for the longest y tick label.
  local margin = 1
  for _, p in ipairs(fig.panels) do
    for _, t in ipairs(p.yaxis.ticks) do margin = math.max(margin, #t.label + 1) end
  end

  if fig.title then out[#out + 1] = string.rep(" ", margin + 1) .. centre(fig.title, cols) end
  for pi, p in ipairs(fig.panels) do
    local yaxis = p.yaxis
    local header = p.ylabel .. (yaxis.log and " (log)" or "")
    if p.title then header = p.title .. ": " .. header end
    out[#out + 1] = string.rep(" ", margin + 1) .. header
    local c = canvas(cols, rows)
    local function dot_x(v) return math.floor((v - xaxis.lo) / (xaxis.hi - xaxis.lo) * (2 * cols - 1) + 0.5) end
    local function dot_y(v) return math.floor((yaxis.hi - v) / (yaxis.hi - yaxis.lo) * (4 * rows - 1) + 0.5) end
    for _, s in ipairs(p.series) do
      local px, py
      for i = 1, #s.y do
        local xv, yv = scale.position(xaxis, s.x[i]), scale.position(yaxis, s.y[i])
        if xv and yv then
          local x, y = dot_x(xv), dot_y(yv)
          if px then c:line(px, py, x, y, s.color) else c:set(x, y, s.color) end
          px, py = x, y
        else
          px, py = nil, nil
        end
      end
    end
    -- y tick labels on the rows their values fall in.
    local labels = {}
    for _, t in ipairs(yaxis.ticks) do
      local r = math.floor(dot_y(t.pos) / 4) + 1
      if r >= 1 and r <= rows and not labels[r] then labels[r] = t.label end
    end
    for r = 1, rows do
      local label = labels[r] and pad_left(labels[r], margin - 1) .. " ┤" or string.rep(" ", margin) .. "│"
      local body = c:row(r, use_color)
      if p.empty and r == math.floor((rows + 1) / 2) then body = centre("no data", cols) end
      out[#out + 1] = (label .. body):gsub("%s+$", "")
    end
    local axis, tick_labels = x_axis_lines(xaxis, cols, margin)
    out[#out + 1] = axis
    if pi == #fig.panels then
      out[#out + 1] = tick_labels
      if fig.xlabel and fig.xlabel ~= "" then
        out[#out + 1] = string.rep(" ", margin + 1) .. centre(fig.xlabel, cols)
      end
    end
  end
  -- Legend: a short line in each series' colour (with colour on), then its name.
  local legend = {}
  for _, p in ipairs(fig.panels) do
    for _, s in ipairs(p.series) do
      local swatch = "⠒⠒"
      if use_color then swatch = "\27[" .. (ANSI[s.color] or 39) .. "m" .. swatch .. "\27[0m" end
      legend[#legend + 1] = swatch .. " " .. s.name
    end
  end
  out[#out + 1] = string.rep(" ", margin + 1) .. table.concat(legend, "   ")
  return table.concat(out, "\n") .. "\n"
end

return braille

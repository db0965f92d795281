-- Writes a laid-out figure as a standalone SVG document: one <path> per
-- series, with frame, grid, ticks, labels, titles and a legend per panel.
local scale = require "grilly.plot.scale"

local svg = {}

local FONT = 'font-family="sans-serif"'

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", {
    ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;",
  }))
end

local function num(v) return string.format("%.2f", v) end

-- The path data of one series, starting a new subpath after every point that
-- cannot be drawn (non-finite, or not positive on a log axis).
local function path_data(s, px, py, xaxis, yaxis)
  local parts, pen_down = {}, false
  for i = 1, #s.y do
    local xv, yv = scale.position(xaxis, s.x[i]), scale.position(yaxis, s.y[i])
    if xv and yv then
      parts[#parts + 1] = (pen_down and "L" or "M") .. num(px(xv)) .. " " .. num(py(yv))
      pen_down = true
    else
      pen_down = false
    end
  end
  return table.concat(parts, " ")
end

-- Renders fig (see grilly.plot.figure) to an SVG string.
function svg.render(fig, opts)
  opts = opts or {}
  local width = opts.width or 800
  local panel_h = opts.panel_height or 200
  local left, right = 80, 24
  local top = fig.title and 40 or 12
  local gap = 36
  local bottom = 56
  local n = #fig.panels
  local height = opts.height or (top + n * panel_h + (n - 1) * gap + bottom)
  panel_h = (height - top - bottom - (n - 1) * gap) / n
  local plot_w = width - left - right
  local out = {}
  local function add(s) out[#out + 1] = s end

  add('<?xml version="1.0" encoding="UTF-8"?>')
  add(string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">',
                    width, height, width, height))
  add(string.format('<rect class="background" x="0" y="0" width="%d" height="%d" fill="white"/>', width, height))
  if fig.title then
    add(string.format('<text class="title" x="%s" y="26" text-anchor="middle" %s font-size="16">%s</text>',
                      num(width / 2), FONT, esc(fig.title)))
  end

  local xaxis = fig.xaxis
  local function px(v) return left + (v - xaxis.lo) / (xaxis.hi - xaxis.lo) * plot_w end

  for i, p in ipairs(fig.panels) do
    local y0 = top + (i - 1) * (panel_h + gap)
    local yaxis = p.yaxis
    local function py(v) return y0 + panel_h - (v - yaxis.lo) / (yaxis.hi - yaxis.lo) * panel_h end
    add(string.format('<g class="panel" id="panel-%d">', i))
    if p.title then
      add(string.format('<text class="panel-title" x="%s" y="%s" text-anchor="middle" %s font-size="13">%s</text>',
                        num(left + plot_w / 2), num(y0 - 8), FONT, esc(p.title)))
    end
    -- Grid lines and tick labels.
    for _, t in ipairs(yaxis.ticks) do
      local y = py(t.pos)
      add(string.format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd" stroke-width="1"/>',
                        num(left), num(y), num(left + plot_w), num(y)))
      add(string.format('<line class="tick" x1="%s" y1="%s" x2="%s" y2="%s" stroke="black" stroke-width="1"/>',
                        num(left - 5), num(y), num(left), num(y)))
      add(string.format('<text class="tick-label" x="%s" y="%s" text-anchor="end" %s font-size="11">%s</text>',
                        num(left - 8), num(y + 4), FONT, esc(t.label)))
    end
    for _, t in ipairs(xaxis.ticks) do
      local x = px(t.pos)
      add(string.format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd" stroke-width="1"/>',
                        num(x), num(y0), num(x), num(y0 + panel_h)))
      add(string.format('<line class="tick" x1="%s" y1="%s" x2="%s" y2="%s" stroke="black" stroke-width="1"/>',
                        num(x), num(y0 + panel_h), num(x), num(y0 + panel_h + 5)))
      add(string.format('<text class="tick-label" x="%s" y="%s" text-anchor="middle" %s font-size="11">%s</text>',
                        num(x), num(y0 + panel_h + 18), FONT, esc(t.label)))
    end
    add(string.format('<rect class="frame" x="%d" y="%s" width="%s" height="%s" fill="none" stroke="black" stroke-width="1"/>',
                      left, num(y0), num(plot_w), num(panel_h)))
    -- y label, turned to run along the axis.
    local label = p.ylabel .. (yaxis.log and " (log)" or "")
    add(string.format('<text class="axis-label" x="18" y="%s" text-anchor="middle" %s font-size="12" transform="rotate(-90 18 %s)">%s</text>',
                      num(y0 + panel_h / 2), FONT, num(y0 + panel_h / 2), esc(label)))
    if p.empty then
      add(string.format('<text class="no-data" x="%s" y="%s" text-anchor="middle" %s font-size="12" fill="#888888">no data</text>',
                        num(left + plot_w / 2), num(y0 + panel_h / 2), FONT))
    end
    add(string.format('<clipPath id="clip-%d"><rect x="%d" y="%s" width="%s" height="%s"/></clipPath>',
                      i, left, num(y0), num(plot_w), num(panel_h)))
    for _, s in ipairs(p.series) do
      add(string.format('<path class="series" data-name="%s" d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" clip-path="url(#clip-%d)"/>',
                        esc(s.name), path_data(s, px, py, xaxis, yaxis), s.color, i))
    end
    -- Legend, top right inside the frame.
    local lx = left + plot_w - 10
    local ly = y0 + 14
    add('<g class="legend">')
    for k, s in ipairs(p.series) do
      local y = ly + (k - 1) * 16
      add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>',
                        num(lx - 24), num(y - 4), num(lx - 4), num(y - 4), s.color))
      add(string.format('<text x="%s" y="%s" text-anchor="end" %s font-size="11">%s</text>',
                        num(lx - 30), num(y), FONT, esc(s.name)))
    end
    add('</g>')
    add('</g>')
  end
  add(string.format('<text class="axis-label" x="%s" y="%s" text-anchor="middle" %s font-size="12">%s</text>',
                    num(left + plot_w / 2), num(height - 14), FONT, esc(fig.xlabel or "")))
  add('</svg>')
  return table.concat(out, "\n") .. "\n"
end

return svg

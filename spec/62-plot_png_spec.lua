-- grilly.plot PNG output through gnuplot, and the message when it is missing.
local plot = require "grilly.plot"
local png = require "png_decode"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function tmp(ext)
  local p = os.tmpname()
  os.remove(p)
  return p .. ext
end

local function hex_rgb(hex)
  return tonumber(hex:sub(2, 3), 16), tonumber(hex:sub(4, 5), 16), tonumber(hex:sub(6, 7), 16)
end

describe("grilly.plot PNG output", function()
  it("writes a PNG with the requested size whose pixels show every series", function()
    local file = tmp(".png")
    local path, err = plot.lines{ { y = { 1, 4, 9, 16 }, name = "squares" },
                                  { y = { 16, 9, 4, 1 }, name = "down" },
                                  file = file, title = "two", width = 640, height = 300 }
    assert.equal(file, path, err)
    local data = read(file)
    os.remove(file)
    assert.equal("\137PNG\r\n\26\n", data:sub(1, 8))
    local img = assert(png.decode(data))
    assert.equal(640, img.width)
    assert.equal(300, img.height)

    local colours, dark = {}, 0
    local near = { 0, 0 }
    local palette = require("grilly.plot.figure").palette
    local want = { { hex_rgb(palette[1]) }, { hex_rgb(palette[2]) } }
    local distinct = 0
    for y = 0, img.height - 1 do
      for x = 0, img.width - 1 do
        local r, g, b = img.pixel(x, y)
        local key = r * 65536 + g * 256 + b
        if not colours[key] then colours[key] = true; distinct = distinct + 1 end
        if r + g + b < 600 then dark = dark + 1 end
        for i, c in ipairs(want) do
          if math.abs(r - c[1]) + math.abs(g - c[2]) + math.abs(b - c[3]) < 30 then near[i] = near[i] + 1 end
        end
      end
    end
    assert.is_true(distinct > 10, "only " .. distinct .. " colours")
    assert.is_true(dark > img.width * img.height / 200, "only " .. dark .. " non-background pixels")
    -- Each series' line colour covers at least a line's worth of pixels.
    assert.is_true(near[1] > 200, "first series colour on " .. near[1] .. " pixels")
    assert.is_true(near[2] > 200, "second series colour on " .. near[2] .. " pixels")
  end)

  it("stacks one panel per history series in a taller image", function()
    local file = tmp(".png")
    local cols = { step = { 1, 2, 3, 4 }, loss = { 4, 3, 2, 1 }, lr = { 1e-3, 2e-3, 4e-3, 8e-3 } }
    assert.equal(file, plot.history(cols, { "loss", "lr" }, { file = file }))
    local one = tmp(".png")
    assert.equal(one, plot.history(cols, { "loss" }, { file = one }))
    local two_h = assert(png.decode(read(file))).height
    local one_h = assert(png.decode(read(one))).height
    os.remove(file)
    os.remove(one)
    assert.is_true(two_h > one_h)
  end)

  it("names the package when gnuplot is missing, and SVG and text still work", function()
    local saved = plot.gnuplot.command
    plot.gnuplot.command = "/nonexistent/gnuplot"
    local file = tmp(".png")
    local ok, err = plot.lines{ { 1, 2, 3 }, file = file }
    local svg_file = tmp(".svg")
    local svg_ok = plot.lines{ { 1, 2, 3 }, file = svg_file }
    local text = plot.term({ 1, 2, 3 })
    plot.gnuplot.command = saved
    os.remove(svg_file)
    assert.is_nil(ok)
    assert.matches("needs gnuplot", err)
    assert.matches("gnuplot%-nox", err)
    assert.is_nil(io.open(file, "r"))
    assert.equal(svg_file, svg_ok)
    assert.truthy(text:find("┤", 1, true))
  end)

  it("reports gnuplot's failure to write the file", function()
    local ok, err = plot.lines{ { 1, 2, 3 }, file = "/nonexistent-dir/x.png" }
    assert.is_nil(ok)
    assert.matches("gnuplot could not write /nonexistent%-dir/x.png", err)
  end)
end)

-- grilly.plot PNG output through gnuplot, and the message when it is missing.
local scratch = require "scratch_files"
local plot = require "grilly.plot"
local png = require "png_decode"

local read, tmp = scratch.read, scratch.path

local function hex_rgb(hex)
  return tonumber(hex:sub(2, 3), 16), tonumber(hex:sub(4, 5), 16), tonumber(hex:sub(6, 7), 16)
end

-- A valid RGB PNG of one colour, encoded here through zlib.
local function solid_png(width, height, r, g, b)
  local ffi = require "ffi"
  pcall(ffi.cdef, [[
    int compress(uint8_t *dest, unsigned long *destLen, const uint8_t *source, unsigned long sourceLen);
    unsigned long crc32(unsigned long crc, const uint8_t *buf, unsigned int len);
  ]])
  local zlib = ffi.load("libz.so.1")
  local function u32(n) return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                                           math.floor(n / 256) % 256, n % 256) end
  local function chunk(typ, data)
    return u32(#data) .. typ .. data .. u32(tonumber(zlib.crc32(0, typ .. data, #typ + #data)))
  end
  local row = "\0" .. string.char(r, g, b):rep(width)
  local raw = row:rep(height)
  local cap = #raw + 1024
  local out, len = ffi.new("uint8_t[?]", cap), ffi.new("unsigned long[1]", cap)
  assert(zlib.compress(out, len, raw, #raw) == 0)
  return "\137PNG\r\n\26\n" .. chunk("IHDR", u32(width) .. u32(height) .. "\8\2\0\0\0")
         .. chunk("IDAT", ffi.string(out, len[0])) .. chunk("IEND", "")
end

describe("grilly.plot PNG output", function()
  it("writes a PNG with the requested size whose pixels show every series", function()
    local file = tmp(".png")
    local path, err = plot.lines{ { y = { 1, 4, 9, 16 }, name = "squares" },
                                  { y = { 16, 9, 4, 1 }, name = "down" },
                                  file = file, title = "two", width = 640, height = 300 }
    assert.equal(file, path, err)
    local palette = require("grilly.plot.figure").palette
    local img, census = png.read_drawing(file, { { hex_rgb(palette[1]) }, { hex_rgb(palette[2]) } })
    os.remove(file)
    assert(img, census)
    assert.equal(640, img.width)
    assert.equal(300, img.height)
    -- Each series' line colour covers at least a line's worth of pixels.
    local near = census.near
    assert.is_true(near[1] > 200, "first series colour on " .. near[1] .. " pixels")
    assert.is_true(near[2] > 200, "second series colour on " .. near[2] .. " pixels")
  end)

  it("tells a drawing from a blank image (the check the example specs use)", function()
    local blank = tmp(".png")
    scratch.write(blank, solid_png(40, 30, 255, 255, 255))
    local img, err = png.read_drawing(blank)
    os.remove(blank)
    assert.is_nil(img)
    assert.matches("only 1 colours", err)
    local drawn = tmp(".png")
    assert.equal(drawn, plot.lines{ { 1, 3, 2 }, file = drawn })
    assert.truthy(png.read_drawing(drawn))
    os.remove(drawn)
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

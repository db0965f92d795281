-- Decodes an 8-bit PNG (grey, RGB, RGBA; no interlace) into rows of pixels,
-- enough to check that a rendered plot is not blank. zlib through the FFI.
local ffi = require "ffi"
local bit = require "bit"

ffi.cdef [[
int uncompress(uint8_t *dest, unsigned long *destLen, const uint8_t *source, unsigned long sourceLen);
]]
local zlib = ffi.load("libz.so.1")

local png = {}

local function u32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- The chunks of a PNG file: { {type = "IHDR", data = ...}, ... }, or nil, message.
function png.chunks(data)
  if data:sub(1, 8) ~= "\137PNG\r\n\26\n" then return nil, "not a PNG signature" end
  local chunks, pos = {}, 9
  while pos <= #data do
    if pos + 8 > #data + 1 then return nil, "truncated chunk header" end
    local len = u32(data, pos)
    local typ = data:sub(pos + 4, pos + 7)
    if pos + 12 + len > #data + 1 then return nil, "truncated " .. typ .. " chunk" end
    chunks[#chunks + 1] = { type = typ, data = data:sub(pos + 8, pos + 7 + len) }
    pos = pos + 12 + len
  end
  return chunks
end

local CHANNELS = { [0] = 1, [2] = 3, [4] = 2, [6] = 4 }

local function paeth(a, b, c)
  local p = a + b - c
  local pa, pb, pc = math.abs(p - a), math.abs(p - b), math.abs(p - c)
  if pa <= pb and pa <= pc then return a elseif pb <= pc then return b end
  return c
end

-- Decodes data into { width, height, channels, pixel = function(x, y) -> r, g, b, a }.
function png.decode(data)
  local chunks, err = png.chunks(data)
  if not chunks then return nil, err end
  if chunks[1].type ~= "IHDR" then return nil, "first chunk is " .. chunks[1].type .. ", not IHDR" end
  local h = chunks[1].data
  local width, height = u32(h, 1), u32(h, 5)
  local depth, ctype, interlace = h:byte(9), h:byte(10), h:byte(13)
  local channels = CHANNELS[ctype]
  if depth ~= 8 or not channels or interlace ~= 0 then
    return nil, string.format("unsupported PNG: depth %d, colour type %d, interlace %d", depth, ctype, interlace)
  end
  local idat = {}
  for _, c in ipairs(chunks) do if c.type == "IDAT" then idat[#idat + 1] = c.data end end
  local z = table.concat(idat)
  local stride = width * channels
  local size = height * (stride + 1)
  local raw = ffi.new("uint8_t[?]", size)
  local len = ffi.new("unsigned long[1]", size)
  local rc = zlib.uncompress(raw, len, z, #z)
  if rc ~= 0 or len[0] ~= size then return nil, "IDAT does not inflate to the image size" end
  local img = ffi.new("uint8_t[?]", height * stride)
  for y = 0, height - 1 do
    local filter = raw[y * (stride + 1)]
    local src = y * (stride + 1) + 1
    local dst = y * stride
    for i = 0, stride - 1 do
      local x = raw[src + i]
      local a = i >= channels and img[dst + i - channels] or 0
      local b = y > 0 and img[dst - stride + i] or 0
      local c = (i >= channels and y > 0) and img[dst - stride + i - channels] or 0
      local v
      if filter == 0 then v = x
      elseif filter == 1 then v = x + a
      elseif filter == 2 then v = x + b
      elseif filter == 3 then v = x + math.floor((a + b) / 2)
      elseif filter == 4 then v = x + paeth(a, b, c)
      else return nil, "bad filter type " .. filter .. " on row " .. y end
      img[dst + i] = bit.band(v, 0xff)
    end
  end
  local result = { width = width, height = height, channels = channels }
  function result.pixel(x, y)
    local o = y * stride + x * channels
    if channels == 1 then return img[o], img[o], img[o], 255 end
    if channels == 2 then return img[o], img[o], img[o], img[o + 1] end
    return img[o], img[o + 1], img[o + 2], channels == 4 and img[o + 3] or 255
  end
  return result
end

-- Counts over a decoded image: distinct colours, pixels darker than the
-- near-white background, and for each {r, g, b} in colours the pixels within
-- a small distance of it.
function png.census(img, colours)
  colours = colours or {}
  local seen, distinct, dark, near = {}, 0, 0, {}
  for i = 1, #colours do near[i] = 0 end
  for y = 0, img.height - 1 do
    for x = 0, img.width - 1 do
      local r, g, b = img.pixel(x, y)
      local key = r * 65536 + g * 256 + b
      if not seen[key] then seen[key] = true; distinct = distinct + 1 end
      if r + g + b < 600 then dark = dark + 1 end
      for i, c in ipairs(colours) do
        if math.abs(r - c[1]) + math.abs(g - c[2]) + math.abs(b - c[3]) < 30 then near[i] = near[i] + 1 end
      end
    end
  end
  return { distinct = distinct, dark = dark, near = near }
end

-- Reads the PNG file at path and checks that it holds a drawing, not a blank
-- image: a PNG signature, pixels that decode, more than ten colours and
-- non-background pixels on more than 1/200 of the area. Returns the image
-- and its census (see png.census), or nil and what is wrong.
function png.read_drawing(path, colours)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("*a")
  f:close()
  local img, why = png.decode(data)
  if not img then return nil, path .. ": " .. why end
  local c = png.census(img, colours)
  if c.distinct <= 10 then return nil, path .. ": only " .. c.distinct .. " colours" end
  if c.dark <= img.width * img.height / 200 then
    return nil, path .. ": only " .. c.dark .. " non-background pixels"
  end
  return img, c
end

return png

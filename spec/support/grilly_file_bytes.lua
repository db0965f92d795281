-- A plain-Lua writer of the grilly file format, written from docs/file-format.md
-- and independent of the C code: specs build valid, hostile and damaged files
-- byte by byte with it, and check the C writer's output against it.
local bit = require "bit"
local ffi = require "ffi"

local M = {}

-- CRC-32C, one byte at a time (reflected polynomial 0x82F63B78).
local crc_table = {}
for b = 0, 255 do
  local c = b
  for _ = 1, 8 do
    if bit.band(c, 1) ~= 0 then c = bit.bxor(bit.rshift(c, 1), 0x82F63B78) else c = bit.rshift(c, 1) end
  end
  crc_table[b] = c
end

function M.crc32c(s)
  local c = bit.bnot(0)
  for i = 1, #s do
    c = bit.bxor(bit.rshift(c, 8), crc_table[bit.band(bit.bxor(c, s:byte(i)), 0xFF)])
  end
  c = bit.bnot(c)
  return c < 0 and c + 2^32 or c
end

-- Little-endian unsigned integers; u64 takes a number below 2^53, or two
-- 32-bit halves (high, low) for larger values.
function M.u32(n)
  local b = {}
  for i = 1, 4 do b[i] = n % 256; n = math.floor(n / 256) end
  return string.char(unpack(b))
end

function M.u64(n, low)
  if low then return M.u32(low) .. M.u32(n) end
  return M.u32(n % 2^32) .. M.u32(math.floor(n / 2^32))
end

local f32 = ffi.new("union { float f; uint32_t u; }")
local f64 = ffi.new("union { double d; struct { uint32_t lo, hi; } w; }")

-- float32 values given as numbers, or as raw bit patterns with {bits = 0x7fc00001}.
function M.f32s(values)
  local out = {}
  for i, v in ipairs(values) do
    if type(v) == "table" then out[i] = M.u32(v.bits)
    else f32.f = v; out[i] = M.u32(tonumber(f32.u)) end
  end
  return table.concat(out)
end

function M.f64s(values)
  local out = {}
  for i, v in ipairs(values) do
    f64.d = v
    out[i] = M.u32(tonumber(f64.w.lo)) .. M.u32(tonumber(f64.w.hi))
  end
  return table.concat(out)
end

M.MAGIC = "\137GRL\r\n\26\n"
M.TAGS = { f32 = "F32T", f64 = "F64A", i64 = "I64A", bytes = "BYTS", ["end"] = "END!" }

function M.header(version, reserved)
  return M.MAGIC .. M.u32(version or 1) .. M.u32(reserved or 0)
end

-- One record: kind is a key of M.TAGS or a raw 4-byte tag; shape is a list of
-- sizes (each a number or a preformatted 8-byte string); payload is raw bytes.
function M.record(kind, name, shape, payload, opts)
  opts = opts or {}
  local dims = {}
  for i, d in ipairs(shape) do dims[i] = type(d) == "string" and d or M.u64(d) end
  return (M.TAGS[kind] or kind) .. M.u32(opts.name_len or #name) .. M.u32(opts.ndim or #shape)
         .. table.concat(dims) .. name .. payload
end

-- The end marker closing `body` (everything before it), holding `count` records.
function M.end_marker(body, count, opts)
  opts = opts or {}
  local fields = M.TAGS["end"] .. M.u32(opts.reserved or 0) .. M.u64(count)
                 .. M.u64(opts.length or (#body + 28))
  return fields .. M.u32(M.crc32c(body .. fields))
end

-- A whole file from a list of records (strings made by M.record).
function M.file(records, opts)
  opts = opts or {}
  local body = M.header(opts.version, opts.reserved) .. table.concat(records)
  return body .. M.end_marker(body, opts.count or #records, opts)
end

-- Replaces the last four bytes with the CRC of all bytes before them.
function M.fix_crc(s)
  local body = s:sub(1, -5)
  return body .. M.u32(M.crc32c(body))
end

local scratch = require "scratch_files"
M.write, M.read = scratch.write, scratch.read

return M

-- A plain-Lua Philox4x32-10 and the uniform / normal transforms of grilly's
-- generator, written from the generator's description, for checking any
-- device's random fills.
local ffi = require "ffi"
local bit = require "bit"

local philox = {}

local M0, M1 = 0xD2511F53, 0xCD9E8D57
local W0, W1 = 0x9E3779B9, 0xBB67AE85
local TWO32 = 4294967296

local u64 = ffi.typeof("uint64_t")
local fbox = ffi.new("float[1]")
local function f32(x)
  fbox[0] = x
  return fbox[0]
end

-- High and low 32-bit words of the 64-bit product of two 32-bit numbers.
local function mulhilo(a, b)
  local p = u64(a) * b
  return tonumber(p / 4294967296ULL), tonumber(p % 4294967296ULL)
end

local function xor3(a, b, c) return bit.bxor(a, b, c) % TWO32 end

-- Ten rounds on the counter block (c0..c3) under key (k0, k1).
function philox.block(c0, c1, c2, c3, k0, k1)
  for _ = 1, 10 do
    local hi0, lo0 = mulhilo(M0, c0)
    local hi1, lo1 = mulhilo(M1, c2)
    c0, c1, c2, c3 = xor3(hi1, c1, k0), lo1, xor3(hi0, c3, k1), lo0
    k0, k1 = (k0 + W0) % TWO32, (k1 + W1) % TWO32
  end
  return c0, c1, c2, c3
end

-- The four words for stream position c (an integer below 2^53) under seed.
function philox.words(seed, c)
  return philox.block(c % TWO32, math.floor(c / TWO32), 0, 0, seed % TWO32, math.floor(seed / TWO32))
end

-- Uniform on [a, b) in float32 arithmetic: bit-exact.
function philox.uniform(seed, c, a, b)
  a, b = a or 0, b or 1
  local o0 = philox.words(seed, c)
  local u = math.floor(o0 / 256) * 2 ^ -24
  return f32(a + f32(f32(b - a) * u))
end

-- Normal with mean and std, computed in double: agrees with float32 paths to
-- the rounding of log and cos.
function philox.normal(seed, c, mean, std)
  mean, std = mean or 0, std or 1
  local o0, o1 = philox.words(seed, c)
  local u1 = (math.floor(o0 / 256) + 1) * 2 ^ -24
  local u2 = math.floor(o1 / 256) * 2 ^ -24
  return mean + std * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
end

return philox

-- Support for the Vulkan specs: whether a Vulkan device opens here, and
-- comparisons of a Vulkan result with the CPU result of the same op.
-- A spec file that needs Vulkan starts its describe block with
--   if not gpu.available then return pending(gpu.reason) end
-- so that a machine without Vulkan shows the reason as a pending spec.
local ffi = require "ffi"
local grilly = require "grilly"
local assert = require "luassert"

local gpu = {}

local ok, err = pcall(function() return grilly.zeros(1, {device = "vulkan"}) end)
gpu.available = ok
gpu.reason = ok and nil or ("no Vulkan device, Vulkan specs skipped: " .. tostring(err))
gpu.device = "vulkan"

-- The entry of grilly.devices() for the device the specs run on.
if ok then
  local name = err.device
  for _, d in ipairs(grilly.devices()) do
    if d.device == name then gpu.info = d end
  end
end

-- A random CPU tensor (normal, deterministic per seed) and its Vulkan copy.
function gpu.pair(shape, seed, scale)
  grilly.manual_seed(seed or 1)
  local c = grilly.randn(shape, {device = "cpu"})
  if scale then c = c * scale end
  return c, c:to(gpu.device)
end

local function flat(t)
  if t:numel() == 0 then return {} end
  return t:view(-1):totable()
end

-- Asserts that the Vulkan tensor v holds the CPU tensor c's values: same
-- shape, each value within atol + rtol * |expected| (NaN matching NaN,
-- infinities matching exactly). rtol = 0 and atol = 0 ask for equality.
function gpu.assert_close(v, c, rtol, atol)
  rtol, atol = rtol or 0, atol or 0
  assert.matches("^vulkan:", v.device)
  assert.same(c:size(), v:size())
  local got, want = flat(v:to("cpu")), flat(c)
  for i = 1, #want do
    local g, w = got[i], want[i]
    local good
    if w ~= w then good = g ~= g
    elseif w == math.huge or w == -math.huge then good = g == w
    else good = math.abs(g - w) <= atol + rtol * math.abs(w) end
    if not good then
      error(string.format("element %d: Vulkan gave %.9g, CPU gave %.9g (rtol %g, atol %g)", i, g, w, rtol, atol), 2)
    end
  end
end

local fbox = ffi.new("float[1]")
local ubox = ffi.cast("uint32_t *", fbox)

-- The bit pattern of x rounded to float32, and the float32 with bits u.
function gpu.bits(x) fbox[0] = x; return tonumber(ubox[0]) end
-- A NaN comes back as the canonical NaN: LuaJIT's tagged values would read some
-- NaN payloads, widened to double, as other types (a function, say).
function gpu.from_bits(u)
  if u % 2^31 > 0x7f800000 then return 0 / 0 end
  ubox[0] = u
  return fbox[0]
end

local function is_nan(x) return x ~= x end

-- Asserts that v holds c's values bit for bit (any NaN matching any NaN),
-- except where skip(i, cpu_value) is true.
function gpu.assert_bits(v, c, what, skip)
  assert.same(c:size(), v:size())
  local got, want = flat(v:to("cpu")), flat(c)
  for i = 1, #want do
    local g, w = got[i], want[i]
    local good = (is_nan(g) and is_nan(w)) or (not is_nan(g) and gpu.bits(g) == gpu.bits(w))
    if not good and not (skip and skip(i, w)) then
      error(string.format("%s, element %d: Vulkan gave %.9g (0x%08x), CPU gave %.9g (0x%08x)", what or "bits", i,
                          g, gpu.bits(g), w, gpu.bits(w)), 2)
    end
  end
end

-- Asserts that v holds c's values with the same NaN, infinities and zeros
-- (signs included) and other values within rtol, subnormals within a few of
-- their units.
function gpu.assert_special_close(v, c, rtol, what)
  assert.same(c:size(), v:size())
  local got, want = flat(v:to("cpu")), flat(c)
  for i = 1, #want do
    local g, w = got[i], want[i]
    local good
    if is_nan(w) then good = is_nan(g)
    elseif w == 0 or w == math.huge or w == -math.huge then good = gpu.bits(g) == gpu.bits(w)
    else good = math.abs(g - w) <= rtol * math.abs(w) + 4 * 2^-149 end
    if not good then
      error(string.format("%s, element %d: Vulkan gave %.9g, CPU gave %.9g (rtol %g)", what or "values", i, g, w, rtol), 2)
    end
  end
end

-- Whether a float32 value is subnormal.
function gpu.subnormal(x) return x ~= 0 and math.abs(x) < 2^-126 end

-- Float32 values of every kind, on the CPU: n with random sign, exponent
-- field (subnormals, infinities and NaN included) and significand, then the
-- edge values. A deterministic generator of its own (Park-Miller) keeps them
-- the same on every run.
gpu.edges = { 0, -0.0, 1, -1, 2, 0.5, 3, -7, math.huge, -math.huge, 0 / 0, 2^-149, -2^-149,
              2^-126 - 2^-149, 2^-126, -2^-126, (2 - 2^-23) * 2^127, -(2 - 2^-23) * 2^127, 1 + 2^-23, 1 - 2^-24 }

function gpu.any_floats(n, seed)
  local state = seed % 2147483646 + 1
  local function draw(m)
    state = (state * 16807) % 2147483647
    return state % m
  end
  local t = {}
  for i = 1, n do
    t[i] = gpu.from_bits(draw(2) * 2^31 + draw(256) * 2^23 + draw(2^23))
  end
  for _, e in ipairs(gpu.edges) do t[#t + 1] = e end
  return grilly.tensor(t, {device = "cpu"})
end

return gpu

-- Support for the Vulkan specs: whether a Vulkan device opens here, and
-- comparisons of a Vulkan result with the CPU result of the same op.
-- A spec file that needs Vulkan starts its describe block with
--   if not gpu.available then return pending(gpu.reason) end
-- so that a machine without Vulkan shows the reason as a pending spec.
local grilly = require "grilly"
local assert = require "luassert"

local gpu = {}

local ok, err = pcall(function() return grilly.zeros(1, {device = "vulkan"}) end)
gpu.available = ok
gpu.reason = ok and nil or ("no Vulkan device, Vulkan specs skipped: " .. tostring(err))
gpu.device = "vulkan"

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

return gpu

-- Plain-Lua references for the tensor specs: flat arrays with shapes, numpy
-- broadcasting, reductions, matrix products, float32 rounding, seeded inputs
-- and tolerant comparisons. Device specs build their tensors with
-- {device = d} for each d of ref.devices() and compare against these.
local ffi = require "ffi"
local grilly = require "grilly"
local assert = require "luassert"

local ref = {}

-- Devices to run the device-generic specs on: always the CPU, plus Vulkan when
-- a Vulkan device exists and GRILLY_TEST_VULKAN is not "0".
function ref.devices()
  local list = { "cpu" }
  if os.getenv("GRILLY_TEST_VULKAN") ~= "0" then
    for _, d in ipairs(grilly.devices()) do
      if d.device:match("^vulkan") then
        list[#list + 1] = "vulkan"
        break
      end
    end
  end
  return list
end

local fbox = ffi.new("float[1]")
-- x rounded to the nearest float32.
function ref.f32(x)
  fbox[0] = x
  return fbox[0]
end

function ref.numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

-- A seeded generator of numbers in [0, 1) (Park-Miller), independent of grilly's.
function ref.rng(seed)
  local state = seed % 2147483646 + 1
  return function()
    state = (state * 16807) % 2147483647
    return (state - 1) / 2147483646
  end
end

-- numel(shape) float32 values drawn uniformly from [lo, hi).
function ref.random_flat(rng, shape, lo, hi)
  lo, hi = lo or -1, hi or 1
  local flat = {}
  for i = 1, ref.numel(shape) do flat[i] = ref.f32(lo + (hi - lo) * rng()) end
  return flat
end

-- A tensor of random_flat values on device, and the values.
function ref.random_tensor(rng, shape, device, lo, hi)
  local flat = ref.random_flat(rng, shape, lo, hi)
  return ref.tensor(flat, shape, device), flat
end

-- Nested table of a flat array (a number for a 0-d shape).
function ref.nest(flat, shape)
  local pos = 0
  local function build(d)
    if d > #shape then
      pos = pos + 1
      return flat[pos]
    end
    local t = {}
    for i = 1, shape[d] do t[i] = build(d + 1) end
    return t
  end
  return build(1)
end

-- A tensor holding flat with the given shape, on device.
function ref.tensor(flat, shape, device)
  if ref.numel(shape) == 0 then return grilly.zeros(shape, { device = device }) end
  return grilly.tensor(ref.nest(flat, shape), { device = device })
end

-- The elements of a tensor as a flat array, and its shape.
function ref.read(t)
  local shape, flat = t:size(), {}
  local function walk(v)
    if type(v) == "table" then
      for i = 1, #v do walk(v[i]) end
    else
      flat[#flat + 1] = v
    end
  end
  walk(t:totable())
  return flat, shape
end

-- Row-major strides of a shape.
local function strides(shape)
  local st, s = {}, 1
  for i = #shape, 1, -1 do
    st[i] = s
    s = s * shape[i]
  end
  return st
end

-- Calls fn(index) for every multi-index of shape in row-major order.
local function each_index(shape, fn)
  local n = ref.numel(shape)
  local idx = {}
  for i = 1, #shape do idx[i] = 1 end
  for _ = 1, n do
    fn(idx)
    for d = #shape, 1, -1 do
      idx[d] = idx[d] + 1
      if idx[d] <= shape[d] then break end
      idx[d] = 1
    end
  end
end

-- numpy broadcasting of two shapes, or nil when they do not fit.
function ref.broadcast_shape(sa, sb)
  local n = math.max(#sa, #sb)
  local out = {}
  for i = 1, n do
    local da = sa[i - (n - #sa)] or 1
    local db = sb[i - (n - #sb)] or 1
    if da ~= db and da ~= 1 and db ~= 1 then return nil end
    out[i] = da == 1 and db or da
  end
  return out
end

-- f(a, b) element-wise over broadcast operands; returns flat and shape.
function ref.binary(fa, sa, fb, sb, f)
  local shape = assert(ref.broadcast_shape(sa, sb), "shapes do not broadcast")
  local n = #shape
  local sta, stb = strides(sa), strides(sb)
  local out = {}
  each_index(shape, function(idx)
    local ia, ib = 1, 1
    for d = 1, n do
      local da, db = d - (n - #sa), d - (n - #sb)
      if da >= 1 and sa[da] ~= 1 then ia = ia + (idx[d] - 1) * sta[da] end
      if db >= 1 and sb[db] ~= 1 then ib = ib + (idx[d] - 1) * stb[db] end
    end
    out[#out + 1] = f(fa[ia], fb[ib])
  end)
  return out, shape
end

function ref.map(flat, f)
  local out = {}
  for i = 1, #flat do out[i] = f(flat[i]) end
  return out
end

-- The values along dimension dim (1-based) for each position of the other
-- dimensions, in row-major order of the result; and the reduced shape.
function ref.slices(flat, shape, dim, keepdim)
  local st = strides(shape)
  local outer_shape = {}
  for i = 1, #shape do outer_shape[i] = i == dim and 1 or shape[i] end
  local result = {}
  each_index(outer_shape, function(idx)
    local base = 1
    for d = 1, #shape do base = base + (idx[d] - 1) * st[d] end
    local s = {}
    for k = 0, shape[dim] - 1 do s[#s + 1] = flat[base + k * st[dim]] end
    result[#result + 1] = s
  end)
  local rshape = {}
  for i = 1, #shape do
    if i ~= dim then rshape[#rshape + 1] = shape[i] elseif keepdim then rshape[#rshape + 1] = 1 end
  end
  if ref.numel(outer_shape) == 0 then result = {} end
  return result, rshape
end

-- Reductions of a list of numbers (NaN-propagating max/min; 1-based argmax).
function ref.sum(v)
  local s = 0
  for i = 1, #v do s = s + v[i] end
  return s
end
function ref.mean(v) return ref.sum(v) / #v end
function ref.norm(v)
  local s = 0
  for i = 1, #v do s = s + v[i] * v[i] end
  return math.sqrt(s)
end
function ref.argmax(v)
  local best, at = v[1], 1
  for i = 2, #v do
    if best ~= best then break end
    if v[i] > best or v[i] ~= v[i] then best, at = v[i], i end
  end
  return at
end
function ref.argmin(v)
  local best, at = v[1], 1
  for i = 2, #v do
    if best ~= best then break end
    if v[i] < best or v[i] ~= v[i] then best, at = v[i], i end
  end
  return at
end
function ref.max(v) return v[ref.argmax(v)] end
function ref.min(v) return v[ref.argmin(v)] end

-- Swaps dimensions d1 and d2 (1-based).
function ref.transpose(flat, shape, d1, d2)
  local oshape = {}
  for i = 1, #shape do oshape[i] = shape[i] end
  oshape[d1], oshape[d2] = shape[d2], shape[d1]
  local st = strides(shape)
  local out = {}
  each_index(oshape, function(idx)
    local src = 1
    for d = 1, #shape do
      local sd = d == d1 and d2 or d == d2 and d1 or d
      src = src + (idx[d] - 1) * st[sd]
    end
    out[#out + 1] = flat[src]
  end)
  return out, oshape
end

-- Picks positions idx (1-based list) along dim.
function ref.index_select(flat, shape, dim, idx)
  local oshape = {}
  for i = 1, #shape do oshape[i] = shape[i] end
  oshape[dim] = #idx
  local st = strides(shape)
  local out = {}
  each_index(oshape, function(pos)
    local src = 1
    for d = 1, #shape do
      local p = d == dim and idx[pos[d]] or pos[d]
      src = src + (p - 1) * st[d]
    end
    out[#out + 1] = flat[src]
  end)
  return out, oshape
end

-- C[b] = A[b] B[b] for row-major (m x k) and (k x n) blocks, `batch` times;
-- an operand with batch stride 0 is shared.
function ref.matmul(fa, fb, batch, m, n, k, a_stride, b_stride)
  local out = {}
  for b = 0, batch - 1 do
    for i = 0, m - 1 do
      for j = 0, n - 1 do
        local s = 0
        for p = 0, k - 1 do
          s = s + fa[1 + b * a_stride + i * k + p] * fb[1 + b * b_stride + p * n + j]
        end
        out[#out + 1] = s
      end
    end
  end
  return out
end

local function close(a, e, rtol, atol)
  if e ~= e then return a ~= a end
  if e == math.huge or e == -math.huge then return a == e end
  return math.abs(a - e) <= atol + rtol * math.abs(e)
end

-- Asserts two flat arrays agree element by element (NaN matches NaN).
function ref.assert_close(actual, expected, rtol, atol, what)
  rtol, atol = rtol or 0, atol or 0
  assert.are.equal(#expected, #actual, (what or "values") .. ": element count")
  for i = 1, #expected do
    if not close(actual[i], expected[i], rtol, atol) then
      error(("%s: element %d is %.9g, expected %.9g (rtol %g, atol %g)"):format(
        what or "values", i, actual[i], expected[i], rtol, atol), 2)
    end
  end
end

-- Asserts a tensor's shape, device and values.
function ref.assert_tensor(t, flat, shape, device, rtol, atol, what)
  local got, gshape = ref.read(t)
  assert.are.same(shape, gshape, (what or "tensor") .. ": shape")
  if device then assert.are.equal(device, t.device:match("^%a+")) end
  ref.assert_close(got, flat, rtol, atol, what)
end

return ref

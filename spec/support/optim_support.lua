-- Helpers of the optimizer specs: the devices they run on, seeded
-- multi-tensor problems fed identically to grilly's optimizers and to the
-- float64 reference (optim_reference), and comparisons of their complete state.
local ref = require "tensor_ref"

local M = {}

-- The devices the optimizer specs run on: those of the tensor specs (the CPU,
-- plus Vulkan where a device exists). Devices without passes of their own run
-- the staged CPU passes, which must give the CPU's results bit for bit.
function M.devices()
  return ref.devices()
end

M.CLASSES = { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" }

-- A seeded problem over parameters of the given shapes. Returns:
--   tensors   grilly tensors on device
--   arrays    the same values as arrays of numbers, for the reference
--   grads(k)  the gradients of step k computed from `arrays` (the reference's
--             parameters): per parameter a float32-rounded array, or false when
--             that parameter has no gradient this step (some do not, on some steps)
local function problem(seed, shapes, device)
  local rng = ref.rng(seed)
  local tensors, arrays, scale = {}, {}, {}
  for i, shape in ipairs(shapes) do
    arrays[i] = ref.random_flat(rng, shape, -1, 1)
    tensors[i] = ref.tensor(arrays[i], shape, device)
    scale[i] = {}
    for j = 1, #arrays[i] do scale[i][j] = 0.5 + 3 * rng() end
  end
  local function grads(k)
    local g = {}
    for i, x in ipairs(arrays) do
      -- Parameter i sits out every (i+1)-th step, starting with step 2 for the first.
      if #shapes > 1 and k % (i + 1) == 0 then
        g[i] = false
      else
        g[i] = {}
        for j = 1, #x do g[i][j] = ref.f32(scale[i][j] * x[j] + 0.05 * (rng() - 0.5)) end
      end
    end
    return g
  end
  return tensors, arrays, grads
end
M.problem = problem

-- The grads table of grilly's step for reference gradients (false: no entry).
function M.grads_table(tensors, g, device)
  local t = {}
  for i, gi in ipairs(g) do
    if gi then t[tensors[i]] = ref.tensor(gi, tensors[i]:size(), device) end
  end
  return t
end

local SCALARS_ALL = { "t", "skipped_steps", "lr", "beta1", "beta2", "P" }
local SCALARS_AUTO = { "G_lr", "G_beta", "prev_norm", "var_ema", "S", "Sbar", "gain" }
local REF_NAME = { prev_beta1 = "used_beta1", prev_beta2 = "used_beta2" }
local SLOTS = { "m", "v", "vmax", "ema_g" }

local function close(a, e, rtol, atol)
  if e ~= e then return a ~= a end
  if e == math.huge or e == -math.huge then return a == e end
  return type(a) == "number" and math.abs(a - e) <= atol + rtol * math.abs(e)
end

-- Asserts that grilly's optimizer `opt` (over `tensors`) and the reference
-- `r` hold the same state: parameters, every scalar, the histories and the
-- per-parameter m, v, vmax and ema_g (NaN matches NaN).
function M.assert_matches_reference(opt, tensors, r, rtol, atol, what)
  local sd = opt:state_dict()
  local s = r.state
  local function check(name, got, expected)
    if not close(got, expected, rtol, atol) then
      error(("%s: %s is %.17g, reference %.17g"):format(what, name, got or 0 / 0, expected), 3)
    end
  end
  local names = {}
  for _, n in ipairs(SCALARS_ALL) do names[#names + 1] = n end
  names[#names + 1] = "prev_beta1"
  names[#names + 1] = "prev_beta2"
  if r.class_name == "AutoHypergradientAdamW" then
    for _, n in ipairs(SCALARS_AUTO) do names[#names + 1] = n end
  end
  for _, n in ipairs(names) do check(n, sd[n], s[REF_NAME[n] or n]) end
  local histories = { "lr_history" }
  if r.class_name == "AutoHypergradientAdamW" then
    histories = { "lr_history", "beta1_history", "surprise_history", "s_bar_history" }
  end
  for _, h in ipairs(histories) do
    if #sd[h] ~= #s[h] then
      error(("%s: %s has %d entries, reference %d"):format(what, h, #sd[h], #s[h]), 2)
    end
    for i = 1, #s[h] do check(h .. "[" .. i .. "]", sd[h][i], s[h][i]) end
  end
  for i, t in ipairs(tensors) do
    local got = ref.read(t)
    for j = 1, #got do check(("param %d[%d]"):format(i, j), got[j], r.params[i][j]) end
    for _, slot in ipairs(SLOTS) do
      local mine, theirs = sd.state[i][slot], s.per_param[i][slot]
      if (mine == nil) ~= (theirs == nil) then
        error(("%s: param %d %s is %s here, %s in the reference"):format(what, i, slot,
          mine and "present" or "absent", theirs and "present" or "absent"), 2)
      end
      if mine then
        local vals = ref.read(mine)
        for j = 1, #vals do check(("param %d %s[%d]"):format(i, slot, j), vals[j], theirs[j]) end
      end
    end
  end
end

-- Everything observable about an optimizer and its parameters, as plain Lua
-- values: its state_dict with tensors read out, and the parameter values.
function M.observe(opt, tensors)
  local sd = opt:state_dict()
  for _, st in ipairs(sd.state) do
    for k, t in pairs(st) do st[k] = ref.read(t) end
  end
  sd.params = {}
  for i, t in ipairs(tensors) do sd.params[i] = ref.read(t) end
  return sd
end

-- Asserts that two observations (or any plain values) agree: numbers within
-- atol + rtol * |expected| (NaN matching NaN), everything else equal, no key
-- missing or extra. `path` names the value in messages.
function M.assert_close(expected, got, rtol, atol, path)
  if type(expected) == "table" then
    assert(type(got) == "table", path .. " should be a table")
    for k, v in pairs(expected) do M.assert_close(v, got[k], rtol, atol, path .. "." .. tostring(k)) end
    for k in pairs(got) do assert(expected[k] ~= nil, path .. "." .. tostring(k) .. " is extra") end
  elseif type(expected) == "number" and expected == expected then
    assert(type(got) == "number" and math.abs(got - expected) <= rtol * math.abs(expected) + atol,
      ("%s: %s vs %s expected"):format(path, tostring(got), tostring(expected)))
  elseif type(expected) == "number" then
    assert(got ~= got, path .. " should be NaN")
  else
    assert(expected == got, ("%s: %s vs %s expected"):format(path, tostring(got), tostring(expected)))
  end
end

-- Fresh copies of tensors (same values, same device).
function M.clones(tensors)
  local out = {}
  for i, t in ipairs(tensors) do out[i] = t:clone() end
  return out
end

return M

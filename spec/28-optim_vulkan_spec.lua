-- The fused Vulkan optimizer step: long multi-tensor runs against the CPU for
-- each class and the key options, the command stream of a step (no host wait,
-- one submit), sync points, unaligned parameters, histories longer than the
-- device's ring, save / load across skipped steps, AdamW steps whose scalars
-- the host derives, and the staged passes of devices without float64 shaders.
local grilly = require "grilly"
local gpu = require "gpu"
local support = require "optim_support"
local ref = require "tensor_ref"

local optim = grilly.optim
local DEV = gpu.device

-- Parameters across chunk boundaries (2048 elements), with vec4 tails, a
-- scalar and a 2-D one.
local SHAPES = { { 5001 }, { 17, 5 }, { 4 }, { 3 }, { 1030 }, { 1 } }
local STEPS = 100

-- Puts a non-finite value into the first gradient of a step (past the first
-- chunk where the parameter has one).
local function poison(g, value)
  for _, gi in ipairs(g) do
    if gi then
      gi[math.min(#gi, 4097)] = value
      return
    end
  end
end

-- Runs `options` of `class` for STEPS steps on device; gradients of step
-- `bad.step` get a non-finite element. Returns the observation and every
-- step's error (false where it succeeded).
local function run(class, options, bad, device)
  local tensors, _, grads = support.problem(11, SHAPES, device)
  local opt = optim[class](tensors, options)
  local errors = {}
  for k = 1, STEPS do
    local g = grads(k)
    if bad and k == bad.step then poison(g, bad.value) end
    local ok, err = pcall(opt.step, opt, support.grads_table(tensors, g, device))
    errors[k] = not ok and tostring(err)
  end
  local seen = support.observe(opt, tensors)
  opt:free()
  return seen, errors
end

local CASES = {
  { "AdamW", { lr = 0.02 }, { step = 30, value = 0 / 0 } },
  { "AdamW", { lr = 0.02, amsgrad = true, weight_decay = 0.1, nonfinite = "propagate" } },
  { "AdamW", { lr = 0.02, bias_correction = "product", nonfinite = "error" }, { step = 40, value = math.huge } },
  { "HypergradientAdamW", { lr = 0.02, beta_hyper = 0.01, amsgrad = true }, { step = 20, value = -math.huge } },
  { "HypergradientAdamW", { lr = 0.02, beta_hyper = 0.01, log_scale = true, bias_correction = "product" } },
  { "AutoHypergradientAdamW", { lr = 0.02, warmup_steps = 3, adapt_momentum = true, track_surprise = true },
    { step = 25, value = 0 / 0 } },
  { "AutoHypergradientAdamW", { variant = "grilly-v2", track_surprise = true, amsgrad = true,
                                nonfinite = "propagate", warmup_steps = 2 } },
  { "AutoHypergradientAdamW", { variant = "paper", adapt_momentum = true, bias_correction = "product",
                                warmup_steps = 0 } },
  { "AutoHypergradientAdamW", { track_surprise = true, nonfinite = "error", warmup_steps = 1, amsgrad = true },
    { step = 50, value = 0 / 0 } },
}

local function describe_case(case)
  local keys = {}
  for k, v in pairs(case[2]) do keys[#keys + 1] = k .. "=" .. tostring(v) end
  table.sort(keys)
  return case[1] .. " {" .. table.concat(keys, ", ") .. "}" .. (case[3] and " with a non-finite step" or "")
end

-- Parameters of the sizes of a small model: 50 tensors of 1e2..1e4 elements.
local function small_model(n)
  local params, grads = {}, {}
  grilly.manual_seed(5)
  for i = 0, n - 1 do
    local size = math.floor(100 * 100 ^ (i / (n - 1)))
    params[i + 1] = grilly.randn({ size }, { device = DEV })
    grads[params[i + 1]] = grilly.randn({ size }, { device = DEV })
  end
  return params, grads
end

local function stats() return grilly.stream_stats(DEV) end

-- `total` steps of `class` on problem `seed` on the GPU: the observation of an
-- uninterrupted run, and of a run saved after step `split`, loaded into a
-- fresh optimizer and continued. Steps in `bad` get a NaN gradient element.
local function whole_and_resumed(class, options, seed, total, split, bad)
  local function steps(opt, tensors, grads, from, to)
    for k = from, to do
      local g = grads(k)
      if bad[k] then poison(g, 0 / 0) end
      opt:step(support.grads_table(tensors, g, DEV))
    end
  end
  local tensors, _, grads = support.problem(seed, SHAPES, DEV)
  local whole = optim[class](tensors, options)
  steps(whole, tensors, grads, 1, total)
  local expected = support.observe(whole, tensors)

  local again, _, grads2 = support.problem(seed, SHAPES, DEV)
  local first = optim[class](again, options)
  steps(first, again, grads2, 1, split)
  local path = os.tmpname()
  first:save(path)
  first:free()
  local second = optim.load(path, again)
  os.remove(path)
  steps(second, again, grads2, split + 1, total)
  return expected, support.observe(second, again)
end

describe("the fused Vulkan optimizer step", function()
  if not gpu.available then return pending(gpu.reason) end

  for _, case in ipairs(CASES) do
    it(("agrees with the CPU over %d steps: %s"):format(STEPS, describe_case(case)), function()
      local cpu, cpu_errors = run(case[1], case[2], case[3], "cpu")
      local vk, vk_errors = run(case[1], case[2], case[3], DEV)
      assert.are.same(cpu_errors, vk_errors)
      support.assert_close(cpu, vk, 1e-4, 1e-6, case[1])
    end)
  end

  for _, class in ipairs(support.CLASSES) do
    it(class .. ": a step over 50 tensors waits for nothing and is one submit", function()
      local params, grads = small_model(50)
      local options = class == "AutoHypergradientAdamW" and { warmup_steps = 1, track_surprise = true } or {}
      local opt = optim[class](params, options)
      grilly.synchronize(DEV)
      for k = 1, 3 do
        local before = stats()
        opt:step(grads)
        local recorded = stats()
        grilly.synchronize(DEV)
        local after = stats()
        assert.are.equal(0, recorded.waits - before.waits, "waits while recording step " .. k)
        assert.are.equal(0, recorded.submits - before.submits, "submits while recording step " .. k)
        assert.are.equal(1, after.submits - before.submits, "submits of step " .. k)
      end
      -- Many steps: still no wait before a value is read.
      local before = stats()
      for _ = 1, 40 do opt:step(grads) end
      assert.are.equal(0, stats().waits - before.waits)
      assert.are.equal(43, opt.step_count)
      assert.is_true(stats().waits > before.waits, "reading step_count is a sync point")
    end)
  end

  it("reads options and writes hyperparameters without waiting; reading state is a sync point", function()
    local params, grads = small_model(4)
    local opt = optim.AutoHypergradientAdamW(params, { warmup_steps = 0, lr = 0.01 })
    opt:step(grads)
    local before = stats()
    assert.are.equal(0.01, opt.hyper_lr)
    opt.lr = 0.003
    opt.hyper_lr = 0.02
    opt:step(grads)
    assert.are.equal(0, stats().waits - before.waits)
    local lr = opt.current_lr
    assert.is_true(stats().waits > before.waits)
    -- The written lr was the one the second step adapted from (a change of at most 10 %).
    assert.is_true(lr >= 0.003 * 0.9 - 1e-12 and lr <= 0.003 * 1.1 + 1e-12, tostring(lr))
  end)

  it("updates parameters that are unaligned views like the CPU", function()
    local function make(device)
      local m = ref.tensor(ref.random_flat(ref.rng(3), { 6, 7 }, -1, 1), { 6, 7 }, device)
      local rows = { m[2], m[3], m[5] }   -- views at element offsets 7, 14, 28
      local opt = optim.AutoHypergradientAdamW(rows, { warmup_steps = 1, track_surprise = true, lr = 0.05 })
      for k = 1, 12 do
        local g = {}
        for i, r in ipairs(rows) do g[r] = r * (0.5 * i) + 0.01 * k end
        opt:step(g)
      end
      return support.observe(opt, rows), ref.read(m)
    end
    local cpu, cpu_m = make("cpu")
    local vk, vk_m = make(DEV)
    support.assert_close(cpu, vk, 1e-5, 1e-7, "rows")
    support.assert_close(cpu_m, vk_m, 1e-5, 1e-7, "matrix")
  end)

  it("keeps histories longer than the device's ring without a sync in between", function()
    local function make(device)
      local x = ref.tensor({ 1, -2, 3, 0.5 }, { 4 }, device)
      local opt = optim.HypergradientAdamW({ x }, { lr = 0.01, beta_hyper = 1e-4 })
      local g = ref.tensor({ 0.1, -0.2, 0.3, 0.05 }, { 4 }, device)
      for _ = 1, 5000 do opt:step { [x] = g } end
      return opt.lr_history
    end
    local cpu, vk = make("cpu"), make(DEV)
    assert.are.equal(5000, #vk)
    support.assert_close(cpu, vk, 1e-6, 1e-12, "lr_history")
  end)

  it("continues bit-identically after save and load across skipped steps", function()
    local options = { lr = 0.02, warmup_steps = 2, track_surprise = true, adapt_momentum = true }
    local expected, resumed = whole_and_resumed("AutoHypergradientAdamW", options, 21, 24, 11,
                                                { [4] = true, [9] = true })
    assert.are.equal(2, expected.skipped_steps)
    assert.are.same(expected, resumed)
  end)

  it("follows a state loaded from the CPU and option writes mid-run like the CPU", function()
    -- Surprise in place under "propagate", then double-buffered once "skip" is
    -- written; amsgrad switched on; a skipped step; a state from another device.
    local function make(device, from)
      local tensors, _, grads = support.problem(31, SHAPES, device)
      local opt = optim.AutoHypergradientAdamW(tensors, { warmup_steps = 1, track_surprise = true,
                                                          nonfinite = "propagate", lr = 0.02 })
      if from then opt:load_state_dict(from) end
      for k = 1, 16 do
        if k == 6 then opt.nonfinite = "skip" end
        if k == 9 then opt.amsgrad = true end
        local g = grads(k)
        if k == 11 then poison(g, math.huge) end
        opt:step(support.grads_table(tensors, g, device))
      end
      return support.observe(opt, tensors), opt
    end
    local cpu, cpu_opt = make("cpu")
    local vk = make(DEV)
    support.assert_close(cpu, vk, 1e-5, 1e-7, "run")
    assert.are.equal(1, vk.skipped_steps)
    -- A CPU state carried on on Vulkan: the same as carrying it on on the CPU.
    local sd = cpu_opt:state_dict()
    local on_cpu = make("cpu", sd)
    local on_vk = make(DEV, sd)
    support.assert_close(on_cpu, on_vk, 1e-5, 1e-7, "resumed")
  end)

  it("steps AdamW under nonfinite = \"propagate\" in one dispatch, three under \"skip\"", function()
    local params, grads = small_model(50)
    local opt = optim.AdamW(params, { nonfinite = "propagate" })
    local function dispatches()
      local before = stats()
      opt:step(grads)
      return stats().dispatches - before.dispatches
    end
    opt:step(grads)   -- the first step also fills the new moments with zeros
    assert.are.equal(1, dispatches())
    opt.nonfinite = "skip"
    dispatches()   -- this one also sends the state the host derived
    assert.are.equal(3, dispatches())
    opt.nonfinite = "propagate"
    assert.are.equal(2, dispatches(), "the device's state is current until a sync: no pass 1, the scalar kernel")
    assert.are.equal(5, opt.step_count)
    assert.are.equal(1, dispatches(), "after a sync the host derives the scalars again")
    opt:free()
  end)

  it("follows the CPU through AdamW steps the host derives and steps the device derives", function()
    local function make(device)
      local tensors, _, grads = support.problem(41, SHAPES, device)
      local opt = optim.AdamW(tensors, { lr = 0.02, nonfinite = "propagate", amsgrad = true })
      local k = 0
      local function steps(n, bad)
        for _ = 1, n do
          k = k + 1
          local g = grads(k)
          if k == bad then poison(g, 0 / 0) end
          opt:step(support.grads_table(tensors, g, device))
        end
      end
      steps(4)
      opt.lr = 0.01
      steps(3)
      opt.nonfinite = "skip"
      steps(4, 10)                  -- step 10 is skipped
      opt.nonfinite = "propagate"
      steps(3)
      assert.are.equal(13, opt.step_count)
      opt.weight_decay = 0.05
      opt.betas = { 0.8, 0.99 }
      steps(5)
      return support.observe(opt, tensors)
    end
    local cpu, vk = make("cpu"), make(DEV)
    assert.are.equal(1, vk.skipped_steps)
    support.assert_close(cpu, vk, 1e-5, 1e-7, "run")
  end)

  it("continues AdamW under nonfinite = \"propagate\" bit-identically after save and load", function()
    local expected, resumed = whole_and_resumed("AdamW", { lr = 0.02, nonfinite = "propagate", weight_decay = 0.1 },
                                                51, 20, 9, {})
    assert.are.equal(20, expected.t)
    assert.are.same(expected, resumed)
  end)

  it("runs the staged passes of devices without float64 shaders to the CPU's results", function()
    local env = "GRILLY_OPTIM_STAGED=1 GRILLY_VALIDATION=" .. (os.getenv("GRILLY_VALIDATION") or "0")
    local function output(cmd)
      local pipe = assert(io.popen(env .. " " .. cmd .. " 2>&1"))
      local out = pipe:read("*a")
      pipe:close()
      return out
    end
    -- The staged passes copy to the host inside the step: it waits.
    assert.equal("ok", output("luajit spec/support/optim_staged_check.lua"):match("([^\n]*)\n?$"))
    local out = output("busted spec/27-optim_devices_spec.lua")
    assert.matches("[1-9]%d* passed, 0 failed", out)
  end)
end)

describe("grilly.stream_stats", function()
  it("counts submits, waits and dispatches", function()
    if not gpu.available then return pending(gpu.reason) end
    local x = grilly.zeros({ 8 }, { device = DEV })
    grilly.synchronize(DEV)
    local before = stats()
    x:add_(1)
    x:add_(1)
    local recorded = stats()
    grilly.synchronize(DEV)
    local after = stats()
    assert.are.equal(2, recorded.dispatches - before.dispatches)
    assert.are.equal(1, after.submits - before.submits)
    assert.are.equal(0, recorded.waits - before.waits)
  end)

  it("refuses a device without a command stream", function()
    assert.error_matches(function() grilly.stream_stats("cpu") end,
      "bad argument #1 to 'stream_stats' (cpu has no command stream (a Vulkan device expected))", nil, true)
    assert.error_matches(function() grilly.stream_stats("tpu") end, "bad argument #1 to 'stream_stats'", nil, true)
  end)
end)

-- grilly's optimizers against the float64 reference (spec/support/optim_reference.lua)
-- on seeded multi-tensor problems, for every combination of the options that change
-- what a step computes. Parameters, every scalar, the histories and the per-parameter
-- state are compared after each step, within float32 tolerance.
local grilly = require "grilly"
local R = require "optim_reference"
local support = require "optim_support"

local RTOL, ATOL = 2e-5, 1e-6
local STEPS = 16
local SHAPES = { { 5 }, { 3, 2 }, { 4 } }

-- Every combination of the listed values, as option tables.
local function product(axes)
  local out = { {} }
  for _, axis in ipairs(axes) do
    local next_out = {}
    for _, partial in ipairs(out) do
      for _, value in ipairs(axis[2]) do
        local o = {}
        for k, v in pairs(partial) do o[k] = v end
        o[axis[1]] = value
        next_out[#next_out + 1] = o
      end
    end
    out = next_out
  end
  return out
end

local COMMON = {
  { "bias_correction", { "power", "product" } },
  { "amsgrad", { false, true } },
  { "nonfinite", { "skip", "error", "propagate" } },
}

local AXES = {
  AdamW = COMMON,
  HypergradientAdamW = { COMMON[1], COMMON[2], COMMON[3], { "log_scale", { false, true } } },
  AutoHypergradientAdamW = {
    COMMON[1], COMMON[2], COMMON[3],
    { "variant", { "grilly", "grilly-v2", "paper" } },
    { "adapt_momentum", { false, true } },
    { "track_surprise", { false, true } },
    { "normalizer", { "direction", "gradient" } },
    { "accumulator", { "ema", "sum" } },
    { "h_clip", { 0.5, false } },
    { "max_lr_change", { 0.1, false } },
  },
}

-- Options that make every branch reachable in a short run.
local BASE = {
  AdamW = { lr = 0.05 },
  HypergradientAdamW = { lr = 0.05, beta_hyper = 0.01 },
  AutoHypergradientAdamW = { lr = 0.05, warmup_steps = 2, hyper_lr = 0.02 },
}

local function describe_options(o)
  local keys, parts = {}, {}
  for k in pairs(o) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(o[k]) end
  return table.concat(parts, " ")
end

-- Runs grilly's optimizer and the reference side by side. One step (inject) has a
-- non-finite gradient element, so every nonfinite policy is exercised.
local function run_pair(class, options, seed, device, seen)
  local tensors, arrays, grads = support.problem(seed, SHAPES, device)
  local opt = grilly.optim[class](tensors, options)
  local r = R.new(class, arrays, options)
  local inject = 11
  local what = class .. " " .. describe_options(options)
  for k = 1, STEPS do
    local g = grads(k)
    if k == inject then g[1][2] = (seed % 2 == 0) and 0 / 0 or math.huge end
    local ok_mine, err_mine = pcall(opt.step, opt, support.grads_table(tensors, g, device))
    local ok_ref = pcall(r.step, r, g)
    assert(ok_mine == ok_ref, ("%s: step %d %s here but not in the reference (%s)"):format(what, k,
      ok_mine and "succeeded" or "failed", tostring(err_mine)))
    support.assert_matches_reference(opt, tensors, r, RTOL, ATOL, ("%s, step %d"):format(what, k))
    if not ok_mine then seen.error = true end
  end
  -- What the run went through, so that the spec can tell the branches were reached.
  if #opt.lr_history > 1 then seen.lr_adapted = true end
  if opt.beta1_history and #opt.beta1_history > 1 then seen.beta1_adapted = true end
  if opt.surprise_history and #opt.surprise_history > 0 then seen.surprise = true end
  if opt.skipped_steps > 0 then seen.skipped = true end
  local x = support.observe(opt, tensors).params[1][2]
  if x ~= x then seen.propagated = true end
  opt:free()
end

-- Field writes between steps: each takes effect at the next step and adaptation
-- continues from there. {step after which to write, field, value}
local WRITES = {
  AdamW = { { 3, "lr", 0.02 }, { 3, "amsgrad", true }, { 5, "weight_decay", 0.1 }, { 6, "betas", { 0.8, 0.99 } },
            { 8, "amsgrad", false }, { 9, "eps", 1e-3 } },
  HypergradientAdamW = { { 3, "beta_hyper", 0.05 }, { 4, "log_scale", true }, { 5, "beta1", 0.7 },
                         { 6, "lr_max", 0.06 }, { 8, "bias_correction", "product" }, { 9, "lr", 0.01 } },
  AutoHypergradientAdamW = { { 3, "track_surprise", true }, { 4, "hyper_lr", 0.05 }, { 5, "amsgrad", true },
                             { 5, "betas", { 0.85, 0.995 } }, { 6, "adapt_momentum", true },
                             { 7, "normalizer", "gradient" }, { 8, "lr", 0.03 }, { 9, "accumulator", "sum" },
                             { 10, "h_clip", false }, { 11, "max_lr_change", 0.5 }, { 12, "warmup_steps", 20 } },
}

for _, device in ipairs(support.devices()) do
  describe("optimizers on " .. device .. " follow field writes like the reference", function()
    for _, class in ipairs(support.CLASSES) do
      it(class, function()
        local tensors, arrays, grads = support.problem(99, SHAPES, device)
        local options = BASE[class]
        local opt = grilly.optim[class](tensors, options)
        local r = R.new(class, arrays, options)
        for k = 1, STEPS do
          local g = grads(k)
          opt:step(support.grads_table(tensors, g, device))
          r:step(g)
          support.assert_matches_reference(opt, tensors, r, RTOL, ATOL, ("%s, step %d"):format(class, k))
          for _, w in ipairs(WRITES[class]) do
            if w[1] == k then
              opt[w[2]] = w[3]
              r:set(w[2], w[3])
              assert.are.same(w[3], opt[w[2]])
            end
          end
        end
      end)
    end
  end)
end

for _, device in ipairs(support.devices()) do
  describe("optimizers on " .. device .. " match the float64 reference", function()
    for _, class in ipairs(support.CLASSES) do
      local combos = product(AXES[class])
      it(("%s in all %d option combinations"):format(class, #combos), function()
        local seen = {}
        for n, combo in ipairs(combos) do
          local options = {}
          for k, v in pairs(BASE[class]) do options[k] = v end
          for k, v in pairs(combo) do options[k] = v end
          run_pair(class, options, n, device, seen)
        end
        assert.is_true(seen.skipped and seen.error and seen.propagated)
        if class ~= "AdamW" then assert.is_true(seen.lr_adapted) end
        if class == "AutoHypergradientAdamW" then
          assert.is_true(seen.beta1_adapted and seen.surprise)
        end
      end)
    end
  end)
end

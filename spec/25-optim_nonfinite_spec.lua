-- Non-finite gradients under each nonfinite policy: "skip" changes nothing but
-- skipped_steps, "error" raises and changes nothing, "propagate" lets the values
-- through. Detection is per element, so huge finite gradients are not flagged.
local grilly = require "grilly"
local support = require "optim_support"
local ref = require "tensor_ref"

local optim = grilly.optim

local BAD = { nan = 0 / 0, inf = math.huge, ["-inf"] = -math.huge }
local OPTIONS = {
  AdamW = { lr = 0.05, amsgrad = true },
  HypergradientAdamW = { lr = 0.05, beta_hyper = 0.01 },
  AutoHypergradientAdamW = { lr = 0.05, warmup_steps = 1, track_surprise = true, adapt_momentum = true },
}

for _, device in ipairs(support.devices()) do
  describe("non-finite gradients on " .. device, function()
    local function t(values, shape) return ref.tensor(values, shape or { #values }, device) end

    local function setup(class, policy)
      local p = { t { 1, -2, 3 }, t({ 0.5, 0.25, -1, 2, 0, 1 }, { 3, 2 }) }
      local options = { nonfinite = policy }
      for k, v in pairs(OPTIONS[class]) do options[k] = v end
      return optim[class](p, options), p
    end

    local function good(p, k)
      return { [p[1]] = t { 0.1 * k, -0.2, 0.3 }, [p[2]] = t({ 1, -1, 0.5, k, 0, 2 }, { 3, 2 }) }
    end

    local function bad(p, value)
      return { [p[1]] = t { 0.1, -0.2, 0.3 }, [p[2]] = t({ 1, -1, value, 1, 0, 2 }, { 3, 2 }) }
    end

    for _, class in ipairs(support.CLASSES) do
      for name, value in pairs(BAD) do
        it(("%s, %s, skip: as if the step never happened, but counted"):format(class, name), function()
          local opt, p = setup(class, "skip")
          local twin, q = setup(class, "skip")
          for k = 1, 3 do opt:step(good(p, k)); twin:step(good(q, k)) end
          opt:step(bad(p, value))
          assert.are.equal(1, opt.skipped_steps)
          assert.are.equal(3, opt.step_count)
          for k = 4, 6 do opt:step(good(p, k)); twin:step(good(q, k)) end
          local got, expected = support.observe(opt, p), support.observe(twin, q)
          assert.are.equal(1, got.skipped_steps)
          got.skipped_steps = 0
          assert.are.same(expected, got)
        end)

        it(("%s, %s, error: raises naming the parameter and changes nothing"):format(class, name), function()
          local opt, p = setup(class, "error")
          for k = 1, 3 do opt:step(good(p, k)) end
          local before = support.observe(opt, p)
          assert.error_matches(function() opt:step(bad(p, value)) end,
            class .. ': non-finite gradient of parameter 2 (1 of 6 elements); nothing was changed (nonfinite = "error")',
            nil, true)
          assert.are.same(before, support.observe(opt, p))
        end)

        it(("%s, %s, propagate: the step runs and the value reaches the parameter"):format(class, name), function()
          local opt, p = setup(class, "propagate")
          for k = 1, 3 do opt:step(good(p, k)) end
          opt:step(bad(p, value))
          assert.are.equal(4, opt.step_count)
          assert.are.equal(0, opt.skipped_steps)
          local x = ref.read(p[2])[3]
          assert.is_true(x ~= x or x == math.huge or x == -math.huge)
        end)
      end
    end

    it("a skipped first step creates no state", function()
      local opt, p = setup("AutoHypergradientAdamW", "skip")
      opt:step(bad(p, 0 / 0))
      local sd = opt:state_dict()
      assert.are.same({ {}, {} }, sd.state)
      assert.are.same({ 0, 1, 1 }, { sd.t, sd.skipped_steps, #sd.lr_history })
    end)

    it("does not flag huge finite gradients, whose float32 squares overflow", function()
      for _, class in ipairs(support.CLASSES) do
        local opt, p = setup(class, "error")
        opt:step { [p[1]] = t { 1e20, -3e38, 2e19 } }
        assert.are.equal(1, opt.step_count)
        for _, x in ipairs(ref.read(p[1])) do assert.is_true(x == x and math.abs(x) < math.huge) end
      end
    end)
  end)
end

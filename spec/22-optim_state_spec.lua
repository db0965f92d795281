-- The complete optimizer state: state_dict / load_state_dict and opt:save /
-- grilly.optim.load continue a run bit for bit, and every bad state or file is
-- refused before anything changes.
local grilly = require "grilly"
local support = require "optim_support"
local ref = require "tensor_ref"

local SHAPES = { { 5 }, { 3, 2 }, { 4 } }
local N = 7   -- steps before the interruption, and after it

local CASES = {
  { "AdamW", { lr = 0.05, amsgrad = true } },
  { "HypergradientAdamW", { lr = 0.05, beta_hyper = 0.01, bias_correction = "product" } },
  { "AutoHypergradientAdamW", { lr = 0.05, warmup_steps = 2, adapt_momentum = true,
                                track_surprise = true, amsgrad = true } },
  { "AutoHypergradientAdamW", { variant = "paper", warmup_steps = 0, bias_correction = "product",
                                nonfinite = "propagate" } },
}

local function tmpname()
  local path = os.tmpname()
  os.remove(path)
  return path .. ".grly"
end

-- The same gradients for every run: a seeded list, one entry per step.
local function gradient_list(device, steps)
  local _, _, grads = support.problem(7, SHAPES, device)
  local list = {}
  for k = 1, steps do list[k] = grads(k) end
  return list
end

local function run(opt, tensors, list, from, to, device)
  for k = from, to do opt:step(support.grads_table(tensors, list[k], device)) end
end

local function fresh(device)
  local tensors = support.problem(7, SHAPES, device)
  return tensors
end

for _, device in ipairs(support.devices()) do
  describe("optimizer state on " .. device, function()
    local list = gradient_list(device, 2 * N)

    for _, case in ipairs(CASES) do
      local class, options = case[1], case[2]
      local function uninterrupted()
        local tensors = fresh(device)
        local opt = grilly.optim[class](tensors, options)
        run(opt, tensors, list, 1, 2 * N, device)
        return support.observe(opt, tensors)
      end

      it(class .. ": state_dict into a fresh optimizer continues bit-identically", function()
        local expected = uninterrupted()
        local tensors = fresh(device)
        local first = grilly.optim[class](tensors, options)
        run(first, tensors, list, 1, N, device)
        local sd = first:state_dict()
        local resumed = support.clones(tensors)
        first:free()
        -- Constructed with other options: the state brings its own.
        local second = grilly.optim[class](resumed, { lr = 0.5 })
        second:load_state_dict(sd)
        run(second, resumed, list, N + 1, 2 * N, device)
        assert.are.same(expected, support.observe(second, resumed))
      end)

      it(class .. ": save and grilly.optim.load continue bit-identically", function()
        local expected = uninterrupted()
        local tensors = fresh(device)
        local first = grilly.optim[class](tensors, options)
        run(first, tensors, list, 1, N, device)
        local path = tmpname()
        first:save(path)
        local resumed = support.clones(tensors)
        local second = grilly.optim.load(path, resumed)
        os.remove(path)
        assert.are.equal("grilly." .. class, tostring(second):match("^[%w%.]+"))
        run(second, resumed, list, N + 1, 2 * N, device)
        assert.are.same(expected, support.observe(second, resumed))
      end)
    end

    it("state_dict holds copies that later steps leave alone", function()
      local tensors = fresh(device)
      local opt = grilly.optim.AutoHypergradientAdamW(tensors, { warmup_steps = 1 })
      run(opt, tensors, list, 1, 3, device)
      local sd = opt:state_dict()
      local m_before, t_before, n_before = ref.read(sd.state[1].m), sd.t, #sd.lr_history
      run(opt, tensors, list, 4, 6, device)
      assert.are.same(m_before, ref.read(sd.state[1].m))
      assert.are.equal(t_before, sd.t)
      assert.are.equal(n_before, #sd.lr_history)
      assert.are_not.same(m_before, ref.read(opt:state_dict().state[1].m))
    end)

    it("holds every documented key, with m and v only for parameters that had a gradient", function()
      local a, b = grilly.zeros(2), grilly.zeros(3)
      local opt = grilly.optim.AutoHypergradientAdamW({ a, b }, { amsgrad = true })
      opt:step { [a] = grilly.ones(2) }
      local sd = opt:state_dict()
      for _, key in ipairs { "class", "format", "options", "t", "skipped_steps", "lr", "beta1", "beta2",
                             "prev_beta1", "prev_beta2", "P", "G_lr", "G_beta", "prev_norm", "var_ema",
                             "S", "Sbar", "gain", "lr_history", "beta1_history", "surprise_history",
                             "s_bar_history", "state" } do
        assert.is_not_nil(sd[key], key)
      end
      assert.are.equal("AutoHypergradientAdamW", sd.class)
      assert.are.equal(1, sd.t)
      assert.is_true(sd.options.amsgrad)
      assert.are.same({ 0.9, 0.999 }, sd.options.betas)
      assert.are.same({ "m", "v", "vmax" }, (function()
        local keys = {}
        for k in pairs(sd.state[1]) do keys[#keys + 1] = k end
        table.sort(keys)
        return keys
      end)())
      assert.are.same({}, sd.state[2])
    end)

    describe("a bad state is refused and changes nothing", function()
      local function setup()
        local tensors = fresh(device)
        local opt = grilly.optim.AutoHypergradientAdamW(tensors, { warmup_steps = 1, track_surprise = true })
        run(opt, tensors, list, 1, 3, device)
        return opt, tensors
      end

      local function refused(mutate, pattern)
        local opt, tensors = setup()
        local before = support.observe(opt, tensors)
        local sd = opt:state_dict()
        mutate(sd)
        assert.error_matches(function() opt:load_state_dict(sd) end, pattern)
        assert.are.same(before, support.observe(opt, tensors))
      end

      it("of another class", function()
        local tensors = fresh(device)
        local other = grilly.optim.AdamW(tensors)
        local opt = setup()
        local sd = other:state_dict()
        local before = opt:state_dict().t
        assert.error_matches(function() opt:load_state_dict(sd) end,
          "state of class AdamW cannot be loaded into a AutoHypergradientAdamW", nil, true)
        assert.are.equal(before, opt.step_count)
      end)

      it("for another number of parameters", function()
        refused(function(sd) sd.state[4] = {} end, "state holds 4 parameters, the optimizer has 3")
      end)

      it("with a tensor of the wrong shape", function()
        refused(function(sd) sd.state[2].v = grilly.zeros(6) end,
          "state of parameter 2: v has shape 6, the parameter 3x2")
      end)

      it("with m but no v", function()
        refused(function(sd) sd.state[1].v = nil end, "state of parameter 1 has m without v")
      end)

      it("with moments at step 0", function()
        refused(function(sd) sd.t = 0 end, "moments at step 0")
      end)

      it("with a non-tensor slot or an unknown slot", function()
        refused(function(sd) sd.state[1].m = { 1, 2 } end, "state%[1%]%.m must be a grilly.Tensor, got table")
        refused(function(sd) sd.state[1].w = grilly.zeros(5) end, "state%[1%] has an unknown key 'w'")
      end)

      it("with a bad scalar, history, option, format or key", function()
        refused(function(sd) sd.t = -1 end, "'t' must be an integer >= 0")
        refused(function(sd) sd.skipped_steps = 1.5 end, "'skipped_steps' must be an integer >= 0")
        refused(function(sd) sd.lr = "fast" end, "field 'lr' must be a number, got string")
        refused(function(sd) sd.G_lr = nil end, "field 'G_lr' must be a number, got nil")
        refused(function(sd) sd.lr_history = { 1, "x" } end, "field 'lr_history' must be an array of numbers")
        refused(function(sd) sd.lr_history = {} end, "empty lr_history")
        refused(function(sd) sd.s_bar_history = {} end, "different lengths")
        refused(function(sd) sd.options.lr = -1 end, "option 'lr' must be > 0 %(got %-1%)")
        refused(function(sd) sd.options.warp = 1 end, "unknown option 'warp'")
        refused(function(sd) sd.format = 2 end, "unsupported state format")
        refused(function(sd) sd.extra = 1 end, "unknown field 'extra'")
        refused(function(sd) sd.class = nil end, "state of class %(none%)")
      end)

      it("that is not a table", function()
        local opt = setup()
        assert.error_matches(function() opt:load_state_dict("state") end,
          "bad argument #1 to 'load_state_dict' %(state table expected, got string%)")
      end)
    end)

    describe("files", function()
      local function saved()
        local tensors = fresh(device)
        local opt = grilly.optim.HypergradientAdamW(tensors, { beta_hyper = 0.01 })
        run(opt, tensors, list, 1, 3, device)
        local path = tmpname()
        opt:save(path)
        return path, tensors
      end

      local function slurp(path)
        local f = assert(io.open(path, "rb"))
        local bytes = f:read("*a")
        f:close()
        return bytes
      end

      local function spit(path, bytes)
        local f = assert(io.open(path, "wb"))
        f:write(bytes)
        f:close()
      end

      it("refuses a truncated file", function()
        local path, tensors = saved()
        local bytes = slurp(path)
        spit(path, bytes:sub(1, math.floor(#bytes / 2)))
        assert.error_matches(function() grilly.optim.load(path, support.clones(tensors)) end,
          "^load: '.*' is truncated")
        os.remove(path)
      end)

      it("refuses a corrupted file", function()
        local path, tensors = saved()
        local bytes = slurp(path)
        local at = math.floor(#bytes / 2)
        spit(path, bytes:sub(1, at - 1) .. string.char((bytes:byte(at) + 1) % 256) .. bytes:sub(at + 1))
        assert.error_matches(function() grilly.optim.load(path, support.clones(tensors)) end,
          "^load: '.*' is corrupted")
        os.remove(path)
      end)

      it("refuses a grilly file that holds no optimizer, and a missing file", function()
        local path = tmpname()
        grilly.save(path, { w = grilly.zeros(3) })
        assert.error_matches(function() grilly.optim.load(path, { grilly.zeros(3) }) end,
          "is not a valid optimizer file %(no 'class' record%)")
        os.remove(path)
        assert.error_matches(function() grilly.optim.load(path, { grilly.zeros(3) }) end,
          "cannot open '.*' for reading")
      end)

      it("checks the record names of a file claiming 2^62 parameters without counting to it", function()
        local B = require "grilly_file_bytes"
        local path = tmpname()
        local function file(extra)
          return B.file {
            B.record("bytes", "class", { 5 }, "AdamW"),
            B.record("i64", "format", { 1 }, B.u64(1)),
            B.record("i64", "nparams", { 1 }, B.u64(0x40000000, 0)),
            B.record("f32", extra, {}, B.f32s { 1 }),
          }
        end
        B.write(path, file("state.x"))
        assert.error_matches(function() grilly.optim.load(path, { grilly.zeros(3) }) end,
          "is not a valid optimizer file %(unexpected record 'state.x'%)")
        B.write(path, file("state.4611686018427387904.m"))
        assert.error_matches(function() grilly.optim.load(path, { grilly.zeros(3) }) end,
          "holds the state of 4611686018427387904 parameters, 1 were given")
        for _, name in ipairs { "state.4611686018427387905.m", "state.01.m", "state.1.w", "state.1", "state.0.m" } do
          B.write(path, file(name))
          assert.error_matches(function() grilly.optim.load(path, { grilly.zeros(3) }) end,
            "unexpected record '" .. name .. "'", nil, true)
        end
        os.remove(path)
      end)

      it("refuses parameters of another number or shape", function()
        local path, tensors = saved()
        assert.error_matches(function() grilly.optim.load(path, { tensors[1], tensors[2] }) end,
          "holds the state of 3 parameters, 2 were given")
        assert.error_matches(function()
          grilly.optim.load(path, { tensors[1], grilly.zeros(2, 3, { device = device }), tensors[3] })
        end, "state of parameter 2: m has shape 3x2, the parameter 2x3")
        os.remove(path)
      end)

      it("reads back as plain tables through grilly.load", function()
        local path = saved()
        local raw = grilly.load(path, { device = device })
        os.remove(path)
        assert.are.equal("HypergradientAdamW", raw.class)
        assert.are.same({ 3 }, raw.t)
        assert.are.same({ 3 }, raw.nparams)
        assert.are.equal(3, #raw.lr_history)   -- the initial lr, then steps 2 and 3 adapt
        assert.are.same({ 3, 2 }, raw.state[2].m:size())
      end)

      it("keeps scalars far outside the integer range, and non-finite ones", function()
        -- Only the counts t and skipped_steps are integers in the file.
        local tensors = fresh(device)
        local opt = grilly.optim.AutoHypergradientAdamW(tensors, { warmup_steps = 1 })
        run(opt, tensors, list, 1, 3, device)
        local sd = opt:state_dict()
        sd.var_ema, sd.G_lr, sd.S, sd.prev_norm = -1e300, 1e300, 0 / 0, math.huge
        opt:load_state_dict(sd)
        local path = tmpname()
        opt:save(path)
        local back = grilly.optim.load(path, support.clones(tensors)):state_dict()
        os.remove(path)
        assert.are.same({ -1e300, 1e300, math.huge, 3 }, { back.var_ema, back.G_lr, back.prev_norm, back.t })
        assert.is_true(back.S ~= back.S)
      end)

      it("reports an unwritable path and leaves no file", function()
        local tensors = fresh(device)
        local opt = grilly.optim.AdamW(tensors)
        local path = tmpname() .. "/missing/dir/opt.grly"
        assert.error_matches(function() opt:save(path) end, "^save: cannot open '.*' for writing")
        assert.is_nil(io.open(path, "rb"))
      end)
    end)
  end)
end

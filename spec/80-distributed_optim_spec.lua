-- Data-parallel optimizers (grilly.optim.distributed, docs/distributed.md).
-- The MPI workers in spec/support/distributed/ run under mpirun; their
-- results are compared with single-process runs of the same problem
-- (spec/support/dist_problem.lua) computed here: a plain optimizer stepping
-- on the full global batch.
local grilly = require "grilly"
local problem = require "dist_problem"
local scratch = require "scratch_files"

local STEPS = 12

local function close(a, e, rtol, atol)
  return type(a) == "number" and math.abs(a - e) <= atol + rtol * math.abs(e)
end

-- Asserts two arrays of numbers agree within tolerance, naming the first miss.
local function assert_close(got, expected, rtol, atol, what)
  assert.are.equal(#expected, #got, what .. ": length")
  for i, e in ipairs(expected) do
    if not close(got[i], e, rtol, atol) then
      error(string.format("%s: element %d is %.9g, expected %.9g", what, i, got[i], e), 2)
    end
  end
end

-- One process on the full batch: the snapshots after each step, and the optimizer.
local function reference(class, steps)
  local params = problem.params(grilly, 100)
  local loader = problem.loader(grilly, 0, 1, "cpu")
  local opt = grilly.optim[class](params, problem.options(class))
  local snaps = {}
  for k = 1, steps do
    problem.step(opt, params, loader)
    snaps[k] = problem.snapshot(opt, params)
  end
  return snaps, opt, params
end

local function assert_matches(run, ref, what)
  for k, r in ipairs(ref) do
    local s = run.steps[k]
    local where = string.format("%s, step %d", what, k)
    assert_close(s.w, r.w, 1e-5, 1e-6, where .. ", W")
    assert_close(s.b, r.b, 1e-5, 1e-6, where .. ", b")
    assert_close({ s.lr }, { r.lr }, 1e-6, 0, where .. ", lr")
    if r.beta1 then
      assert_close({ s.beta1, s.surprise }, { r.beta1, r.surprise }, 1e-6, 1e-9, where .. ", beta1 and surprise")
    end
  end
end

-- A fresh scratch folder.
local function folder()
  local dir = scratch.path("-dist")
  assert(os.execute("mkdir -p " .. dir) == 0)
  return dir
end

-- Runs a worker once per spec file and keeps its exit code, output and the
-- results each rank wrote.
local cache = {}
local function run(n, worker, args, key)
  key = key or worker .. n .. table.concat(args or {}, " ")
  if not cache[key] then
    local dir = folder()
    local full = { dir .. "/out" }
    for _, a in ipairs(args or {}) do full[#full + 1] = a end
    local code, output = problem.mpirun(n, worker, full)
    local ranks = {}
    for r = 0, n - 1 do
      local f = io.open(dir .. "/out." .. r)
      if f then
        f:close()
        ranks[r] = problem.read(dir .. "/out." .. r)
      end
    end
    cache[key] = { code = code, output = output, ranks = ranks }
  end
  local c = cache[key]
  assert.are.equal(0, c.code, c.output)
  return c.ranks, c.output
end

describe("data-parallel optimizers", function()
  describe("options", function()
    local optim = grilly.optim
    local function p() return { grilly.zeros(3, { device = "cpu" }) } end

    it("are checked before MPI starts, naming the option", function()
      local cases = {
        { function() optim.distributed(optim.AdamW(p()), { shard_state = 1 }) end,
          "AdamW: option 'shard_state' must be a boolean, got number" },
        { function() optim.distributed(optim.AdamW(p()), { bucket_mb = 0 }) end,
          "AdamW: option 'bucket_mb' must be a number from 4e-6 to 4096 (megabytes), got 0" },
        { function() optim.distributed(optim.AdamW(p()), { bucket_mb = 1e6 }) end,
          "option 'bucket_mb' must be a number from 4e-6 to 4096 (megabytes), got 1000000" },
        { function() optim.distributed(optim.HypergradientAdamW(p()), { shards = true }) end,
          "HypergradientAdamW: unknown distributed option 'shards' (expected shard_state or bucket_mb)" },
        { function() optim.distributed(optim.AdamW(p()), "yes") end,
          "AdamW: distributed options must be a table, got string" },
        { function() optim.AdamW(p(), { shard_state = true }) end,
          "AdamW: option 'shard_state' needs distributed = true" },
        { function() optim.AutoHypergradientAdamW(p(), { distributed = false, bucket_mb = 1 }) end,
          "AutoHypergradientAdamW: option 'bucket_mb' needs distributed = true" },
        { function() optim.AdamW(p(), { distributed = "yes" }) end,
          "AdamW: option 'distributed' must be a boolean, got string" },
        { function() optim.AdamW(p(), { distributed = true, shard_state = "no" }) end,
          "AdamW: option 'shard_state' must be a boolean, got string" },
      }
      for _, case in ipairs(cases) do
        local ok, err = pcall(case[1])
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find(case[2], 1, true), tostring(err))
      end
    end)

    it("leave an optimizer without them as it was", function()
      local opt = optim.AdamW(p(), { lr = 0.1, distributed = false })
      assert.is_false(opt.distributed)
      assert.is_false(opt.shard_state)
      assert.are.equal(0.1, opt.lr)
      assert.are.equal("grilly.AdamW(lr=0.1, beta1=0.9, step=0, device=cpu)", tostring(opt))
    end)

    it("other than the class's options are still rejected", function()
      local ok, err = pcall(optim.AdamW, p(), { distributed = true, lr_max = 1 })
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("AdamW: unknown option 'lr_max'", 1, true), tostring(err))
    end)
  end)

  describe("on 2 ranks", function()
    if not problem.mpi then return pending(problem.mpi_reason) end

    local modes = { "replicated", "sharded" }

    it("match one process on the full batch, step for step, for every class and state layout", function()
      local ranks = run(2, "train", { STEPS, "cpu" })
      for _, class in ipairs(problem.CLASSES) do
        local ref = reference(class, STEPS)
        for _, mode in ipairs(modes) do
          assert_matches(ranks[0][class .. "/" .. mode], ref, class .. " " .. mode)
        end
      end
    end)

    it("adapt lr, beta1 and the surprise identically on every rank", function()
      local ranks = run(2, "train", { STEPS, "cpu" })
      for _, class in ipairs(problem.CLASSES) do
        for _, mode in ipairs(modes) do
          local a, b = ranks[0][class .. "/" .. mode], ranks[1][class .. "/" .. mode]
          assert.are.same(a.steps, b.steps)
          assert.are.same(a.lr_history, b.lr_history)
          assert.are.same(a.beta1_history, b.beta1_history)
          assert.are.same(a.surprise_history, b.surprise_history)
          assert.are.same(a.s_bar_history, b.s_bar_history)
        end
      end
      local auto = ranks[1]["AutoHypergradientAdamW/sharded"]
      local _, opt = reference("AutoHypergradientAdamW", STEPS)
      -- Adaptation starts after warmup (2 steps): lr and beta1 moved, surprise was recorded.
      assert.are.equal(#opt.lr_history, #auto.lr_history)
      assert.are.equal(STEPS - 2, #auto.surprise_history)
      assert_close(auto.surprise_history, opt.surprise_history, 1e-6, 1e-9, "surprise history")
      assert_close(auto.beta1_history, opt.beta1_history, 1e-6, 0, "beta1 history")
      assert.are_not.equal(auto.beta1_history[1], auto.beta1_history[#auto.beta1_history])
    end)

    it("start every rank from rank 0's parameters", function()
      local ranks = run(2, "train", { STEPS, "cpu" })
      local w0 = problem.params(grilly, 100)[1]:view(-1):totable()
      assert.are.same(w0, ranks[1]["AdamW/replicated"].start.w)
      assert.are.same(w0, ranks[1]["AdamW/sharded"].start.w)
    end)

    it("with sharded state, split the optimizer memory between the ranks", function()
      local ranks = run(2, "train", { STEPS, "cpu" })
      -- Each rank owns its slice of each 100-element bucket: half of it,
      -- rounded up to whole 16-element units (docs/distributed.md).
      local total, owned = problem.INPUTS * problem.OUTPUTS + problem.OUTPUTS, { 0, 0 }
      for lo = 0, total - 1, 100 do
        local len = math.min(100, total - lo)
        local per = math.ceil(math.ceil(len / 2) / 16) * 16
        owned[1] = owned[1] + math.min(per, len)
        owned[2] = owned[2] + len - math.min(per, len)
      end
      for class, slots in pairs({ AdamW = 2, HypergradientAdamW = 2, AutoHypergradientAdamW = 3 }) do
        local full = ranks[0][class .. "/replicated"].state_bytes
        assert.are.equal(total * 4 * slots, full)
        assert.are.equal(full, ranks[1][class .. "/replicated"].state_bytes)
        assert.are.equal(owned[1] * 4 * slots, ranks[0][class .. "/sharded"].state_bytes)
        assert.are.equal(owned[2] * 4 * slots, ranks[1][class .. "/sharded"].state_bytes)
      end
    end)

    it("average the gradients in one collective per bucket, plus a few doubles when sharded", function()
      local ranks = run(2, "train", { STEPS, "cpu" })
      local total = problem.INPUTS * problem.OUTPUTS + problem.OUTPUTS
      local buckets = math.ceil(total / 100)
      for _, class in ipairs(problem.CLASSES) do
        local rep = ranks[0][class .. "/replicated"].traffic
        assert.are.same({ calls = STEPS * buckets, bytes = STEPS * total * 4 }, rep.all_reduce.f32)
        assert.are.same({ calls = STEPS, bytes = STEPS * 2 }, rep.all_reduce.u8)   -- which parameters have gradients
        assert.is_nil(rep.all_gather)
        local sh = ranks[0][class .. "/sharded"].traffic
        assert.are.same({ calls = STEPS * buckets, bytes = STEPS * total * 4 }, sh.reduce_scatter.f32)
        assert.are.same({ calls = STEPS * buckets, bytes = STEPS * total * 4 }, sh.all_gather.f32)
        -- The step's sums (5 doubles) from each of the 2 ranks, and for AutoHypergradientAdamW
        -- the next normaliser (1 double) too.
        local auto = class == "AutoHypergradientAdamW"
        assert.are.same({ calls = (auto and 2 or 1) * STEPS, bytes = STEPS * 2 * (auto and 6 or 5) * 8 },
                        sh.all_gather.f64)
      end
    end)

    it("report the data-parallel setting", function()
      local ranks = run(2, "train", { STEPS, "cpu" })
      assert.are.equal("grilly.AdamW(lr=0.05, beta1=0.9, step=12, device=cpu, ranks=2, shard_state=true)",
                       ranks[1]["AdamW/sharded"].tostring)
      assert.are.equal("grilly.AdamW(lr=0.05, beta1=0.9, step=12, device=cpu, ranks=2)",
                       ranks[1]["AdamW/replicated"].tostring)
    end)

    it("match one process on a Vulkan device too", function()
      local gpu = require "gpu"
      if not gpu.available then return pending(gpu.reason) end
      local ranks = run(2, "train", { 6, "vulkan" })
      for _, class in ipairs(problem.CLASSES) do
        local ref = reference(class, 6)
        for _, mode in ipairs(modes) do
          assert_matches(ranks[0][class .. "/" .. mode], ref, class .. " " .. mode .. " on vulkan")
          assert.are.same(ranks[0][class .. "/" .. mode].steps, ranks[1][class .. "/" .. mode].steps)
        end
      end
    end)

    describe("checkpoints", function()
      local K1, K2 = 7, 6
      local dir
      local function saved()
        if not dir then
          dir = folder()
          local code, output = problem.mpirun(2, "checkpoint", { "save", dir, K1, K2, "true" })
          assert.are.equal(0, code, output)
        end
        return dir
      end

      local function resume(n, shard, mode)
        local d = saved()
        mode = mode or "resume"
        local code, output = problem.mpirun(n, "checkpoint", { mode, d, K1, K2, tostring(shard) })
        assert.are.equal(0, code, output)
        return function(r) return problem.read(string.format("%s/%s-%d-%s.%d", d, mode, n, tostring(shard), r)) end
      end

      it("saved with sharded state load at 1 rank and continue like the 2-rank run", function()
        local d = saved()
        local cont = problem.read(d .. "/save.0")
        local p = assert(grilly.load(d .. "/params.grilly", { device = "cpu" }))
        local params = { p.w, p.b }
        local opt = grilly.optim.load(d .. "/opt.grilly", params)
        assert.are.equal(K1, opt.step_count)
        assert.is_false(opt.distributed)
        local loader = problem.loader(grilly, 0, 1, "cpu")
        for _ = 1, K1 do problem.next_batch(loader) end
        local snaps = {}
        for k = 1, K2 do
          problem.step(opt, params, loader)
          snaps[k] = problem.snapshot(opt, params)
        end
        assert_matches(cont, snaps, "resumed at 1 rank")
        assert_close(cont.lr_history, opt.lr_history, 1e-6, 0, "lr history")
        assert_close(cont.surprise_history, opt.surprise_history, 1e-6, 1e-9, "surprise history")
      end)

      it("hold the complete state of one process's run", function()
        local d = saved()
        local _, ref, ref_params = reference("AutoHypergradientAdamW", K1)
        local p = assert(grilly.load(d .. "/params.grilly", { device = "cpu" }))
        local sd = grilly.optim.load(d .. "/opt.grilly", { p.w, p.b }):state_dict()
        local rsd = ref:state_dict()
        for i = 1, 2 do
          for _, slot in ipairs({ "m", "v", "ema_g" }) do
            assert_close(sd.state[i][slot]:view(-1):totable(), rsd.state[i][slot]:view(-1):totable(), 1e-4, 1e-7,
                         "parameter " .. i .. " " .. slot)
          end
        end
        assert_close(p.w:view(-1):totable(), ref_params[1]:view(-1):totable(), 1e-5, 1e-6, "W")
        for _, k in ipairs({ "lr", "beta1", "G_lr", "G_beta", "prev_norm", "var_ema", "S", "Sbar", "gain", "P" }) do
          assert_close({ sd[k] }, { rsd[k] }, 1e-5, 1e-12, k)
        end
        assert.are.equal(rsd.t, sd.t)
        assert.are.equal(#rsd.lr_history, #sd.lr_history)
      end)

      it("load at 2 ranks with sharded state and continue bit for bit", function()
        local cont = { [0] = problem.read(saved() .. "/save.0"), problem.read(saved() .. "/save.1") }
        local got = resume(2, true)
        for r = 0, 1 do
          assert.are.same(cont[r].steps, got(r).steps)
          assert.are.same(cont[r].lr_history, got(r).lr_history)
        end
      end)

      it("need only be read by rank 0: the other ranks take its parameters and state", function()
        local cont = { [0] = problem.read(saved() .. "/save.0"), problem.read(saved() .. "/save.1") }
        local got = resume(2, true, "resume-root")
        for r = 0, 1 do
          assert.are.same(cont[r].steps, got(r).steps)
          assert.are.same(cont[r].lr_history, got(r).lr_history)
        end
      end)

      it("load at 3 ranks, or with replicated state, and continue alike", function()
        local cont = problem.read(saved() .. "/save.0")
        local three, replicated = resume(3, true), resume(2, false)
        assert_matches(three(2), cont.steps, "3 ranks")
        assert.are.same(three(0).steps, three(2).steps)
        assert_matches(replicated(1), cont.steps, "replicated")
      end)
    end)

    it("train the spiking network of examples/06_distributed.lua", function()
      local set = grilly.data.fashion_mnist { train_size = 1, test_size = 1 }
      if not set then return pending("Fashion-MNIST is not installed (dataset-fashion-mnist)") end
      local code, output = problem.mpirun(2, "examples/06_distributed.lua", {
        "--epochs", 1, "--train-size", 2048, "--test-size", 1000, "--hidden", 64, "--batch-size", 128, "--quiet",
        "--device", "cpu", "--log=", "--plot=" }, 300)
      assert.are.equal(0, code, output)
      assert.is_truthy(output:find("on 2 ranks, global batch 128 (64 per rank)", 1, true), output)
      local acc = tonumber(output:match("final test accuracy ([%d.]+) %(2 ranks"))
      assert.is_truthy(acc, output)
      assert.is_true(acc > 0.4, output)   -- ten classes: chance is 0.1
    end)

    it("end the job with the failing rank's message when a rank raises, instead of hanging", function()
      local code, output = problem.mpirun(2, "fail", {}, 60)
      assert.are_not.equal(124, code, "the job hung until the timeout:\n" .. output)
      assert.are_not.equal(0, code)
      assert.is_truthy(output:find("deliberate failure on rank 1 at step 3", 1, true), output)
      assert.is_truthy(output:find("grilly.distributed: rank 1 of 2 is exiting with status 1; ending the other ranks",
                                   1, true), output)
      assert.is_falsy(output:find("finished all steps", 1, true), output)
    end)

    describe("edges", function()
      local function edge(r) return run(2, "edge")[r] end

      it("refuse ranks whose parameters, class or options differ, on every rank alike", function()
        for r = 0, 1 do
          assert.is_truthy(edge(r).mismatch:find(
            "AdamW: the ranks' parameters differ (rank 0 has 2 tensors of 5 elements, rank 1 2 of 6)", 1, true))
          assert.is_truthy(edge(r).mismatch_class:find(
            "the ranks' optimizers differ (rank 0 has AdamW, rank 1 HypergradientAdamW)", 1, true))
          assert.is_truthy(edge(r).mismatch_options:find("AdamW: the ranks' distributed options differ (rank 0: "
            .. "shard_state = true, bucket of 4194304 elements; rank 1: shard_state = false, 4194304 elements)",
            1, true))
        end
      end)

      it("count a gradient a rank lacks as zero and leave parameters no rank has one for alone", function()
        local a, c = grilly.full({ 40 }, 1), grilly.full({ 3 }, 2)
        local opt = grilly.optim.AdamW({ a, c }, { lr = 0.1 })
        a.grad = grilly.arange(1, 41) / 10 / 2   -- rank 0's gradient averaged with rank 1's none
        opt:step()
        local m = opt:state_dict().state[1].m:totable()
        for _, shard in ipairs({ "false", "true" }) do
          for r = 0, 1 do
            local got = edge(r)["partial/" .. shard]
            assert_close(got.a, a:totable(), 1e-6, 1e-7, "a")
            assert_close(got.m, m, 1e-6, 1e-9, "m of a")
            assert.are.same({ 2, 2, 2 }, got.c)
            assert.is_false(got.has_c_state)
          end
        end
      end)

      it("skip a step, or raise, on every rank when one rank's gradient is not finite", function()
        for _, shard in ipairs({ "false", "true" }) do
          for r = 0, 1 do
            local skip = edge(r)["nonfinite/skip/" .. shard]
            assert.are.equal("no error", skip.err)
            assert.are.equal(1, skip.skipped)
            assert.are.equal(0, skip.t)
            assert.are.same(grilly.ones(40):totable(), skip.p)
            local err = edge(r)["nonfinite/error/" .. shard]
            assert.is_truthy(err.err:find("AdamW: non-finite gradient of parameter 1 (7 of 40 elements", 1, true),
                             err.err)
            assert.are.equal(0, err.t)
            assert.are.same(grilly.ones(40):totable(), err.p)
          end
        end
        assert.is_truthy(edge(1)["nonfinite/error/true"].err:find("averaged over 2 ranks); nothing was changed", 1, true))
      end)

      it("step alike when a rank owns no part of the parameters", function()
        local p = grilly.zeros(5)
        local opt = grilly.optim.AdamW({ p })
        for k = 1, 3 do
          p.grad = grilly.arange(1, 6) * ((1 + k) + (0 + k)) / 2   -- the mean of rank 0's and rank 1's
          opt:step()
        end
        local m = opt:state_dict().state[1].m:totable()
        for r = 0, 1 do
          assert_close(edge(r).small.p, p:totable(), 1e-6, 1e-7, "parameter on rank " .. r)
          assert_close(edge(r).small.m, m, 1e-6, 1e-7, "m on rank " .. r)
        end
        assert.are.equal(5 * 4 * 2, edge(0).small.bytes)
        assert.are.equal(0, edge(1).small.bytes)
      end)

      it("fail to save on every rank when rank 0 cannot write", function()
        for r = 0, 1 do
          assert.is_truthy(edge(r).save_error:find(
            "save: cannot open '/nonexistent-dir/opt.grilly' for writing", 1, true), edge(r).save_error)
        end
      end)

      it("tell their setting and refuse a second distribution", function()
        local e = edge(1)
        assert.are.same({ distributed = true, shard_state = true,
                          text = "grilly.AdamW(lr=0.001, beta1=0.9, step=3, device=cpu, ranks=2, shard_state=true)" },
                        e.fields)
        assert.are.same({ distributed = false, shard_state = false }, e.plain_fields)
        assert.is_truthy(e.twice:find("AdamW: the optimizer is distributed already", 1, true))
        assert.is_truthy(e.read_only:find("AdamW: field 'shard_state' is read-only", 1, true))
      end)

      it("gather the sharded state into one state_dict and one set of directions, the same on every rank", function()
        local a, b = edge(0), edge(1)
        assert.are.same(a.state_dict, b.state_dict)
        assert.are.same(a.directions, b.directions)
        local _, ref, params = reference("AutoHypergradientAdamW", 5)
        local rsd = ref:state_dict()
        for i = 1, 2 do
          for _, slot in ipairs({ "m", "v", "ema_g" }) do
            assert_close(a.state_dict.state[i][slot], rsd.state[i][slot]:view(-1):totable(), 1e-4, 1e-7,
                         "parameter " .. i .. " " .. slot)
          end
        end
        assert.are.equal(5, a.state_dict.t)
        assert_close(a.state_dict.lr_history, rsd.lr_history, 1e-6, 0, "lr history")
        local dirs = grilly.optim.hypergradient.compute_update_directions(ref)
        assert_close(a.directions[1], dirs[params[1]]:view(-1):totable(), 1e-4, 1e-6, "direction of W")
        assert_close(a.directions[2], dirs[params[2]]:totable(), 1e-4, 1e-6, "direction of b")
      end)

      it("continue bit for bit from their own gathered state_dict", function()
        for r = 0, 1 do
          local got = edge(r).reloaded
          assert.are.same(got.a, got.b)
          assert.are.equal(got.lr_a, got.lr_b)
        end
      end)
    end)
  end)
end)

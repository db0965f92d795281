-- grilly.train.loop against deterministic plain-Lua stand-ins that follow
-- the protocol of docs/train.md: the TSV log, epochs, validation, callbacks,
-- pause and resume, and argument errors.
local train = require "grilly.train"
local tsv = require "grilly.tsv"

-- y = w*x + b on numbers; backward accumulates into .grad like nn modules do.
local function Model()
  local m = { w = { value = 0.5, grad = 0 }, b = { value = -0.25, grad = 0 }, seen = {} }
  function m:forward(x) self.seen[#self.seen + 1] = x; return self.w.value * x + self.b.value end
  function m:backward(x, g) self.w.grad = self.w.grad + g * x; self.b.grad = self.b.grad + g end
  function m:parameters() return { self.w, self.b } end
  return m
end

local Criterion = {
  forward = function(_, out, y) return (out - y) ^ 2 end,
  backward = function(_, out, y) return 2 * (out - y) end,
}

-- A stateful stand-in optimizer with the fields of grilly.optim: lr adapts
-- with the sign agreement of successive gradients, and a made-up surprise
-- gives a nonzero gain, so a resumed run must carry all of its state.
local function Optimizer(params)
  local o = { params = params, current_lr = 0.05, beta1 = 0.9, hyper_lr = 0.02, step_count = 0,
              current_surprise = 0, accumulated_surprise = 0, current_surprise_gain = 0,
              lr_history = { 0.05 }, prev = 0 }
  function o:zero_grad() for _, p in ipairs(self.params) do p.grad = 0 end end
  function o:step()
    self.step_count = self.step_count + 1
    local g = self.params[1].grad
    if self.step_count > 1 then
      self.current_lr = self.current_lr * (1 + self.hyper_lr * (g * self.prev > 0 and 1 or -1))
      self.lr_history[#self.lr_history + 1] = self.current_lr
    end
    self.prev = g
    for _, p in ipairs(self.params) do p.value = p.value - self.current_lr * p.grad end
    self.current_surprise = math.tanh(math.abs(g))
    self.accumulated_surprise = 0.1 * self.current_surprise + 0.9 * self.accumulated_surprise
    self.current_surprise_gain = self.accumulated_surprise * math.exp(-self.accumulated_surprise / 0.5)
  end
  return o
end

-- Batches (x, y) of y = 2x + 1, with a size for the epoch ETA.
local function Data(n)
  local d = { i = 0, n = n }
  function d:reset() self.i = 0 end
  function d:next()
    if self.i >= self.n then return nil end
    self.i = self.i + 1
    local x = (self.i - 1) / self.n - 0.5
    return x, 2 * x + 1
  end
  function d:size() return self.n end
  return d
end

local function setup(extra)
  local model = Model()
  local opts = { model = model, criterion = Criterion, optimizer = Optimizer(model:parameters()),
                 data = Data(4), progress = false }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return train.loop(opts), opts
end

-- The protocol done by hand: the independent reference of what the loop does.
local function reference(steps, n_batches, gain_scale)
  local model = Model()
  local opt = Optimizer(model:parameters())
  local data = Data(n_batches)
  local rows = {}
  data:reset()
  for step = 1, steps do
    local x, y = data:next()
    if x == nil then data:reset(); x, y = data:next() end
    x = x * (1 + (gain_scale or 0) * opt.current_surprise_gain)
    local out = model:forward(x)
    local loss = Criterion:forward(out, y)
    opt:zero_grad()
    model:backward(x, Criterion:backward(out, y))
    opt:step()
    rows[step] = { loss = loss, lr = opt.current_lr, gain = opt.current_surprise_gain }
  end
  return rows, model, opt
end

local read = require("scratch_files").read

local function buffer()
  local b = { text = "" }
  function b:write(...) for _, s in ipairs({ ... }) do self.text = self.text .. s end end
  function b:flush() end
  return b
end

describe("grilly.train.loop", function()
  it("logs one TSV row per step with the documented columns, flushed as it goes", function()
    local path = os.tmpname()
    local rows_at_step = {}
    local loop = setup{ log = path, gain_scale = 0.5, on_step = function(l, row)
      -- Every row is on disk before on_step runs.
      local cols = assert(tsv.read(path))
      rows_at_step[row.step] = #cols.step
    end }
    assert.same({ 10, "done" }, { loop:run(10) })
    local cols = assert(tsv.read(path))
    os.remove(path)
    assert.same({ "step", "epoch", "loss", "accuracy", "lr", "beta1", "surprise", "s_bar", "gain" }, cols.names)
    assert.equal(10, #cols.step)
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, cols.step)
    assert.same({ 1, 1, 1, 1, 2, 2, 2, 2, 3, 3 }, cols.epoch)
    for s = 1, 10 do assert.equal(s, rows_at_step[s]) end
    local ref = reference(10, 4, 0.5)
    for s = 1, 10 do
      assert.near(ref[s].loss, cols.loss[s], 1e-8 * math.max(1, ref[s].loss))
      assert.near(ref[s].lr, cols.lr[s], 1e-9)
      assert.near(ref[s].gain, cols.gain[s], 1e-9)
      assert.equal(0.9, cols.beta1[s])
      assert.is_true(cols.accuracy[s] ~= cols.accuracy[s])   -- no accuracy: empty
    end
    assert.is_true(ref[10].gain > 0)
  end)

  it("logs what a real optimizer on grilly tensors records in its histories", function()
    local grilly = require "grilly"
    grilly.manual_seed(3)
    local X, Y = grilly.randn{ 16, 3 }, grilly.randn{ 16, 1 }
    local W = grilly.zeros(3, 1):requires_grad()
    local model = {
      forward = function(_, x) return x:matmul(W) end,
      backward = function(_, x, g) W.grad:add_(x:t():matmul(g)) end,
    }
    local mse = {
      forward = function(_, out, y) return (out - y):pow(2):mean() end,
      backward = function(_, out, y) return (out - y) * (2 / out:numel()) end,
    }
    local data = { i = 0 }
    function data:reset() self.i = 0 end
    function data:next()
      if self.i == 4 then return nil end
      self.i = self.i + 1
      return X:narrow(1, 4 * self.i - 3, 4), Y:narrow(1, 4 * self.i - 3, 4)
    end
    local opt = grilly.optim.AutoHypergradientAdamW({ W }, { warmup_steps = 2, track_surprise = true })
    local loop = train.loop{ model = model, criterion = mse, optimizer = opt, data = data,
                             gain_scale = 0.1, progress = false }
    loop:run(12)
    -- Adaptation and surprise start at call 3: lr_history[k] is the lr of step k + 1.
    local h = loop.history
    assert.equal(11, #opt.lr_history)
    for k = 2, 11 do assert.equal(opt.lr_history[k], h.lr[k + 1]) end
    for k = 1, 10 do
      assert.equal(opt.surprise_history[k], h.surprise[k + 2])
      assert.equal(opt.s_bar_history[k], h.s_bar[k + 2])
    end
    assert.equal(opt.current_surprise_gain, h.gain[12])
    assert.equal(0.9, h.beta1[12])
    assert.is_true(h.gain[12] > 0)
  end)

  it("keeps the same columns in loop.history", function()
    local loop = setup()
    loop:run(6)
    assert.same({ 1, 2, 3, 4, 5, 6 }, loop.history.step)
    local ref = reference(6, 4)
    assert.near(ref[6].loss, loop.history.loss[6], 1e-12)
    assert.equal(6, loop.last.step)
  end)

  it("records accuracy from the accuracy option or the criterion", function()
    local loop = setup{ accuracy = function(out, y) return math.abs(out - y) < 1 and 1 or 0 end }
    loop:run(3)
    for s = 1, 3 do assert.is_true(loop.history.accuracy[s] == 0 or loop.history.accuracy[s] == 1) end
    local crit = setmetatable({ accuracy = function(_, out, y) return 0.25 end }, { __index = Criterion })
    loop = setup{ criterion = crit }
    loop:run(2)
    assert.same({ 0.25, 0.25 }, loop.history.accuracy)
  end)

  it("runs whole epochs and reports each one", function()
    local summaries = {}
    local loop = setup{ on_epoch = function(l, s) summaries[#summaries + 1] = s end }
    assert.same({ 8, "done" }, { loop:run{ epochs = 2 } })
    assert.equal(2, loop.epochs_done)
    assert.equal(3, loop.epoch)
    assert.equal(2, #summaries)
    local ref = reference(8, 4)
    local mean = (ref[5].loss + ref[6].loss + ref[7].loss + ref[8].loss) / 4
    assert.equal(2, summaries[2].epoch)
    assert.equal(4, summaries[2].steps)
    assert.near(mean, summaries[2].loss, 1e-12)
    -- A step-count run, then {epochs = 1} finishes the epoch it is in.
    loop:run(1)
    loop:run{ epochs = 1 }
    assert.equal(12, loop.step)
  end)

  it("evaluates on val_data at each epoch end and every val_every steps", function()
    local path = os.tmpname()
    local evaluated = {}
    local val = Data(3)
    local loop = setup{ log = path, val_data = val, val_every = 3,
                        on_step = function(l, row) evaluated[row.step] = row.val_loss ~= nil end }
    loop:run(8)
    local cols = assert(tsv.read(path))
    os.remove(path)
    assert.same({ "val_loss", "val_accuracy" }, { cols.names[10], cols.names[11] })
    assert.same({ false, false, true, true, false, true, false, true }, evaluated)
    -- The validation loss is the mean over val_data of the model after that step.
    local _, model = reference(4, 4)
    val:reset()
    local sum, n = 0, 0
    while true do
      local x, y = val:next()
      if not x then break end
      sum, n = sum + (model.w.value * x + model.b.value - y) ^ 2, n + 1
    end
    assert.near(sum / n, cols.val_loss[4], 1e-8)
    assert.is_true(cols.val_loss[5] ~= cols.val_loss[5])
  end)

  it("switches the model to evaluation mode and back when it has the methods", function()
    local calls = {}
    local loop, opts = setup{ val_data = Data(2) }
    opts.model.evaluate = function() calls[#calls + 1] = "evaluate" end
    opts.model.training = function() calls[#calls + 1] = "training" end
    local loss = loop:evaluate()
    assert.same({ "evaluate", "training" }, calls)
    assert.is_number(loss)
    assert.error_matches(function() setup():evaluate() end, "no data given and no val_data")
  end)

  it("resumes a paused run to the same final state as an uninterrupted one", function()
    local function final_state(loop, opts, path)
      return { w = opts.model.w.value, b = opts.model.b.value, lr = opts.optimizer.current_lr,
               lr_history = opts.optimizer.lr_history, sbar = opts.optimizer.accumulated_surprise,
               step = loop.step, epoch = loop.epoch, history = loop.history, log = read(path),
               seen = opts.model.seen }
    end
    local p1, p2 = os.tmpname(), os.tmpname()
    local straight, so = setup{ log = p1, gain_scale = 0.3, val_data = Data(2) }
    straight:run(19)
    local paused, po = setup{ log = p2, gain_scale = 0.3, val_data = Data(2), on_step = function(l, row)
      if row.step == 3 or row.step == 4 or row.step == 13 then l:pause() end
    end }
    assert.same({ 3, "paused" }, { paused:run(19) })
    assert.same({ 4, "paused" }, { paused:run() })
    assert.same({ 13, "paused" }, { paused:run() })
    assert.same({ 19, "done" }, { paused:run() })
    -- NaN (an empty accuracy) is not equal to itself; compare it as text.
    local function plain(v)
      if v ~= v then return "nan" end
      if type(v) ~= "table" then return v end
      local t = {}
      for k, x in pairs(v) do t[k] = plain(x) end
      return t
    end
    local a, b = plain(final_state(straight, so, p1)), plain(final_state(paused, po, p2))
    os.remove(p1)
    os.remove(p2)
    assert.same(a, b)
    assert.equal(19 + 4 * 2, #b.seen)   -- 19 training batches, 2 per validation at 4 epoch ends
    assert.error_matches(function() paused:run() end, "nothing to resume")
  end)

  it("is what train.last() returns once it has run", function()
    local loop = setup()
    loop:run(1)
    assert.equal(loop, train.last())
  end)

  it("prints plain progress lines every print_every steps and epoch summaries", function()
    local out = buffer()
    local loop = setup{ progress = "lines", print_every = 3, out = out }
    loop:run(7)
    local lines = {}
    for l in out.text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.same({ "step 3/7", "step 6/7", "step 7/7" },
                { lines[1]:match("^step %d+/%d+"), lines[3]:match("^step %d+/%d+"), lines[4]:match("^step %d+/%d+") })
    assert.matches("^epoch 1: 4 steps, loss %d", lines[2])
    assert.matches("loss [%d.e-]+  lr 0%.0", lines[1])
    assert.matches("steps/s  ETA %d+:%d%d", lines[1])
    assert.is_nil(out.text:find("\r", 1, true))
  end)

  it("rewrites one terminal line and ends it, noting a pause", function()
    local out = buffer()
    local loop = setup{ progress = "line", out = out, on_step = function(l, row)
      if row.step == 2 then l:pause() end
    end }
    loop:run(5)
    assert.truthy(out.text:find("\r\27[K", 1, true))
    assert.truthy(out.text:find("step 2/5", 1, true))
    assert.matches("paused at step 2; resume%(%) or loop:run%(%) continues\n$", out.text)
  end)

  it("reads a loss from an object with item()", function()
    local crit = { forward = function() return { item = function() return 1.5 end } end,
                   backward = Criterion.backward }
    local loop = setup{ criterion = crit }
    loop:run(1)
    assert.equal(1.5, loop.history.loss[1])
    local bad = setup{ criterion = { forward = function() return "x" end, backward = Criterion.backward } }
    assert.error_matches(function() bad:run(1) end, "criterion:forward must return a number, got string")
  end)

  it("stops with a message on data without batches", function()
    local loop = setup{ data = Data(0) }
    assert.error_matches(function() loop:run(1) end, "data:next%(%) returned nil at the start of epoch 1")
  end)

  it("rejects bad options, naming them", function()
    local model = Model()
    local base = { model = model, criterion = Criterion, optimizer = Optimizer(model:parameters()), data = Data(2) }
    local function with(k, v)
      local o = {}
      for key, val in pairs(base) do o[key] = val end
      o[k] = v
      return o
    end
    assert.error_matches(function() train.loop(5) end, "bad argument #1 %(options table expected, got number%)")
    assert.error_matches(function() train.loop(with("model", nil)) end, "option 'model' is required")
    assert.error_matches(function() train.loop(with("model", { forward = function() end })) end,
                         "option 'model' has no backward method")
    assert.error_matches(function() train.loop(with("data", 3)) end,
                         "option 'data' must be an object with next, reset methods, got number")
    assert.error_matches(function() train.loop(with("optimiser", 1)) end, "unknown option 'optimiser'")
    assert.error_matches(function() train.loop(with("gain_scale", 0 / 0)) end, "option 'gain_scale' must be a finite number")
    assert.error_matches(function() train.loop(with("print_every", 0)) end, "option 'print_every' must be an integer >= 1, got 0")
    assert.error_matches(function() train.loop(with("val_every", 2)) end, "option 'val_every' needs option 'val_data'")
    assert.error_matches(function() train.loop(with("progress", "bar")) end, "option 'progress' must be")
    assert.error_matches(function() train.loop(with("on_step", 1)) end, "option 'on_step' must be a function, got number")
    assert.error_matches(function() train.loop(with("log", "/nonexistent-dir/run.tsv")) end,
                         "option 'log': cannot write /nonexistent%-dir/run.tsv")
    local loop = train.loop(with("progress", false))
    assert.error_matches(function() loop:run(-1) end, "bad argument #1 to 'run' %(number of steps must be an integer >= 0, got %-1%)")
    assert.error_matches(function() loop:run(1.5) end, "integer >= 0, got 1.5")
    assert.error_matches(function() loop:run{ epochs = 0 } end, "{epochs = n} needs an integer n >= 1, got 0")
    assert.error_matches(function() loop:run("x") end, "number of steps or {epochs = n} expected, got string")
    assert.error_matches(function() loop:run() end, "nothing to resume")
  end)
end)

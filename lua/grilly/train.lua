-- grilly.train: a training loop that can be paused and resumed, with a TSV
-- log of every step, validation, callbacks and progress. The objects it
-- drives follow the protocol in docs/train.md.
local tsv = require "grilly.tsv"
local tty = require "grilly.tty"
local progress = require "grilly.train.progress"

local train = {}

-- When true (the REPL sets it), a loop running with a terminal on stdin stops
-- at the end of the current step on Ctrl-C, as if paused.
train.catch_interrupt = false

local last_loop

-- The loop that ran most recently (what the REPL's resume() continues).
function train.last() return last_loop end

local COLUMNS = { "step", "epoch", "loss", "accuracy", "lr", "beta1", "surprise", "s_bar", "gain" }
local VAL_COLUMNS = { "val_loss", "val_accuracy" }

local OPTIONS = {
  model = true, criterion = true, optimizer = true, data = true, val_data = true,
  gain_scale = true, log = true, on_step = true, on_epoch = true, print_every = true,
  val_every = true, accuracy = true, progress = true, out = true,
}

local Loop = {}
Loop.__index = Loop

local function fail(msg) error("grilly.train.loop: " .. msg, 3) end

local function check_methods(opts, key, methods, required)
  local obj = opts[key]
  if obj == nil then
    if required then fail("option '" .. key .. "' is required") end
    return
  end
  local t = type(obj)
  if t ~= "table" and t ~= "userdata" then
    fail("option '" .. key .. "' must be an object with " .. table.concat(methods, ", ") .. " methods, got " .. t)
  end
  for _, m in ipairs(methods) do
    local ok, f = pcall(function() return obj[m] end)
    if not ok or type(f) ~= "function" then
      fail("option '" .. key .. "' has no " .. m .. " method (see docs/train.md for the protocol)")
    end
  end
end

local function is_count(v, min)
  return type(v) == "number" and v == math.floor(v) and v >= min and v < math.huge
end

local function check_function(opts, key)
  if opts[key] ~= nil and type(opts[key]) ~= "function" then
    fail("option '" .. key .. "' must be a function, got " .. type(opts[key]))
  end
end

-- grilly.train.loop{model, criterion, optimizer, data, ...}: see docs/train.md.
function train.loop(opts)
  if type(opts) ~= "table" then
    error("grilly.train.loop: bad argument #1 (options table expected, got " .. type(opts) .. ")", 2)
  end
  for k in pairs(opts) do
    if not OPTIONS[k] then fail("unknown option '" .. tostring(k) .. "'") end
  end
  check_methods(opts, "model", { "forward", "backward" }, true)
  check_methods(opts, "criterion", { "forward", "backward" }, true)
  check_methods(opts, "optimizer", { "step", "zero_grad" }, true)
  check_methods(opts, "data", { "next", "reset" }, true)
  check_methods(opts, "val_data", { "next", "reset" }, false)
  check_function(opts, "on_step")
  check_function(opts, "on_epoch")
  check_function(opts, "accuracy")
  local gs = opts.gain_scale
  if gs ~= nil and (type(gs) ~= "number" or gs ~= gs or math.abs(gs) == math.huge) then
    fail("option 'gain_scale' must be a finite number, got " .. tostring(gs))
  end
  if opts.log ~= nil and type(opts.log) ~= "string" then
    fail("option 'log' must be a file name, got " .. type(opts.log))
  end
  if opts.print_every ~= nil and not is_count(opts.print_every, 1) then
    fail("option 'print_every' must be an integer >= 1, got " .. tostring(opts.print_every))
  end
  if opts.val_every ~= nil and not is_count(opts.val_every, 1) then
    fail("option 'val_every' must be an integer >= 1, got " .. tostring(opts.val_every))
  end
  if opts.val_every ~= nil and opts.val_data == nil then
    fail("option 'val_every' needs option 'val_data'")
  end
  local mode = opts.progress
  if mode == nil then mode = "auto" end
  if mode == false then mode = "off" end
  if mode ~= "auto" and mode ~= "line" and mode ~= "lines" and mode ~= "off" then
    fail("option 'progress' must be \"auto\", \"line\", \"lines\" or false, got " .. tostring(opts.progress))
  end
  local out = opts.out or io.stdout
  if (type(out) ~= "table" and type(out) ~= "userdata") or out.write == nil then
    fail("option 'out' must be a stream with write and flush, got " .. type(out))
  end
  if mode == "auto" then
    mode = (out == io.stdout and tty.isatty(1)) and "line" or "lines"
  end

  local columns = {}
  for i, c in ipairs(COLUMNS) do columns[i] = c end
  if opts.val_data then
    for _, c in ipairs(VAL_COLUMNS) do columns[#columns + 1] = c end
  end
  local history = { names = columns }
  for _, c in ipairs(columns) do history[c] = {} end

  local self = setmetatable({
    model = opts.model, criterion = opts.criterion, optimizer = opts.optimizer,
    data = opts.data, val_data = opts.val_data,
    gain_scale = gs or 0,
    accuracy = opts.accuracy, on_step = opts.on_step, on_epoch = opts.on_epoch,
    val_every = opts.val_every,
    step = 0, epoch = 1, epochs_done = 0,
    history = history,
    log = opts.log,
    _progress = progress.new(mode, out, opts.print_every or 100),
    _fresh_epoch = true,
    _sums = { loss = 0, n = 0, acc = 0, acc_n = 0, steps = 0 },
  }, Loop)
  if opts.log then
    local writer, err = tsv.writer(opts.log, columns)
    if not writer then fail("option 'log': " .. err) end
    self._log = writer
  end
  return self
end

local function to_number(v, what)
  if type(v) == "number" then return v end
  if (type(v) == "table" or type(v) == "userdata") then
    local ok, item = pcall(function() return v:item() end)
    if ok and type(item) == "number" then return item end
  end
  error("grilly.train: " .. what .. " must return a number, got " .. type(v), 0)
end

-- obj's method name, or nil (userdata may raise on unknown fields).
local function method(obj, name)
  local ok, f = pcall(function() return obj[name] end)
  if ok and type(f) == "function" then return f end
  return nil
end

local function read_field(obj, key)
  local ok, v = pcall(function() return obj[key] end)
  if ok and type(v) == "number" then return v end
  return nil
end

-- The batch this step trains on: the one fetched after the previous step, or
-- the first of a new epoch.
function Loop:_take_batch()
  if self._x == nil then
    if self._fresh_epoch then
      self.data:reset()
      self._fresh_epoch = false
    end
    local x, y = self.data:next()
    if x == nil then
      error("grilly.train: data:next() returned nil at the start of epoch " .. self.epoch ..
            " (the data has no batches)", 0)
    end
    self._x, self._y = x, y
  end
  local x, y = self._x, self._y
  self._x, self._y = nil, nil
  return x, y
end

function Loop:_accuracy(out, y)
  if self.accuracy then return self.accuracy(out, y) end
  local f = method(self.criterion, "accuracy")
  if f then return f(self.criterion, out, y) end
  return nil
end

-- Mean loss and accuracy of the model on data (default: val_data), without
-- training. Calls model:evaluate() before and model:training() after when
-- the model has them.
function Loop:evaluate(data)
  data = data or self.val_data
  if data == nil then error("loop:evaluate: no data given and no val_data", 2) end
  local model, criterion = self.model, self.criterion
  local has_modes = method(model, "evaluate") and method(model, "training")
  if has_modes then model:evaluate() end
  data:reset()
  local loss_sum, n, acc_sum, acc_n = 0, 0, 0, 0
  while true do
    local x, y = data:next()
    if x == nil then break end
    local out = model:forward(x)
    loss_sum = loss_sum + to_number(criterion:forward(out, y), "criterion:forward")
    n = n + 1
    local acc = self:_accuracy(out, y)
    if acc then acc_sum, acc_n = acc_sum + acc, acc_n + 1 end
  end
  if has_modes then model:training() end
  if n == 0 then return nil, nil end
  return loss_sum / n, acc_n > 0 and acc_sum / acc_n or nil
end

function Loop:_record(row)
  local h = self.history
  for _, c in ipairs(h.names) do
    local col = h[c]
    local v = row[c]
    col[#col + 1] = v == nil and 0 / 0 or v
  end
  if self._log then self._log:row(row) end
end

-- One optimisation step on the next batch, then the bookkeeping: log row,
-- progress, callbacks, and at the end of an epoch validation and on_epoch.
function Loop:_step()
  local x, y = self:_take_batch()
  local opt = self.optimizer
  local gain = read_field(opt, "current_surprise_gain") or 0
  if self.gain_scale ~= 0 and gain ~= 0 then
    x = x * (1 + self.gain_scale * gain)
  end
  local out = self.model:forward(x)
  local loss = to_number(self.criterion:forward(out, y), "criterion:forward")
  local acc = self:_accuracy(out, y)
  opt:zero_grad()
  self.model:backward(x, self.criterion:backward(out, y))
  opt:step()
  self.step = self.step + 1

  local row = {
    step = self.step, epoch = self.epoch, loss = loss, accuracy = acc,
    lr = read_field(opt, "current_lr"), beta1 = read_field(opt, "beta1"),
    surprise = read_field(opt, "current_surprise"), s_bar = read_field(opt, "accumulated_surprise"),
    gain = read_field(opt, "current_surprise_gain"),
  }
  local sums = self._sums
  sums.loss, sums.n, sums.steps = sums.loss + loss, sums.n + 1, sums.steps + 1
  if acc then sums.acc, sums.acc_n = sums.acc + acc, sums.acc_n + 1 end

  -- Fetch the next batch now, to know whether this step ended the epoch.
  local nx, ny = self.data:next()
  local epoch_end = nx == nil
  self._x, self._y = nx, ny

  if self.val_data and (epoch_end or (self.val_every and self.step % self.val_every == 0)) then
    row.val_loss, row.val_accuracy = self:evaluate()
  end
  self:_record(row)
  self.last = row
  self._progress:update(row)
  if self.on_step then self.on_step(self, row) end

  if epoch_end then
    local summary = {
      epoch = self.epoch, steps = sums.steps, loss = sums.loss / sums.n,
      accuracy = sums.acc_n > 0 and sums.acc / sums.acc_n or nil,
      val_loss = row.val_loss, val_accuracy = row.val_accuracy,
    }
    self.epochs_done = self.epochs_done + 1
    self.epoch = self.epoch + 1
    self._fresh_epoch = true
    self._sums = { loss = 0, n = 0, acc = 0, acc_n = 0, steps = 0 }
    local fmt = progress.format_number
    local text = string.format("epoch %d: %d steps, loss %s", summary.epoch, summary.steps, fmt(summary.loss))
    if summary.accuracy then text = text .. ", accuracy " .. fmt(summary.accuracy) end
    if summary.val_loss then text = text .. ", val_loss " .. fmt(summary.val_loss) end
    if summary.val_accuracy then text = text .. ", val_accuracy " .. fmt(summary.val_accuracy) end
    self._progress:message(text, row)
    if self.on_epoch then self.on_epoch(self, summary) end
  end
end

local function reached(self, target)
  if target.step then return self.step >= target.step end
  return self.epochs_done >= target.epochs
end

-- loop:run(n) trains n more steps; loop:run{epochs = n} n more epochs;
-- loop:run() continues a run that was paused. Returns the step count and
-- "done" or "paused".
function Loop:run(spec)
  local target
  if spec == nil then
    target = self._target
    if not target then
      error("bad argument #1 to 'run' (nothing to resume: give a number of steps or {epochs = n})", 2)
    end
  elseif type(spec) == "number" then
    if not is_count(spec, 0) then
      error("bad argument #1 to 'run' (number of steps must be an integer >= 0, got " .. tostring(spec) .. ")", 2)
    end
    target = { step = self.step + spec }
  elseif type(spec) == "table" then
    if not is_count(spec.epochs, 1) then
      error("bad argument #1 to 'run' ({epochs = n} needs an integer n >= 1, got " .. tostring(spec.epochs) .. ")", 2)
    end
    target = { epochs = self.epochs_done + spec.epochs }
  else
    error("bad argument #1 to 'run' (number of steps or {epochs = n} expected, got " .. type(spec) .. ")", 2)
  end
  self._target = target
  self._pause = false
  last_loop = self

  local total, epochs = target.step, target.epochs
  if epochs then
    local size_of = method(self.data, "size")
    local size = size_of and size_of(self.data)
    if type(size) == "number" then
      total = self.step + (epochs - self.epochs_done) * size - self._sums.steps
    end
  end
  self._progress:start(self.step, total, epochs)
  local watcher = train.catch_interrupt and tty.watch_interrupt() or nil
  local reason = "done"
  while not reached(self, target) do
    self:_step()
    if watcher and watcher:pending() then self._pause = true end
    if self._pause and not reached(self, target) then
      reason = "paused"
      break
    end
  end
  if watcher then watcher:release() end
  self._pause = false
  self._progress:finish(self.last, reason)
  if reason == "done" then self._target = nil end
  return self.step, reason
end

-- Asks a running loop to stop after the current step (from on_step or
-- on_epoch); run() returns "paused" and a later run() continues.
function Loop:pause()
  self._pause = true
end

-- Closes the TSV log (the loop can still run; it stops logging).
function Loop:close()
  if self._log then
    self._log:close()
    self._log = nil
  end
end

function Loop:__tostring()
  local state = self._target and "paused" or "idle"
  return string.format("grilly.train.loop(step %d, epoch %d, %s%s)", self.step, self.epoch, state,
                       self.log and (", log " .. self.log) or "")
end

return train

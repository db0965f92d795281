-- Where plotted numbers come from: optimizer histories on the step axis, TSV
-- logs, loops and column tables; tick placement; the TSV format.
local figure = require "grilly.plot.figure"
local scale = require "grilly.plot.scale"
local tsv = require "grilly.tsv"
local plot = require "grilly.plot"

local function series(fig, panel) return fig.panels[panel].series[1] end

-- An AutoHypergradientAdamW stand-in after 30 steps with warmup_steps = 10:
-- lr adapts (and is appended) from step 11 on, surprise is recorded from step 11.
local function optimizer()
  local opt = { step_count = 30, lr_history = { 0.01 }, beta1_history = { 0.9 },
                surprise_history = {}, s_bar_history = {}, trauma_threshold = 0.5 }
  for s = 11, 30 do
    opt.lr_history[#opt.lr_history + 1] = 0.01 + s * 1e-4
    opt.surprise_history[#opt.surprise_history + 1] = s / 100
    opt.s_bar_history[#opt.s_bar_history + 1] = s / 200
  end
  return opt
end

describe("grilly.plot sources", function()
  it("puts an optimizer's lr history on the steps it was used", function()
    local fig = figure.history(optimizer(), { "lr" }, {})
    local s = series(fig, 1)
    -- The initial lr holds for steps 1..10; entry k >= 2 belongs to step k + 9.
    assert.same({ 0, 10, 11, 12 }, { s.x[1], s.x[2], s.x[3], s.x[4] })
    assert.same({ 0.01, 0.01, 0.01 + 11e-4 }, { s.y[1], s.y[2], s.y[3] })
    assert.equal(30, s.x[#s.x])
    assert.equal(22, #s.x)
    assert.is_true(fig.panels[1].yaxis.log)
  end)

  it("puts surprise and s_bar on the steps that recorded them and derives the gain", function()
    local fig = figure.history(optimizer(), { "surprise", "s_bar", "gain" }, {})
    assert.equal(11, series(fig, 1).x[1])
    assert.equal(30, series(fig, 1).x[20])
    assert.equal(0.11, series(fig, 1).y[1])
    assert.equal(0.15, series(fig, 2).y[20])
    -- gain = Sbar * exp(-Sbar / trauma_threshold)
    assert.near(0.15 * math.exp(-0.15 / 0.5), series(fig, 3).y[20], 1e-15)
    assert.is_false(fig.panels[1].yaxis.log)
  end)

  it("aligns the histories of a real AutoHypergradientAdamW the same way", function()
    -- warmup_steps = 3: adaptation and surprise run from call 4 on, so after
    -- 8 calls lr_history has the initial lr and 5 adapted values, and the
    -- surprise history 5 values, for steps 4..8.
    local grilly = require "grilly"
    local p = grilly.zeros(2)
    local opt = grilly.optim.AutoHypergradientAdamW({ p }, { warmup_steps = 3, track_surprise = true })
    for k = 1, 8 do
      p.grad = grilly.tensor{ 1 + k, -k }
      opt:step()
    end
    local fig = figure.history(opt, { "lr", "surprise" }, {})
    assert.same({ 0, 3, 4, 5, 6, 7, 8 }, series(fig, 1).x)
    assert.equal(opt.lr_history[1], series(fig, 1).y[2])
    assert.equal(opt.current_lr, series(fig, 1).y[7])
    assert.same({ 4, 5, 6, 7, 8 }, series(fig, 2).x)
    assert.near(math.tanh(1), series(fig, 2).y[1], 1e-6)   -- the first surprise is tanh(1)
  end)

  it("draws a constant for an optimizer without a history", function()
    local opt = { step_count = 7, current_lr = 3e-4, beta1 = 0.9 }
    local fig = figure.history(opt, { "lr", "beta1" }, {})
    assert.same({ 0, 7 }, series(fig, 1).x)
    assert.same({ 3e-4, 3e-4 }, series(fig, 1).y)
    assert.same({ 0.9, 0.9 }, series(fig, 2).y)
  end)

  it("defaults to the series an optimizer has", function()
    local opt = { step_count = 3, lr_history = { 0.1, 0.2, 0.3 } }
    local fig = figure.history(opt, nil, {})
    assert.equal(1, #fig.panels)
    assert.equal("lr", fig.panels[1].ylabel)
  end)

  it("refuses series an optimizer does not record", function()
    assert.error_matches(function() plot.history(optimizer(), { "loss" }) end,
                         "optimizer records only lr, beta1, surprise, s_bar, gain.*loop")
    assert.error_matches(function() plot.history({ step_count = 1, current_lr = 1 }, { "surprise" }) end,
                         "no surprise_history")
  end)

  it("reads a TSV log, with empty fields as gaps", function()
    local path = os.tmpname()
    local w = assert(tsv.writer(path, { "step", "epoch", "loss", "accuracy" }))
    w:row{ step = 1, epoch = 1, loss = 2.5 }
    w:row{ step = 2, epoch = 1, loss = 1.25, accuracy = 0.5 }
    w:close()
    local fig = figure.history(path, nil, {})
    assert.same({ "loss", "accuracy" }, { fig.panels[1].ylabel, fig.panels[2].ylabel })
    assert.same({ 1, 2 }, series(fig, 1).x)
    assert.same({ 2.5, 1.25 }, series(fig, 1).y)
    local acc = series(fig, 2).y
    assert.is_true(acc[1] ~= acc[1])
    assert.equal(0.5, acc[2])
    assert.error_matches(function() plot.history(path, { "lr" }) end,
                         "no series 'lr' in .* %(it has: loss, accuracy%)")
    os.remove(path)
  end)

  it("returns nil and a message for a log it cannot read", function()
    local ok, err = plot.history("/nonexistent/run.tsv", { "loss" })
    assert.is_nil(ok)
    assert.matches("cannot read /nonexistent/run.tsv", err)
  end)

  it("takes a loop's history and plain column tables", function()
    local loop = { history = { step = { 1, 2, 3 }, loss = { 3, 2, 1 } } }
    assert.same({ 3, 2, 1 }, series(figure.history(loop, { "loss" }, {}), 1).y)
    local fig = figure.history({ a = { 5, 6 } }, nil, {})
    assert.same({ 1, 2 }, series(fig, 1).x)
    assert.error_matches(function() plot.history(42) end, "bad argument #1")
    assert.error_matches(function() plot.history({ a = { 1 } }, "a") end, "bad argument #2")
  end)

  it("keeps log scale only for positive data and when asked", function()
    local cols = { step = { 1, 2 }, lr = { 0, 1 }, loss = { 1, 10 } }
    local fig = figure.history(cols, { "lr", "loss" }, {})
    assert.is_false(fig.panels[1].yaxis.log)
    assert.is_false(fig.panels[2].yaxis.log)
    fig = figure.history(cols, { "loss" }, { log_y = true })
    assert.is_true(fig.panels[1].yaxis.log)
  end)
end)

describe("grilly.plot.scale", function()
  local function labels(axis)
    local out = {}
    for i, t in ipairs(axis.ticks) do out[i] = t.label end
    return out
  end

  it("places 1-2-5 ticks inside the data range", function()
    assert.same({ "0", "2", "4", "6", "8", "10" }, labels(scale.axis({ { 0, 10 } })))
    assert.same({ "0.2", "0.4", "0.6", "0.8" }, labels(scale.axis({ { 0.2, 0.8 } }, { ticks = 3 })))
    assert.same({ "-1.0", "-0.5", "0", "0.5", "1.0" }, labels(scale.axis({ { -1, 1 } }, { ticks = 4 })))
  end)

  it("places decade ticks on a log axis at log10 positions", function()
    local axis = scale.axis({ { 1e-5, 1e-2 } }, { log = true })
    assert.same({ "1e-5", "1e-4", "0.001", "0.01" }, labels(axis))
    assert.near(-4, axis.ticks[2].pos, 1e-12)
    assert.near(-5, axis.lo, 1e-12)
  end)

  it("widens a constant range", function()
    local axis = scale.axis({ { 3, 3 } })
    assert.is_true(axis.lo < 3 and axis.hi > 3)
  end)

  it("writes compact numbers", function()
    assert.equal("1e-5", scale.format(1e-5, 1e-5))
    assert.equal("2.5e6", scale.format(2.5e6, 1e5))
    assert.equal("1200", scale.format(1200, 100))
    assert.equal("0", scale.format(0))
  end)
end)

describe("grilly.tsv", function()
  it("writes and reads back numbers, gaps and non-finite values", function()
    local path = os.tmpname()
    local w = assert(tsv.writer(path, { "a", "b" }))
    w:row{ a = 1, b = 0.100000001490116 }   -- float32 0.1 needs 9 digits
    w:row{ a = 0 / 0, b = math.huge }
    w:row{ b = -math.huge }
    w:close()
    local f = io.open(path)
    assert.equal("a\tb\n1\t0.100000001\nnan\tinf\n\t-inf\n", f:read("*a"))
    f:close()
    local cols = assert(tsv.read(path))
    os.remove(path)
    assert.same({ "a", "b" }, cols.names)
    assert.equal(1, cols.a[1])
    assert.is_true(cols.a[2] ~= cols.a[2] and cols.a[3] ~= cols.a[3])
    assert.same({ 0.100000001, math.huge, -math.huge }, cols.b)
    -- The 9 digits read back as the same float32.
    local ffi = require "ffi"
    assert.equal(ffi.new("float[1]", 0.1)[0], ffi.new("float[1]", cols.b[1])[0])
  end)

  it("reports a file without a header", function()
    local path = os.tmpname()
    local ok, err = tsv.read(path)
    os.remove(path)
    assert.is_nil(ok)
    assert.matches("no header row", err)
  end)
end)

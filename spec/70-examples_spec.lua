-- Every example runs end to end on a small problem (few steps, a slice of
-- Fashion-MNIST) and prints its results, writes its per-step TSV history and
-- a PNG of it; the Fashion-MNIST ones reject bad options. 03 to 05 need
-- Debian's dataset-fashion-mnist (installed by make deps).
local grilly = require "grilly"
local tsv = require "grilly.tsv"
local png = require "png_decode"
local gpu = require "gpu"

local installed = io.open(grilly.data.fashion_mnist_dir .. "/t10k-labels-idx1-ubyte.gz", "rb")
if installed then installed:close() end
local with_data = installed and it or pending

local LOOP_COLUMNS = { "step", "epoch", "loss", "accuracy", "lr", "beta1", "surprise", "s_bar", "gain" }
local VAL_COLUMNS = { "step", "epoch", "loss", "accuracy", "lr", "beta1", "surprise", "s_bar", "gain", "val_loss",
                      "val_accuracy" }

-- Runs a command from the project root; returns its output and exit status.
local function run(cmd)
  local p = io.popen("cd " .. os.getenv("PWD") .. " && " .. cmd .. " 2>&1; echo \"exit $?\"")
  local out = p:read("*a")
  p:close()
  return out, tonumber(out:match("exit (%d+)%s*$"))
end

-- The TSV history at path: its columns as names, and rows rows.
local function history(path, names, rows)
  local cols = assert(tsv.read(path))
  assert.same(names, cols.names)
  assert.equal(rows, #cols.step)
  for k = 1, rows do
    assert.equal(k, cols.step[k])
    assert.is_true(cols.loss[k] == cols.loss[k], "loss of step " .. k .. " is NaN")
  end
  return cols
end

local function drawing(path)
  local img, err = png.read_drawing(path)
  assert(img, err)
  return img
end

-- The number printed after label in out.
local function number_after(out, label)
  local pattern = label:gsub("[%(%)%.%-%+%*%?%[%]%^%$]", "%%%0") .. "%s*(%-?[%d%.e%-%+]+)"
  local text = assert(out:match(pattern), "no '" .. label .. "' in\n" .. out)
  return tonumber(text)
end

describe("examples", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  teardown(function() os.execute("rm -rf " .. dir) end)
  -- The options that send an example's history and plot to dir/name.tsv and .png.
  local function files(name)
    return " --log " .. dir .. "/" .. name .. ".tsv --plot " .. dir .. "/" .. name .. ".png"
  end

  it("00 fits the linear regression and writes its loss history and plot", function()
    local out, status = run("luajit examples/00_linear_regression.lua --steps 60" .. files("00"))
    assert.are.equal(0, status, out)
    local w1, w2, w3, b = out:match("fitted w = %((%S+), (%S+), (%S+)%), b = (%S+)\n")
    assert.near(2, tonumber(w1), 0.02)
    assert.near(-3, tonumber(w2), 0.02)
    assert.near(0.5, tonumber(w3), 0.02)
    assert.near(1.5, tonumber(b), 0.02)
    assert.matches("history written to " .. dir .. "/00.tsv", out, 1, true)
    assert.matches("plot written to " .. dir .. "/00.png", out, 1, true)
    local h = history(dir .. "/00.tsv", { "step", "loss" }, 60)
    assert.near(h.loss[20], number_after(out, "step  20  loss"), 1e-6)
    assert.is_true(h.loss[60] < h.loss[1] / 100)
    drawing(dir .. "/00.png")
  end)

  it("01 compares the three optimizers, each trained by a loop from the same start", function()
    local out, status = run("luajit examples/01_optimizers_quadratic.lua --steps 40 --size 100" .. files("01"))
    assert.are.equal(0, status, out)
    assert.matches("loss at step%s+10%s+30%s+40%s+final lr\n", out)
    -- f(x0) = 0.5 * sum a_i x_i^2 from the seeded start, computed here.
    grilly.manual_seed(1)
    local x = grilly.randn(100, { device = "cpu" })
    local a = grilly.linspace(0, math.log(1000), 100, { device = "cpu" }):exp()
    local f0 = 0.5 * (a * x * x):sum()
    assert.near(f0, number_after(out, "f(x0) ="), f0 * 1e-3)
    for _, run_ in ipairs({ { "AdamW", "adamw" }, { "HypergradientAdamW", "hyper" },
                            { "AutoHypergradientAdamW", "auto" } }) do
      local h = history(dir .. "/01_" .. run_[2] .. ".tsv", LOOP_COLUMNS, 40)
      assert.near(f0, h.loss[1], f0 * 1e-6)
      local row = out:match("\n" .. run_[1] .. " +([^\n]+)")
      local printed = {}
      for v in row:gmatch("%S+") do printed[#printed + 1] = tonumber(v) end
      -- Loss at steps 10, 30 and 40 as the loop logged it, then the final lr.
      assert.near(h.loss[10], printed[1], h.loss[10] * 1e-3)
      assert.near(h.loss[40], printed[3], h.loss[40] * 1e-3)
      assert.near(h.lr[40], printed[4], h.lr[40] * 1e-3)
      assert.is_true(h.loss[40] < h.loss[1])
    end
    assert.matches("plot written to " .. dir .. "/01.png", out, 1, true)
    drawing(dir .. "/01.png")
    drawing(dir .. "/01_lr.png")
  end)

  it("02 shows the surprise jumping with the target", function()
    local out, status = run("luajit examples/02_surprise.lua --steps 80 --size 64" .. files("02"))
    assert.are.equal(0, status, out)
    assert.matches("\n   41 [^\n]+<%- target jumps\n", out)
    local before = number_after(out, "largest surprise in the 10 steps before the jump:")
    local after = number_after(out, "in the 10 from it:")
    assert.is_true(before < 0.5 and after > 0.9, out)
    local h = history(dir .. "/02.tsv", LOOP_COLUMNS, 80)
    assert.near(after, math.max(unpack(h.surprise, 41, 50)), 1e-4)
    drawing(dir .. "/02.png")
  end)

  local slice = " --train-size 1024 --test-size 256 --quiet --batch-size 64"

  with_data("03 trains an MLP with the optimizer named on the command line", function()
    local out, status = run("luajit examples/03_mlp_fashion_mnist.lua --epochs 1 --optimizer hyper" .. slice
                            .. files("03"))
    assert.are.equal(0, status, out)
    assert.matches("Linear%(784 %-> 256%)", out)
    assert.matches("final test accuracy 0%.%d+", out)
    local h = history(dir .. "/03.tsv", VAL_COLUMNS, 16)
    assert.near(number_after(out, "final test accuracy"), h.val_accuracy[16], 1e-4)
    drawing(dir .. "/03.png")
  end)

  with_data("04 trains a spiking network and writes per-step and per-epoch histories and a plot", function()
    local out, status = run("luajit examples/04_snn_fashion_mnist.lua --epochs 2" .. slice .. files("04")
                            .. " --epoch-log " .. dir .. "/04-epochs.tsv")
    assert.are.equal(0, status, out)
    assert.matches("LIF%(tau=2", out)
    assert.matches("final test accuracy 0%.%d+", out)
    local steps, epochs = history(dir .. "/04.tsv", VAL_COLUMNS, 32), tsv.read(dir .. "/04-epochs.tsv")
    assert.are.same({ 1, 2 }, epochs.epoch)
    assert.is_true(epochs.test_accuracy[2] > 0.5)
    -- Surprise tracking was on and the gain was read each step.
    assert.is_true(steps.gain[32] > 0)
    drawing(dir .. "/04.png")
  end)

  with_data("05 shows surprise, gain and lr reacting to the phase shift", function()
    local out, status = run("luajit examples/05_phase_shift.lua --epochs 2" .. slice .. files("05"))
    assert.are.equal(0, status, out)
    assert.matches("the data changes %(labels%) at step 17", out)
    assert.matches("\n17 shift ", out)
    local h = history(dir .. "/05.tsv", VAL_COLUMNS, 32)
    -- The surprise at the shift against its mean before, as printed and logged.
    local mean_before = number_after(out, "surprise: mean")
    local at_shift = number_after(out, "steps before the shift,")
    assert.near(h.surprise[17], at_shift, 1e-4)
    assert.is_true(at_shift > mean_before, out)
    -- Every logged gain lies on the inverted U s_bar * exp(-s_bar / 0.5).
    for k = 1, 32 do assert.near(h.s_bar[k] * math.exp(-h.s_bar[k] / 0.5), h.gain[k], 1e-6) end
    assert.matches("where s_bar = 0%.%d+ %(trauma_threshold 0%.5, largest possible gain 0%.1839%)", out)
    assert.matches("\ns_bar +0%.0%-0%.1 ", out)
    assert.near(h.lr[17], number_after(out, "lr:"), h.lr[17] * 1e-2)
    drawing(dir .. "/05.png")
  end)

  it("write into examples-out/ unless told otherwise, and default to grilly's default device", function()
    local out, status = run("GRILLY_DEVICE=cpu luajit examples/02_surprise.lua --help")
    assert.are.equal(0, status, out)
    assert.matches("%-%-device +[^\n]*%(default cpu%)", out)
    assert.matches("%-%-log +[^\n]*%(default examples%-out/02_surprise%.tsv%)", out)
    assert.matches("%-%-plot +[^\n]*%(default examples%-out/02_surprise%.png%)", out)
    if gpu.available then
      out = run("GRILLY_DEVICE=vulkan luajit examples/04_snn_fashion_mnist.lua --help")
      assert.matches("%-%-device +[^\n]*%(default vulkan:0%)", out)
    end
  end)

  it("reject unknown and malformed options", function()
    local out, status = run("luajit examples/04_snn_fashion_mnist.lua --epochz 2")
    assert.are_not.equal(0, status)
    assert.matches("unknown option %-%-epochz %(see %-%-help%)", out)
    out, status = run("luajit examples/04_snn_fashion_mnist.lua --lr fast")
    assert.are_not.equal(0, status)
    assert.matches("option %-%-lr needs a number, got 'fast'", out)
    out, status = run("luajit examples/03_mlp_fashion_mnist.lua --optimizer sgd --train-size 64 --test-size 64"
                      .. files("bad"))
    assert.are_not.equal(0, status)
    assert.matches("%-%-optimizer must be adamw, hyper or auto, got sgd", out)
    out, status = run("luajit examples/05_phase_shift.lua --optimizer adamw")
    assert.are_not.equal(0, status)
    assert.matches("it needs %-%-optimizer auto and %-%-surprise", out)
    out, status = run("luajit examples/04_snn_fashion_mnist.lua --help")
    assert.are.equal(0, status)
    assert.matches("%-%-gain%-scale", out)
  end)
end)

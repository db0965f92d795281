-- The Fashion-MNIST examples run end to end on a slice of the data set,
-- write their TSV histories and reject bad options. Needs Debian's
-- dataset-fashion-mnist (installed by make deps).
local tsv = require "grilly.tsv"
local data = require("grilly").data

local installed = io.open(data.fashion_mnist_dir .. "/t10k-labels-idx1-ubyte.gz", "rb")
if installed then installed:close() end
local check = installed and it or pending

-- Runs a script from the project root; returns its output and exit status.
local function run(cmd)
  local p = io.popen("cd " .. os.getenv("PWD") .. " && " .. cmd .. " 2>&1; echo \"exit $?\"")
  local out = p:read("*a")
  p:close()
  return out, tonumber(out:match("exit (%d+)%s*$"))
end

describe("examples 03 to 05", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  teardown(function() os.execute("rm -rf " .. dir) end)
  local slice = " --train-size 1024 --test-size 256 --quiet --batch-size 64"

  check("04 trains a spiking network and writes per-step and per-epoch histories", function()
    local out, status = run("luajit examples/04_snn_fashion_mnist.lua --epochs 2" .. slice .. " --log " .. dir
                            .. "/steps.tsv --epoch-log " .. dir .. "/epochs.tsv")
    assert.are.equal(0, status, out)
    assert.matches("LIF%(tau=2", out)
    assert.matches("final test accuracy 0%.%d+", out)
    local steps, epochs = tsv.read(dir .. "/steps.tsv"), tsv.read(dir .. "/epochs.tsv")
    assert.are.equal(32, #steps.step)
    assert.are.same({ 1, 2 }, epochs.epoch)
    assert.is_true(epochs.test_accuracy[2] > 0.5)
    -- Surprise tracking was on and the gain was read each step.
    assert.is_true(steps.gain[32] > 0)
  end)

  check("03 trains an MLP with the optimizer named on the command line", function()
    local out, status = run("luajit examples/03_mlp_fashion_mnist.lua --epochs 1 --optimizer hyper" .. slice)
    assert.are.equal(0, status, out)
    assert.matches("Linear%(784 %-> 256%)", out)
    assert.matches("final test accuracy", out)
  end)

  check("05 reports the optimizer's signals around the phase shift", function()
    local out, status = run("luajit examples/05_phase_shift.lua --epochs 2" .. slice)
    assert.are.equal(0, status, out)
    assert.matches("the data changes %(labels%) at step 17", out)
    assert.matches("17%-26  %(shift%)", out)
    assert.matches("gain", out)
  end)

  it("rejects unknown and malformed options", function()
    local out, status = run("luajit examples/04_snn_fashion_mnist.lua --epochz 2")
    assert.are_not.equal(0, status)
    assert.matches("unknown option %-%-epochz %(see %-%-help%)", out)
    out, status = run("luajit examples/04_snn_fashion_mnist.lua --lr fast")
    assert.are_not.equal(0, status)
    assert.matches("option %-%-lr needs a number, got 'fast'", out)
    out, status = run("luajit examples/03_mlp_fashion_mnist.lua --optimizer sgd --train-size 64 --test-size 64")
    assert.are_not.equal(0, status)
    assert.matches("%-%-optimizer must be adamw, hyper or auto, got sgd", out)
    out, status = run("luajit examples/04_snn_fashion_mnist.lua --help")
    assert.are.equal(0, status)
    assert.matches("%-%-gain%-scale", out)
  end)
end)

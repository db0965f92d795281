-- Quality benchmark of grilly.nn on Fashion-MNIST: the spiking network of
-- example 04 and the MLP of example 03 (test accuracy per epoch, seconds
-- per epoch), and the learning-rate robustness sweep of AdamW against
-- AutoHypergradientAdamW on both. Runs the examples as separate processes
-- and prints Markdown tables (docs/benchmarks.md records them).
--
--   luajit bench/quality/quality.lua [snn] [mlp] [sweep] [--device D] [--seeds N]
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../../lua/?.lua;" .. here .. "/../../lua/?/init.lua;" .. here .. "/../?.lua;" .. package.path
package.cpath = here .. "/../../build/?.so;" .. package.cpath

local tsv = require "grilly.tsv"
local timing = require "timing"

local parts, device, seeds = {}, "cpu", 3
local i = 1
while i <= #arg do
  if arg[i] == "--device" then device, i = arg[i + 1], i + 1
  elseif arg[i] == "--seeds" then seeds, i = tonumber(arg[i + 1]), i + 1
  else parts[arg[i]] = true end
  i = i + 1
end
if next(parts) == nil then parts = { snn = true, mlp = true, sweep = true } end

local examples = here .. "/../../examples/"
local log = os.tmpname()

-- Runs an example with the given options; returns its per-epoch rows.
local function run(script, options)
  local cmd = string.format("luajit %s%s --quiet --device %s --epoch-log %s --log '' --plot '' %s > /dev/null", examples,
                            script, device, log, options)
  assert(os.execute(cmd) == 0, "failed: " .. cmd)
  local t = tsv.read(log)
  local rows = {}
  for k = 1, #t.epoch do
    rows[k] = { epoch = t.epoch[k], seconds = t.seconds[k], test_accuracy = t.test_accuracy[k], lr = t.lr[k] }
  end
  return rows, cmd:match("^(.-) %-%-epoch%-log")
end

local function mean(list)
  local s = 0
  for _, v in ipairs(list) do s = s + v end
  return s / #list
end

local function accuracy_table(title, script, options, epochs)
  print(string.format("\n### %s\n\n`%s` (seeds 0..%d)\n", title, options, seeds - 1))
  local header = { "seed" }
  for e = 1, epochs do header[#header + 1] = "epoch " .. e end
  header[#header + 1] = "s/epoch"
  print("| " .. table.concat(header, " | ") .. " |")
  print("|" .. string.rep("---|", #header))
  local finals, secs = {}, {}
  for seed = 0, seeds - 1 do
    local rows = run(script, options .. " --seed " .. seed)
    local cells, s = { tostring(seed) }, {}
    for e = 1, epochs do
      cells[#cells + 1] = string.format("%.2f%%", 100 * rows[e].test_accuracy)
      s[e] = rows[e].seconds
    end
    cells[#cells + 1] = string.format("%.1f", mean(s))
    finals[#finals + 1], secs[#secs + 1] = rows[epochs].test_accuracy, mean(s)
    print("| " .. table.concat(cells, " | ") .. " |")
  end
  table.sort(finals)
  print(string.format("\nfinal test accuracy: min %.2f%%, mean %.2f%%, max %.2f%%; %.1f s per epoch (training and "
                      .. "test pass)", 100 * finals[1], 100 * mean(finals), 100 * finals[#finals], mean(secs)))
end

print(string.format("machine: %s; device %s", timing.machine(), device))

if parts.snn then
  accuracy_table("Spiking network, AutoHypergradientAdamW defaults, surprise gain 0.5", "04_snn_fashion_mnist.lua",
                 "--epochs 3", 3)
  accuracy_table("Spiking network, surprise gain off", "04_snn_fashion_mnist.lua", "--epochs 3 --gain-scale 0", 3)
end

if parts.mlp then
  accuracy_table("MLP 784-256-128-10, AdamW lr 1e-3", "03_mlp_fashion_mnist.lua", "--epochs 10", 10)
end

if parts.sweep then
  local lrs = { 1e-5, 1e-4, 1e-3, 1e-2, 1e-1 }
  local setups = {
    { "MLP", "03_mlp_fashion_mnist.lua", "--epochs 10" },
    { "SNN", "04_snn_fashion_mnist.lua", "--epochs 3" },
  }
  print("\n### Learning-rate sweep: final test accuracy (seed 0)\n")
  local header = { "model", "optimizer" }
  for _, lr in ipairs(lrs) do header[#header + 1] = string.format("lr %g", lr) end
  print("| " .. table.concat(header, " | ") .. " |")
  print("|" .. string.rep("---|", #header))
  for _, s in ipairs(setups) do
    for _, o in ipairs({ { "AdamW", "adamw" }, { "AutoHypergradientAdamW", "auto" } }) do
      local cells = { s[1], o[1] }
      for _, lr in ipairs(lrs) do
        local rows = run(s[2], string.format("%s --optimizer %s --lr %g", s[3], o[2], lr))
        local last = rows[#rows]
        cells[#cells + 1] = string.format("%.2f%% (lr %.2g)", 100 * last.test_accuracy, last.lr)
      end
      print("| " .. table.concat(cells, " | ") .. " |")
    end
  end
  print("\n(in parentheses: the learning rate at the end of the run)")
end
os.remove(log)

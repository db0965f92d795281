-- A multilayer perceptron 784-256-128-10 on Fashion-MNIST (Debian package
-- dataset-fashion-mnist), trained with any of the three optimizers. The
-- per-step history goes to examples-out/03_mlp_fashion_mnist.tsv and its plot
-- to examples-out/03_mlp_fashion_mnist.png (--log and --plot choose others).
--
-- Run from the project root after `make`:
--   luajit examples/03_mlp_fashion_mnist.lua --epochs 10
-- (--help lists the options.)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local common = require "fashion_mnist"

local nn = grilly.nn

local opts = args.parse(common.options("03_mlp_fashion_mnist", {
  epochs = 10, optimizer = "adamw",
  extra = {
    { "hidden", "256,128", "hidden layer sizes, comma-separated" },
    { "dropout", 0, "dropout probability after each hidden layer" },
  },
}), arg, "Trains an MLP on Fashion-MNIST and reports test accuracy after each epoch.")

grilly.set_device(opts.device)
grilly.manual_seed(opts.seed)
local train, test = common.loaders(opts)

local layers, width = {}, 784
for size in opts.hidden:gmatch("%d+") do
  layers[#layers + 1] = nn.Linear(width, tonumber(size))
  layers[#layers + 1] = nn.ReLU()
  if opts.dropout > 0 then layers[#layers + 1] = nn.Dropout(opts.dropout) end
  width = tonumber(size)
end
layers[#layers + 1] = nn.Linear(width, 10)
local model = nn.Sequential(layers)
print(model)

local opt = common.optimizer(opts, model:parameters())
local summaries, loop = common.train(model, opt, train, test, opts)
print(string.format("final test accuracy %.4f", summaries[#summaries].test_accuracy))
common.plot(loop, opts, "MLP " .. opts.hidden:gsub(",", "-") .. " on Fashion-MNIST, " .. opts.optimizer)

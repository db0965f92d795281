-- A spiking classifier on Fashion-MNIST (Debian package dataset-fashion-mnist):
-- each standardised image drives a layer of leaky integrate-and-fire
-- neurons for T time steps (direct coding), whose spikes feed a layer of
-- non-firing leaky integrators; their mean membrane potential over time is
-- the class score. Trained through time with surrogate gradients by
-- AutoHypergradientAdamW with surprise tracking. Before each batch the input
-- is scaled by (1 + gain_scale * opt.current_surprise_gain): surprise-modulated
-- input gain; --gain-scale 0 turns it off. The per-step history goes to
-- examples-out/04_snn_fashion_mnist.tsv and its plot to
-- examples-out/04_snn_fashion_mnist.png (--log and --plot choose others).
--
-- Run from the project root after `make`:
--   luajit examples/04_snn_fashion_mnist.lua --epochs 3
-- (--help lists the options.)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local common = require "fashion_mnist"

local opts = args.parse(common.options("04_snn_fashion_mnist", {
  epochs = 3, batch_size = 256, gain_scale = 0.5, extra = common.snn_options(),
}), arg, "Trains a spiking network on Fashion-MNIST and reports test accuracy after each epoch.")

grilly.set_device(opts.device)
grilly.manual_seed(opts.seed)
local train, test = common.loaders(opts)

local model = common.snn(opts)
print(model)

local opt = common.optimizer(opts, model:parameters())
local summaries, loop = common.train(model, opt, train, test, opts)
print(string.format("final test accuracy %.4f", summaries[#summaries].test_accuracy))
common.plot(loop, opts, string.format("Spiking network 784-%d-10 (T = %d) on Fashion-MNIST, %s, gain scale %g",
                                      opts.hidden, opts.steps, opts.optimizer, opts.gain_scale))

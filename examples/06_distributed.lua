-- The spiking classifier of example 04 (leaky integrate-and-fire neurons on
-- Fashion-MNIST, surprise-modulated input gain), trained data-parallel across
-- MPI ranks: every rank runs this script, takes its part of every global
-- batch from the loader (distributed = true), and AutoHypergradientAdamW
-- averages the gradients across the ranks, so all ranks take the same steps
-- with the same lr, beta1 and surprise. The test set is shared out too, and
-- the ranks' figures averaged. Rank 0 prints and writes the history
-- (examples-out/06_distributed.tsv) and its plot (.png); their per-step loss
-- and accuracy are rank 0's, on its part of each batch.
--
-- Run from the project root after `make`, with Open MPI installed
-- (apt-get install libopenmpi-dev openmpi-bin):
--   OPENBLAS_NUM_THREADS=1 mpirun -np 2 luajit examples/06_distributed.lua --epochs 1
--   mpirun -np 2 bin/grilly examples/06_distributed.lua --shard-state
-- (add --allow-run-as-root when running as root; --help lists the options).
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local common = require "fashion_mnist"
local example = require "example"
local tty = require "grilly.tty"

local nn, dist = grilly.nn, grilly.distributed
local rank, size = dist.init()
local root = rank == 0

local extra = common.snn_options()
extra[#extra + 1] = { "shard-state", false, "shard the optimizer state across the ranks (each holds about 1/N of it)" }
local opts = args.parse(common.options("06_distributed", {
  epochs = 3, batch_size = 256, gain_scale = 0.5, extra = extra,
}), arg, "Trains a spiking network on Fashion-MNIST data-parallel across MPI ranks "
         .. "(mpirun -np N luajit examples/06_distributed.lua).")

grilly.set_device(opts.device)
grilly.manual_seed(opts.seed)

-- batch_size is the global batch: each rank takes batch_size / N rows of it.
local train, test = common.loaders(opts, { distributed = true })

local model = common.snn(opts)
-- Rank 0's initial weights and optimizer state become every rank's.
local opt = grilly.optim.distributed(common.optimizer(opts, model:parameters()), { shard_state = opts.shard_state })
if root then
  print(model)
  print(string.format("%s on %d rank%s, global batch %d (%d per rank)", tostring(opt), size, size == 1 and "" or "s",
                      opts.batch_size, math.floor(opts.batch_size / size)))
end

local t0, start = tty.now(), tty.now()
local final
local log = root and example.output(opts.log) or nil
local loop = grilly.train.loop {
  model = model, criterion = nn.CrossEntropyLoss(), optimizer = opt,
  data = train, val_data = test, gain_scale = opts.gain_scale,
  log = log,
  progress = root and not opts.quiet and "auto" or false,
  on_epoch = function(_, summary)
    -- Each rank saw its own part of the data: average the figures (every
    -- rank's part is equally large).
    local figures = grilly.tensor({ summary.loss, summary.accuracy, summary.val_loss, summary.val_accuracy })
    local m = dist.all_reduce(figures, "mean"):totable()
    local now = tty.now()
    final = m[4]
    if root then
      print(string.format("epoch %d  %.1f s  train loss %.4f acc %.4f  test loss %.4f acc %.4f  lr %.3g  surprise %.3f",
                          summary.epoch, now - t0, m[1], m[2], m[3], m[4], opt.current_lr, opt.current_surprise))
    end
    t0 = now
  end,
}
loop:run { epochs = opts.epochs }
loop:close()
if root then
  print(string.format("final test accuracy %.4f (%d ranks, %.1f s)", final, size, tty.now() - start))
  if log then example.wrote_log(log) end
  common.plot(loop, opts, string.format("Spiking network 784-%d-10 (T = %d) on Fashion-MNIST, %d ranks, %s",
                                        opts.hidden, opts.steps, size, opts.optimizer))
end

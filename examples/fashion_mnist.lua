-- What examples 03 to 05 share: their command-line options, Fashion-MNIST
-- loaders, the optimizer choice, and a grilly.train loop that evaluates on
-- the test set after every epoch and writes per-step and per-epoch TSVs and
-- a plot.
local grilly = require "grilly"
local example = require "example"
local tsv = require "grilly.tsv"
local tty = require "grilly.tty"

local common = {}

-- Options every Fashion-MNIST example takes, for the example called name
-- (its output files are named after it); `defaults` overrides their default
-- values.
function common.options(name, defaults)
  local spec = example.options(name, {
    { "epochs", 3, "training epochs" },
    { "batch-size", 128, "minibatch size" },
    { "optimizer", "auto", "adamw, hyper (HypergradientAdamW) or auto (AutoHypergradientAdamW)" },
    { "lr", 1e-3, "initial learning rate" },
    { "surprise", true, "track surprise (auto only)" },
    { "gain-scale", 0, "input gain: x * (1 + gain_scale * opt.current_surprise_gain); 0 turns it off" },
    { "seed", 0, "seed of the initial weights and the shuffling" },
    { "train-size", 60000, "training images used" },
    { "test-size", 10000, "test images used" },
    { "epoch-log", "", "per-epoch TSV (seconds, train and test loss and accuracy, lr)" },
    { "quiet", false, "print only the epoch summaries" },
  })
  for _, s in ipairs(spec) do
    local key = s[1]:gsub("-", "_")
    if defaults[key] ~= nil then s[2] = defaults[key] end
  end
  for _, s in ipairs(defaults.extra or {}) do spec[#spec + 1] = s end
  return spec
end

-- Train and test loaders over Fashion-MNIST, standardised with the training
-- set's mean and standard deviation; `shared` (optional) adds loader options
-- to both, e.g. {distributed = true}. Exits with the loader's message (which
-- names the Debian package) when the data set is missing.
function common.loaders(opts, shared)
  local set, err = grilly.data.fashion_mnist { device = "cpu", train_size = opts.train_size, test_size = opts.test_size }
  if not set then
    io.stderr:write(err, "\n")
    os.exit(1)
  end
  local mean, std = grilly.data.stats(set.train.x)
  local norm = { mean = mean, std = std }
  local function with_shared(o)
    for k, v in pairs(shared or {}) do o[k] = v end
    return o
  end
  local train = grilly.data.loader(set.train.x, set.train.y, with_shared {
    batch_size = opts.batch_size, seed = opts.seed, normalize = norm, device = opts.device,
  })
  local test = grilly.data.loader(set.test.x, set.test.y, with_shared {
    batch_size = 1000, shuffle = false, normalize = norm, device = opts.device,
  })
  return train, test, set
end

-- The spiking network of examples 04 and 06: its options (for `extra`) and
-- the model they describe.
function common.snn_options()
  return {
    { "hidden", 512, "spiking neurons" },
    { "steps", 6, "time steps T" },
    { "tau", 2, "membrane time constant of the spiking and readout layers" },
    { "surrogate", "atan", "atan, sigmoid or fast_sigmoid" },
  }
end

-- The first layer sees the same image at every step, so it runs once and its
-- output is repeated over time (a linear layer commutes with direct coding).
function common.snn(opts)
  local nn = grilly.nn
  return nn.Sequential {
    nn.Linear(784, opts.hidden),
    nn.DirectEncoder(opts.steps),
    nn.LIF { tau = opts.tau, surrogate = opts.surrogate },
    nn.Linear(opts.hidden, 10),
    nn.MembraneReadout { tau = opts.tau },
  }
end

function common.optimizer(opts, params)
  local optim = grilly.optim
  if opts.optimizer == "adamw" then return optim.AdamW(params, { lr = opts.lr }) end
  if opts.optimizer == "hyper" then return optim.HypergradientAdamW(params, { lr = opts.lr }) end
  if opts.optimizer == "auto" then
    return optim.AutoHypergradientAdamW(params, { lr = opts.lr, track_surprise = opts.surprise })
  end
  error("--optimizer must be adamw, hyper or auto, got " .. opts.optimizer, 0)
end

-- Trains model for opts.epochs epochs on train_data, evaluating on
-- test_data after each. Returns the per-epoch summaries (epoch, seconds,
-- loss, accuracy, test_loss, test_accuracy, lr; seconds include the test
-- pass) and the loop, whose history holds every step.
function common.train(model, opt, train_data, test_data, opts)
  local columns = { "epoch", "seconds", "loss", "accuracy", "test_loss", "test_accuracy", "lr" }
  local epoch_path, log_path = example.output(opts.epoch_log), example.output(opts.log)
  local epoch_log = epoch_path and assert(tsv.writer(epoch_path, columns))
  local summaries, t0 = {}, tty.now()
  local loop = grilly.train.loop {
    model = model, criterion = grilly.nn.CrossEntropyLoss(), optimizer = opt,
    data = train_data, val_data = test_data, gain_scale = opts.gain_scale,
    log = log_path, progress = not opts.quiet and "auto" or false,
    on_epoch = function(_, summary)
      local now = tty.now()
      local s = {
        epoch = summary.epoch, seconds = now - t0, loss = summary.loss, accuracy = summary.accuracy,
        test_loss = summary.val_loss, test_accuracy = summary.val_accuracy, lr = opt.current_lr,
      }
      t0 = now
      summaries[#summaries + 1] = s
      if epoch_log then epoch_log:row(s) end
      print(string.format("epoch %d  %.1f s  train loss %.4f acc %.4f  test loss %.4f acc %.4f  lr %.3g", s.epoch,
                          s.seconds, s.loss, s.accuracy, s.test_loss, s.test_accuracy, s.lr))
    end,
  }
  loop:run { epochs = opts.epochs }
  loop:close()
  if epoch_log then epoch_log:close() end
  if log_path then example.wrote_log(log_path) end
  if epoch_path then example.wrote_log(epoch_path) end
  return summaries, loop
end

-- Plots the loop's per-step loss, accuracy and lr, and the surprise, s_bar
-- and gain when the optimizer tracks surprise, into opts.plot.
function common.plot(loop, opts, title)
  local path = example.output(opts.plot)
  if not path then return end
  local names = { "loss", "accuracy", "lr" }
  if opts.optimizer == "auto" and opts.surprise then
    for _, name in ipairs({ "surprise", "s_bar", "gain" }) do names[#names + 1] = name end
  end
  example.wrote_plot(grilly.plot.history(loop, names, { file = path, title = title }))
end

return common

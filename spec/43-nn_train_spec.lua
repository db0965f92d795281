-- Small networks learn synthetic tasks: an MLP and a spiking network on
-- interleaved spirals, judged on a held-out set drawn with another seed.
local grilly = require "grilly"

local nn, optim, data = grilly.nn, grilly.optim, grilly.data

-- Full-batch training; returns the first loss, the last loss and the
-- held-out accuracy.
local function fit(model, opt, steps, x, y, tx, ty)
  local criterion = nn.CrossEntropyLoss()
  local first, last
  for _ = 1, steps do
    local out = model:forward(x)
    last = criterion:forward(out, y)
    first = first or last
    opt:zero_grad()
    model:backward(x, criterion:backward(out, y), false)
    opt:step()
  end
  model:eval()
  return first, last, nn.accuracy(model:forward(tx), ty)
end

describe("training on spirals (cpu)", function()
  local opts = { classes = 3, per_class = 100, noise = 0.1, device = "cpu" }
  local function set(seed)
    opts.seed = seed
    return data.spirals(opts)
  end
  local x, y = set(1)
  local tx, ty = set(2)

  it("an MLP 2-32-32-3 with AdamW reaches 95% held-out accuracy within 200 steps", function()
    grilly.manual_seed(0)
    local model = nn.Sequential {
      nn.Linear(2, 32, { device = "cpu" }), nn.ReLU(), nn.Linear(32, 32, { device = "cpu" }), nn.ReLU(),
      nn.Linear(32, 3, { device = "cpu" }),
    }
    local opt = optim.AdamW(model:parameters(), { lr = 1e-2, weight_decay = 0 })
    local first, last, acc = fit(model, opt, 200, x, y, tx, ty)
    assert.is_true(last < first / 4, ("loss %g -> %g"):format(first, last))
    assert.is_true(acc >= 0.95, "held-out accuracy " .. acc)
  end)

  it("a spiking network (LIF, 6 steps) with AutoHypergradientAdamW reaches 90% within 200 steps", function()
    grilly.manual_seed(0)
    local model = nn.Sequential {
      nn.Linear(2, 32, { device = "cpu" }), nn.DirectEncoder(6), nn.LIF { tau = 2 },
      nn.Linear(32, 32, { device = "cpu" }), nn.LIF { tau = 2 },
      nn.Linear(32, 3, { device = "cpu" }), nn.MembraneReadout { tau = 2 },
    }
    local opt = optim.AutoHypergradientAdamW(model:parameters(), { lr = 1e-2, weight_decay = 0, track_surprise = true })
    local first, last, acc = fit(model, opt, 200, x, y, tx, ty)
    assert.is_true(last < first / 4, ("loss %g -> %g"):format(first, last))
    assert.is_true(acc >= 0.9, "held-out accuracy " .. acc)
    assert.is_true(opt.current_surprise_gain > 0)
  end)

  it("runs under grilly.train with a data.loader: epochs, validation, accuracy and modes", function()
    grilly.manual_seed(0)
    local model = nn.Sequential {
      nn.Linear(2, 32, { device = "cpu" }), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 3, { device = "cpu" }),
    }
    local modes = {}
    local dropout = model.modules[3]
    local original_forward = dropout.forward
    dropout.forward = function(self, xx)
      modes[#modes + 1] = self.is_training
      return original_forward(self, xx)
    end
    local train = data.loader(x, y, { batch_size = 25, seed = 4 })
    local val = data.loader(tx, ty, { batch_size = 100, shuffle = false })
    local opt = optim.AdamW(model:parameters(), { lr = 1e-2, weight_decay = 0 })
    local loop = grilly.train.loop { model = model, criterion = nn.CrossEntropyLoss(), optimizer = opt, data = train,
                                     val_data = val, progress = false }
    local steps = loop:run { epochs = 30 }
    assert.are.equal(30 * train:size(), steps)
    assert.are.equal(360, steps)
    -- Accuracy comes from CrossEntropyLoss:accuracy; validation ran in evaluation mode.
    assert.is_true(loop.history.accuracy[steps] > 0.8)
    assert.is_true(loop.last.val_accuracy >= 0.9, "validation accuracy " .. loop.last.val_accuracy)
    local saw_eval = false
    for _, m in ipairs(modes) do saw_eval = saw_eval or m == false end
    assert.is_true(saw_eval)
    assert.is_true(dropout.is_training)
  end)
end)

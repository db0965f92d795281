-- The setup of the tuning session shown in docs/repl.md: least-squares
-- regression on synthetic data, with AutoHypergradientAdamW and surprise
-- input-gain modulation, driven by grilly.train. Start it with
--   bin/grilly -i docs/tuning_session.lua
-- and type loop:run{epochs = 5}.
grilly.manual_seed(7)
local n, d, batch = 131072, 64, 32
local X = grilly.randn{ n, d }
local Y = X:matmul(grilly.randn{ d, 1 }) + grilly.randn{ n, 1 } * 0.1

W = grilly.zeros(d, 1):requires_grad()

-- The protocol of docs/train.md, by hand: y = xW and the mean squared error.
model = {}
function model:forward(x) return x:matmul(W) end
function model:backward(x, grad) W.grad:add_(x:t():matmul(grad)) end
function model:parameters() return { W } end

mse = {}
function mse:forward(out, y) return (out - y):pow(2):mean() end
function mse:backward(out, y) return (out - y) * (2 / out:numel()) end

-- Minibatches in order; an epoch is one pass over the rows.
data = { i = 0 }
function data:reset() self.i = 0 end
function data:size() return n / batch end
function data:next()
  if self.i >= n / batch then return nil end
  self.i = self.i + 1
  local first = (self.i - 1) * batch + 1
  return X:narrow(1, first, batch), Y:narrow(1, first, batch)
end

opt = grilly.optim.AutoHypergradientAdamW(model:parameters(), { lr = 1e-3, track_surprise = true })
loop = grilly.train.loop{ model = model, criterion = mse, optimizer = opt, data = data,
                          gain_scale = 0.1, log = "tuning.tsv" }

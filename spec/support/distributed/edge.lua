-- MPI worker of spec/80-distributed_optim_spec.lua: the edges of
-- data-parallel optimizers. Writes what each case left to <out>.<rank>.
-- Usage: mpirun -np N luajit edge.lua <out>
local grilly = require "grilly"
local problem = require "dist_problem"
local dist = grilly.distributed
local optim = grilly.optim

local out = arg[1]
local rank, size = dist.init()
local results = {}

local function message(f)
  local ok, err = pcall(f)
  return ok and "no error" or tostring(err)
end

-- Parameters of other shapes on another rank.
results.mismatch = message(function()
  optim.distributed(optim.AdamW({ grilly.zeros(3 + rank), grilly.zeros(2) }))
end)
results.mismatch_class = message(function()
  optim.distributed(rank == 0 and optim.AdamW({ grilly.zeros(3) }) or optim.HypergradientAdamW({ grilly.zeros(3) }))
end)
results.mismatch_options = message(function()
  optim.distributed(optim.AdamW({ grilly.zeros(3) }), { shard_state = rank == 0 })
end)

-- Gradients that only some ranks have: a has one on rank 0 only, c on no rank.
for _, shard in ipairs({ false, true }) do
  local a, c = grilly.full({ 40 }, 1), grilly.full({ 3 }, 2)
  local opt = optim.AdamW({ a, c }, { lr = 0.1, distributed = true, shard_state = shard })
  if rank == 0 then a.grad = grilly.arange(1, 41) / 10 end
  opt:step()
  local sd = opt:state_dict()
  results["partial/" .. tostring(shard)] = { a = a:totable(), c = c:totable(), t = opt.step_count,
                                              m = sd.state[1].m:totable(), has_c_state = sd.state[2].m ~= nil }
end

-- A non-finite gradient on the last rank only.
for _, shard in ipairs({ false, true }) do
  for _, policy in ipairs({ "skip", "error" }) do
    local p = grilly.full({ 40 }, 1)
    local opt = optim.AdamW({ p }, { lr = 0.1, nonfinite = policy, distributed = true, shard_state = shard })
    local g = grilly.full({ 40 }, 0.5)
    if rank == size - 1 then g = grilly.cat({ grilly.full({ 33 }, 0.5), grilly.full({ 7 }, 0 / 0) }) end
    p.grad = g
    local err = message(function() opt:step() end)
    results[string.format("nonfinite/%s/%s", policy, tostring(shard))] = {
      err = err, p = p:totable(), t = opt.step_count, skipped = opt.skipped_steps,
    }
  end
end

-- A parameter smaller than one 16-element slice: rank 0 owns all of it, the
-- other ranks step on nothing but still take part.
local small = grilly.zeros(5)
local opt = optim.AdamW({ small }, { distributed = true, shard_state = true })
for k = 1, 3 do
  small.grad = grilly.arange(1, 6) * (rank + k)
  opt:step()
end
results.small = { p = small:totable(), bytes = opt.state_bytes, m = opt:state_dict().state[1].m:totable() }

-- A checkpoint rank 0 cannot write fails alike on every rank.
results.save_error = message(function() opt:save("/nonexistent-dir/opt.grilly") end)

-- Fields and messages of a distributed optimizer.
results.fields = { distributed = opt.distributed, shard_state = opt.shard_state, text = tostring(opt) }
results.twice = message(function() optim.distributed(opt) end)
results.read_only = message(function() opt.shard_state = false end)
local plain = optim.AdamW({ grilly.zeros(5) })
results.plain_fields = { distributed = plain.distributed, shard_state = plain.shard_state }

-- The state gathered from the shards, on every rank, after some steps.
local params = problem.params(grilly, 100)
local loader = problem.loader(grilly, rank, size)
local o = problem.options("AutoHypergradientAdamW")
o.distributed, o.shard_state, o.bucket_mb = true, true, problem.BUCKET_MB
local auto = optim.AutoHypergradientAdamW(params, o)
for _ = 1, 5 do problem.step(auto, params, loader) end
local sd = auto:state_dict()
local state = {}
for i, s in ipairs(sd.state) do
  state[i] = {}
  for k, t in pairs(s) do state[i][k] = t:view(-1):totable() end
end
results.state_dict = { state = state, t = sd.t, lr = sd.lr, S = sd.S, prev_norm = sd.prev_norm,
                       lr_history = sd.lr_history }
local dirs = optim.hypergradient.compute_update_directions(auto)
results.directions = { dirs[params[1]]:view(-1):totable(), dirs[params[2]]:totable() }

-- load_state_dict of the gathered state continues like the original.
local copy = { params[1]:clone(), params[2]:clone() }
local again = optim.AutoHypergradientAdamW(copy, o)
again:load_state_dict(sd)
local l1 = problem.loader(grilly, rank, size)
local l2 = problem.loader(grilly, rank, size)
for _ = 1, 5 do
  problem.next_batch(l1)
  problem.next_batch(l2)
end
for _ = 1, 3 do
  problem.step(auto, params, l1)
  problem.step(again, copy, l2)
end
results.reloaded = { a = params[1]:view(-1):totable(), b = copy[1]:view(-1):totable(),
                     lr_a = auto.current_lr, lr_b = again.current_lr }

problem.write(out .. "." .. rank, results)

-- MPI worker of spec/80-distributed_optim_spec.lua: checkpoints of a
-- data-parallel AutoHypergradientAdamW (surprise and momentum adaptation on).
-- Usage: mpirun -np N luajit checkpoint.lua save <dir> <k1> <k2> <shard>
--   trains k1 steps, saves the optimizer (opt:save) and, from rank 0, the
--   parameters to <dir>, trains k2 more and writes them to <dir>/save.<rank>.
-- Or:    mpirun -np N luajit checkpoint.lua resume <dir> <k1> <k2> <shard>
--   loads both files, skips the loader past the first k1 batches, trains k2
--   steps and writes them to <dir>/resume-<N>-<shard>.<rank>.
-- Or:    mpirun -np N luajit checkpoint.lua resume-root <dir> <k1> <k2> <shard>
--   the same, but only rank 0 reads the files; the other ranks start from
--   fresh parameters and a fresh optimizer (<dir>/resume-root-<N>-<shard>.<rank>).
local grilly = require "grilly"
local problem = require "dist_problem"
local dist = grilly.distributed

local mode, dir, k1, k2, shard = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5] == "true"
local rank, size = dist.init()
local class = "AutoHypergradientAdamW"
local loader = problem.loader(grilly, rank, size)
local params, opt, out

if mode == "save" then
  params = problem.params(grilly, 100)
  local opts = problem.options(class)
  opts.distributed, opts.shard_state, opts.bucket_mb = true, shard, problem.BUCKET_MB
  opt = grilly.optim[class](params, opts)
  for _ = 1, k1 do problem.step(opt, params, loader) end
  opt:save(dir .. "/opt.grilly")
  if dist.is_root() then grilly.save(dir .. "/params.grilly", { w = params[1], b = params[2] }) end
  dist.barrier()
  out = dir .. "/save." .. rank
else
  local plain
  if mode == "resume" or rank == 0 then
    local saved = assert(grilly.load(dir .. "/params.grilly"))
    params = { saved.w, saved.b }
    plain = grilly.optim.load(dir .. "/opt.grilly", params)
  else
    params = problem.params(grilly, 999)
    plain = grilly.optim[class](params)
  end
  opt = grilly.optim.distributed(plain, { shard_state = shard, bucket_mb = problem.BUCKET_MB })
  for _ = 1, k1 do problem.next_batch(loader) end
  out = string.format("%s/%s-%d-%s.%d", dir, mode, size, tostring(shard), rank)
end

local steps = {}
for k = 1, k2 do
  problem.step(opt, params, loader)
  steps[k] = problem.snapshot(opt, params)
end
problem.write(out, { steps = steps, lr_history = opt.lr_history, surprise_history = opt.surprise_history,
                     state_bytes = opt.state_bytes })

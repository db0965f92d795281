-- MPI worker of spec/80-distributed_optim_spec.lua: trains the problem of
-- dist_problem for `steps` steps with each of the three optimizer classes,
-- with replicated and with sharded state, data-parallel over the ranks, and
-- writes what every step left to <out>.<rank>.
-- Usage: mpirun -np N luajit train.lua <out> <steps> <device>
local grilly = require "grilly"
local problem = require "dist_problem"
local dist = grilly.distributed

local out, steps, device = arg[1], tonumber(arg[2]), arg[3] or "cpu"
local rank, size = dist.init()

local results = { size = size }
for _, class in ipairs(problem.CLASSES) do
  for _, shard in ipairs({ false, true }) do
    -- Each rank draws other starting values: rank 0's must win.
    local params = problem.params(grilly, 100 + rank, device)
    local loader = problem.loader(grilly, rank, size, device)
    local opts = problem.options(class)
    opts.distributed, opts.shard_state, opts.bucket_mb = true, shard, problem.BUCKET_MB
    local opt = grilly.optim[class](params, opts)
    local run = { start = problem.snapshot(opt, params), steps = {} }
    dist.reset_traffic()
    for k = 1, steps do
      problem.step(opt, params, loader)
      run.steps[k] = problem.snapshot(opt, params)
    end
    run.traffic = dist.traffic()
    run.state_bytes = opt.state_bytes
    run.lr_history = opt.lr_history
    run.beta1_history = opt.beta1_history
    run.surprise_history = opt.surprise_history
    run.s_bar_history = opt.s_bar_history
    run.tostring = tostring(opt)
    results[class .. (shard and "/sharded" or "/replicated")] = run
  end
end
problem.write(out .. "." .. rank, results)

-- MPI worker of spec/80-distributed_optim_spec.lua: rank 1 raises an error
-- after two data-parallel steps while the other ranks go on stepping (and so
-- wait for it in a collective). The job must end, with the error shown.
local grilly = require "grilly"
local problem = require "dist_problem"
local dist = grilly.distributed

local rank, size = dist.init()
local params = problem.params(grilly, 100)
local loader = problem.loader(grilly, rank, size)
local opt = grilly.optim.AdamW(params, { lr = 0.01, distributed = true, shard_state = true })
for step = 1, 1000 do
  if rank == 1 and step == 3 then error("deliberate failure on rank 1 at step " .. step) end
  problem.step(opt, params, loader)
end
print("rank " .. rank .. " finished all steps")

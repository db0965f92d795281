-- MPI worker of spec/81-distributed_collectives_spec.lua: grilly.distributed's
-- collectives on the CPU and, where one opens, a Vulkan device. Each rank
-- contributes values made from its rank; results go to <out>.<rank>.
-- Usage: mpirun -np N luajit collectives.lua <out>
local grilly = require "grilly"
local problem = require "dist_problem"
local dist = grilly.distributed

local out = arg[1]
local rank, size = dist.init()
local results = { rank = dist.rank(), size = dist.size(), is_root = dist.is_root(), devices = {} }

local function message(f)
  local ok, err = pcall(f)
  return ok and "no error" or tostring(err)
end

local devices = { "cpu" }
if pcall(grilly.zeros, 1, { device = "vulkan" }) then devices[2] = "vulkan" end

for _, dev in ipairs(devices) do
  local r = {}
  local base = grilly.arange(1, 7):view(2, 3)
  local s = (base * (rank + 1)):to(dev)
  r.sum_returned_self = dist.all_reduce(s) == s
  r.sum = s:view(-1):totable()
  local m = (base * (rank + 1)):to(dev)
  dist.all_reduce(m, "mean")
  r.mean = m:view(-1):totable()
  local b = grilly.full({ 3 }, rank):to(dev)
  dist.broadcast(b, size - 1)
  r.broadcast = b:totable()
  local d = grilly.full({ 4 }, rank + 0.5):to(dev)
  dist.broadcast(d)
  r.broadcast_default = d:totable()
  local g = dist.all_gather((grilly.arange(1, 4) + 10 * rank):to(dev))
  r.gather_shape = g:size()
  r.gather_device = g.device
  r.gather = g:view(-1):totable()
  -- More than one staging chunk (2^20 elements) of a non-CPU tensor.
  local n = 2 ^ 20 + 37
  local big = (grilly.arange(1, n + 1) * (rank + 1)):to(dev)
  dist.all_reduce(big, "mean")
  r.big = { big:narrow(1, 1, 3):totable(), big:narrow(1, n - 2, 3):totable() }
  r.empty = dist.all_reduce(grilly.zeros(0):to(dev)):numel()
  results.devices[dev] = r
end

results.errors = {
  shape = message(function() dist.all_reduce(grilly.zeros(rank + 1)) end),
  op = message(function() dist.all_reduce(grilly.zeros(2), rank == 0 and "sum" or "mean") end),
  root = message(function() dist.broadcast(grilly.zeros(2), rank) end),
  gather = message(function() dist.all_gather(grilly.zeros(2, rank + 1)) end),
  bad_op = message(function() dist.all_reduce(grilly.zeros(2), "max") end),
  bad_root = message(function() dist.broadcast(grilly.zeros(2), size) end),
  far_roots = {
    message(function() dist.broadcast(grilly.zeros(2), 1e300) end),
    message(function() dist.broadcast(grilly.zeros(2), -math.huge) end),
    message(function() dist.broadcast(grilly.zeros(2), 0 / 0) end),
    message(function() dist.broadcast(grilly.zeros(2), 2 ^ 32) end),
  },
  not_tensor = message(function() dist.all_reduce({ 1, 2 }) end),
}
dist.barrier()
dist.reset_traffic()
dist.all_reduce(grilly.zeros(10))
results.traffic = dist.traffic()
results.host = dist.host()
local p = grilly.zeros(3)
local opt = grilly.optim.AdamW({ p }, { distributed = true })
dist.finalize()
results.after_finalize = message(function() dist.all_reduce(grilly.zeros(2)) end)
p.grad = grilly.ones(3)
results.step_after_finalize = message(function() opt:step() end)
results.save_after_finalize = message(function() opt:save(out .. ".opt") end)
problem.write(out .. "." .. rank, results)

-- grilly.distributed: data-parallel training across processes and hosts
-- on MPI (see docs/distributed.md). Launch a script on N ranks with
--   mpirun -np N luajit script.lua      (or: mpirun -np N grilly script.lua)
-- Every rank runs the whole script; collectives must be called by every
-- rank in the same order. Ranks are numbered 0 .. size() - 1 as in mpirun.
--
-- MPI is an optional part of grilly: this module needs build/grilly/mpi.so,
-- which `make` builds where Open MPI is installed.
local core = require "grilly.core"

local ok, mpi = pcall(require, "grilly.mpi")
if not ok then
  error("grilly.distributed needs MPI, and grilly's MPI module could not be loaded:\n  " .. tostring(mpi)
        .. "\nInstall Open MPI (apt-get install libopenmpi-dev openmpi-bin), rebuild grilly (make), "
        .. "then launch with: mpirun -np N luajit script.lua", 0)
end

local c = core.comm
local distributed = {}

local world

-- The world communicator, starting MPI on first use.
local function comm()
  world = world or mpi.world()
  return world
end

-- init() -> rank, size. Starts MPI (idempotent; every other function starts
-- it too). At exit MPI is shut down: normally when the script ends well,
-- and by ending every rank of the job when a rank exits with an error, so
-- that no rank is left waiting in a collective.
function distributed.init()
  local w = comm()
  return c.rank(w), c.size(w)
end

function distributed.rank() return c.rank(comm()) end
function distributed.size() return c.size(comm()) end

-- Whether this is rank 0, the rank that prints and writes files.
function distributed.is_root() return c.rank(comm()) == 0 end

-- The communicator the optimizers and collectives use (a grilly.Communicator).
function distributed.communicator() return comm() end

function distributed.barrier() return c.barrier(comm()) end

-- all_reduce(t [, "sum" | "mean"]): in place, every rank ends with the sum
-- (or mean) of t over the ranks; returns t.
function distributed.all_reduce(t, op) return c.all_reduce(t, op, comm()) end

-- broadcast(t [, root = 0]): in place, every rank ends with root's t; returns t.
function distributed.broadcast(t, root) return c.broadcast(t, root, comm()) end

-- all_gather(t): a new tensor of shape size() x t's shape whose row r + 1
-- is rank r's t.
function distributed.all_gather(t) return c.all_gather(t, comm()) end

-- The bytes this rank has handed to each kind of collective:
-- {all_reduce = {f32 = {calls, bytes}, ...}, reduce_scatter = ..., all_gather = ..., broadcast = ...}.
function distributed.traffic() return c.traffic(comm()) end
function distributed.reset_traffic() return c.reset_traffic(comm()) end

-- The host this rank runs on.
function distributed.host() return mpi.host() end

-- abort([code [, message]]): ends every rank of the job now.
function distributed.abort(code, message) mpi.abort(code, message) end

-- finalize(): shuts MPI down before the script ends (it is done at exit
-- otherwise); every rank must call it, and no collective works afterwards.
function distributed.finalize() mpi.finalize() end

return distributed

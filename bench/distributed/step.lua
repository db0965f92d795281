-- Data-parallel optimizer step: seconds per opt:step() and the bytes each
-- rank hands to MPI per step, for the three classes with replicated and
-- sharded state, against a plain (not distributed) optimizer in the same
-- process. Run on N ranks (make bench-distributed runs 1 and 2):
--   mpirun -np N luajit bench/distributed/step.lua [params] [steps]
-- Every rank steps on fixed random gradients of its own; rank 0 prints.
local grilly = require "grilly"
local timing = require "timing"
local dist = grilly.distributed

local P = tonumber(arg[1]) or 4 * 1024 * 1024
local STEPS = tonumber(arg[2]) or 20
local rank, size = dist.init()
local root = rank == 0

-- Two tensors, a matrix and a vector, of P elements in all.
local cols = 1024
local rows = math.floor((P - cols) / cols)
local function model()
  grilly.manual_seed(1)
  local w, b = grilly.randn(rows, cols) * 0.1, grilly.zeros(cols)
  grilly.manual_seed(100 + rank)
  w.grad, b.grad = grilly.randn(rows, cols) * 0.01, grilly.randn(cols) * 0.01
  return { w, b }
end
local nparams = rows * cols + cols

-- The fastest and the median seconds of fn over STEPS calls after 5 warm-up
-- calls; the ranks start each call together, so a call's time includes
-- waiting for the slowest rank.
local function time_calls(fn)
  for _ = 1, 5 do fn() end
  local dt = {}
  for k = 1, STEPS do
    dist.barrier()
    local t0 = timing.now()
    fn()
    dt[k] = timing.now() - t0
  end
  table.sort(dt)
  return dt[1], dt[math.ceil(#dt / 2)]
end

local function bytes_of(t, kind, ty)
  return t[kind] and t[kind][ty] and t[kind][ty].bytes or 0
end

local OPTS = {
  AdamW = {},
  HypergradientAdamW = { beta_hyper = 1e-4 },
  AutoHypergradientAdamW = { track_surprise = true, adapt_momentum = true, warmup_steps = 0 },
}

if root then
  print(string.format("machine: %s; %d rank%s; %d parameters (%.1f MB); best and median of %d steps",
                      timing.machine(), size, size == 1 and "" or "s", nparams, nparams * 4 / 2 ^ 20, STEPS))
end
-- The bare collective: an all_reduce of the parameters' size.
do
  local t = grilly.ones(nparams)
  dist.reset_traffic()
  local best, med = time_calls(function() dist.all_reduce(t, "mean") end)
  if root then print(string.format("all_reduce of %d floats: best %.2f ms, median %.2f ms", nparams, best * 1e3, med * 1e3)) end
end
if root then
  print(string.format("%-24s %-11s %9s %9s %12s %12s %12s %12s", "class", "state", "best ms", "median", "grad B/step",
                      "param B/step", "scalar B/st", "state MB/rk"))
end
for _, class in ipairs({ "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" }) do
  for _, mode in ipairs({ "plain", "replicated", "sharded" }) do
    local params = model()
    local opts = {}
    for k, v in pairs(OPTS[class]) do opts[k] = v end
    opts.lr = 1e-3
    local opt = grilly.optim[class](params, opts)
    if mode ~= "plain" then grilly.optim.distributed(opt, { shard_state = mode == "sharded" }) end
    dist.reset_traffic()
    local best, med = time_calls(function() opt:step() end)
    local t, n = dist.traffic(), STEPS + 5
    local grad = (bytes_of(t, "all_reduce", "f32") + bytes_of(t, "reduce_scatter", "f32")) / n
    local param = bytes_of(t, "all_gather", "f32") / n
    local scalar = (bytes_of(t, "all_gather", "f64") + bytes_of(t, "all_reduce", "u8")) / n
    -- The barriers of the timing loop are not counted: they move no bytes.
    if root then
      print(string.format("%-24s %-11s %9.2f %9.2f %12.0f %12.0f %12.0f %12.2f", class, mode, best * 1e3, med * 1e3,
                          grad, param, scalar, opt.state_bytes / 2 ^ 20))
    end
    opt:free()
    collectgarbage()
  end
end

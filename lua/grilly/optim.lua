-- grilly.optim: the optimizers AdamW, HypergradientAdamW and
-- AutoHypergradientAdamW, load(path, params) for an optimizer saved with
-- opt:save(path), distributed(opt, options) for data-parallel training
-- across processes, and the helpers of grilly.optim.hypergradient.
local core = require "grilly.core"

local optim = {
  AdamW = core.optim.AdamW,
  HypergradientAdamW = core.optim.HypergradientAdamW,
  AutoHypergradientAdamW = core.optim.AutoHypergradientAdamW,
  load = core.optim.load,
}

optim.hypergradient = {
  HypergradientAdamW = core.optim.HypergradientAdamW,
  AutoHypergradientAdamW = core.optim.AutoHypergradientAdamW,
  collect_grads = core.optim.collect_grads,
  compute_update_directions = core.optim.compute_update_directions,
}

-- Gradient buckets default to 16 MB (4 Mi float32 elements).
optim.default_bucket_mb = 16

local DIST_OPTIONS = { distributed = true, shard_state = true, bucket_mb = true }

local function class_name(opt)
  local mt = getmetatable(opt)
  local name = type(mt) == "table" and mt.__name
  return type(name) == "string" and name:gsub("^grilly%.", "") or "optim.distributed"
end

-- The validated data-parallel options: shard_state, and the bucket size in elements.
local function dist_options(who, opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error(string.format("%s: distributed options must be a table, got %s", who, type(opts)), 3)
  end
  for k in pairs(opts) do
    if not DIST_OPTIONS[k] then
      error(string.format("%s: unknown distributed option '%s' (expected shard_state or bucket_mb)", who, tostring(k)), 3)
    end
  end
  local shard = opts.shard_state
  if shard == nil then shard = false end
  if type(shard) ~= "boolean" then
    error(string.format("%s: option 'shard_state' must be a boolean, got %s", who, type(shard)), 3)
  end
  local mb = opts.bucket_mb
  if mb == nil then mb = optim.default_bucket_mb end
  local elems = type(mb) == "number" and math.floor(mb * 2 ^ 20 / 4) or nil
  if not elems or mb ~= mb or elems < 1 or elems > 2 ^ 30 then
    error(string.format("%s: option 'bucket_mb' must be a number from 4e-6 to 4096 (megabytes), got %s", who,
                        tostring(mb)), 3)
  end
  return shard, elems
end

-- distributed(opt [, {shard_state = false, bucket_mb = 16}]): makes opt (any
-- of the three classes) data-parallel across the ranks of grilly.distributed,
-- in place, and returns it. Every rank must call it, with the same class,
-- parameter shapes and options; rank 0's parameters and state become every
-- rank's. See docs/distributed.md.
function optim.distributed(opt, opts)
  local who = class_name(opt)
  local shard, elems = dist_options(who, opts)
  local dist = require "grilly.distributed"
  return core.optim.distribute(opt, dist.communicator(), shard, elems)
end

-- What the constructors do with {distributed = ..., shard_state = ...,
-- bucket_mb = ...} in their options: those keys are not options of the
-- class, so the constructor hands them here with the new optimizer.
function optim.from_constructor(opt, opts)
  local who = class_name(opt)
  local on = opts.distributed
  if on ~= nil and type(on) ~= "boolean" then
    error(string.format("%s: option 'distributed' must be a boolean, got %s", who, type(on)), 3)
  end
  local rest = {}
  for k, v in pairs(opts) do
    if k ~= "distributed" then rest[k] = v end
  end
  if not on then
    local key = next(rest)
    if key then error(string.format("%s: option '%s' needs distributed = true", who, key), 3) end
    return opt
  end
  return optim.distributed(opt, rest)
end

return optim

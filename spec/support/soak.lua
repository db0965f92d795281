-- The soak of spec/85-memory_spec.lua: creates and drops TENSORS tensors
-- and OPTIMIZERS optimizers on a device and measures resident memory
-- (/proc/self/statm) and grilly.device_bytes before and after.
local grilly = require "grilly"
local optim = grilly.optim

local soak = { TENSORS = 100000, OPTIMIZERS = 1000 }

local page_size
local function resident_bytes()
  if not page_size then
    local pipe = io.popen("getconf PAGESIZE")
    page_size = tonumber(pipe:read("*a")) or 4096
    pipe:close()
  end
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("*n", "*n")
  f:close()
  return resident * page_size
end

local CLASSES = { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" }
local OPTIONS = {
  { amsgrad = true },
  { beta_hyper = 1e-4 },
  { track_surprise = true, warmup_steps = 0, adapt_momentum = true },
}

-- Tensors of varied sizes, some written to, a third freed explicitly and the
-- rest left to the collector; optimizers of every class that take two steps
-- (creating their state), half of them freed explicitly.
local function churn(device, ntensors, noptimizers)
  local opts = { device = device }
  for i = 1, ntensors do
    local t = grilly.zeros(1 + i % 67, opts)
    if i % 2 == 0 then t:add_(1) end
    if i % 3 == 0 then t:free() end
  end
  for i = 1, noptimizers do
    local p = { grilly.randn(8, opts), grilly.randn({ 3, 4 }, opts) }
    for _, x in ipairs(p) do x:requires_grad().grad:fill_(0.1) end
    local k = i % 3 + 1
    local opt = optim[CLASSES[k]](p, OPTIONS[k])
    opt:step()
    opt:step()
    if i % 2 == 0 then opt:free() end
  end
  -- An object is finalized one cycle after what referenced it: an optimizer,
  -- then its parameters, then their gradients.
  for _ = 1, 4 do collectgarbage() end
end

-- One line of figures: "soak DEVICE: N tensors, M optimizers; resident A -> B
-- bytes; device bytes C -> D".
function soak.measure(device)
  -- A fifth of the run first, so that pools, caches and the allocator reach
  -- their working size before the baseline is taken.
  churn(device, soak.TENSORS / 5, soak.OPTIMIZERS / 5)
  local rss0, dev0 = resident_bytes(), grilly.device_bytes(device)
  churn(device, soak.TENSORS, soak.OPTIMIZERS)
  local rss1, dev1 = resident_bytes(), grilly.device_bytes(device)
  return ("soak %s: %d tensors, %d optimizers; resident %d -> %d bytes; device bytes %d -> %d")
    :format(device, soak.TENSORS, soak.OPTIMIZERS, rss0, rss1, dev0, dev1)
end

return soak

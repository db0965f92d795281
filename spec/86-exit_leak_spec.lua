-- A process that ends without freeing anything leaves nothing leaked: the
-- Vulkan instance and devices are torn down at exit, and closing the Lua
-- state releases tensors and optimizers first (spec/support/leak_check.lua).
local leak_check = require "leak_check"
local gpu = require "gpu"

describe("memory at process exit", function()
  local ok, why = leak_check.available()
  if not ok then return pending(why) end

  it("is all released after a process that only looked for the default device", function()
    -- Without GRILLY_DEVICE the default device is chosen by asking Vulkan
    -- which devices exist, which creates the Vulkan instance.
    local clean, out = leak_check.run("assert(grilly.zeros(2):sum() == 0)", "-u GRILLY_DEVICE")
    assert.is_true(clean, out)
  end)

  it("is all released after a CPU-only process that kept its tensors and optimizer", function()
    local clean, out = leak_check.run([[
      local x = grilly.randn(50)
      x.grad = grilly.ones(50)
      opt = grilly.optim.AutoHypergradientAdamW({x}, {track_surprise = true, warmup_steps = 0})
      for _ = 1, 3 do opt:step() end
      opt:save(os.tmpname())
    ]], "GRILLY_DEVICE=cpu")
    assert.is_true(clean, out)
  end)
end)

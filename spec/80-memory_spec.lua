-- Memory over long runs: tensors that are dropped without free() are
-- collected as their storage grows, on every device, and creating and
-- dropping tensors and optimizers returns host and device memory.
local child = require "child_process"
local gpu = require "gpu"

describe("garbage collection paced by tensor memory", function()
  -- In a process of its own, so that no earlier spec's tensors or
  -- collections shape the numbers. A 4 MiB tensor is made 200 times and
  -- dropped each time: 800 MiB if nothing were collected in between.
  local function peak_bytes(device)
    local status, out = child.run(([[
      local x = grilly.zeros(1024 * 1024, {device = %q})
      local peak = 0
      for _ = 1, 200 do
        local y = x + 1
        peak = math.max(peak, grilly.device_bytes(%q))
      end
      io.write(peak)
    ]]):format(device, device))
    assert.equal(0, status, out)
    return tonumber(out:match("(%d+)%s*$"))
  end

  -- The collector runs once live storage passes twice what was live after
  -- the last collection, and at least 64 MiB.
  local BOUND = 64 * 2 ^ 20 + 2 * 4 * 2 ^ 20

  it("keeps dropped CPU tensors from piling up", function()
    assert.is_true(peak_bytes("cpu") <= BOUND)
  end)

  it("keeps dropped Vulkan tensors from piling up", function()
    if not gpu.available then return pending(gpu.reason) end
    assert.is_true(peak_bytes("vulkan") <= BOUND)
  end)
end)

-- The host-transfer paths of discrete GPUs (unmapped device memory, copies
-- through staging buffers), exercised on any Vulkan device in a separate
-- process with GRILLY_VULKAN_STAGING=1.
local gpu = require "gpu"

describe("Vulkan transfers through staging", function()
  if not gpu.available then return pending(gpu.reason) end

  it("round-trip, order uploads after queued work and read values back", function()
    local validation = os.getenv("GRILLY_VALIDATION") or "0"
    local cmd = "GRILLY_VULKAN_STAGING=1 GRILLY_VALIDATION=" .. validation ..
                " luajit spec/support/vulkan_staging_check.lua 2>&1"
    local pipe = assert(io.popen(cmd))
    local out = pipe:read("*a")
    pipe:close()
    assert.equal("ok", out:match("([^\n]*)\n?$"))   -- the last line
  end)
end)

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
        peak = math.max(peak, (grilly.device_bytes(%q)))   -- live bytes, the first result
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

describe("soak: creating and dropping tensors and optimizers", function()
  -- Resident memory may settle a little higher (allocator caches, LuaJIT's
  -- heap); a leak of one tensor header per iteration alone would be 10 MiB.
  local RSS_SLACK = 4 * 2 ^ 20
  -- AddressSanitizer keeps freed memory in quarantine, so resident memory
  -- says nothing under it; its leak check at exit takes that role.
  local sanitized = os.getenv("GRILLY_SANITIZER_PRELOAD") ~= nil

  -- In a process of its own, so that the heap the earlier specs left behind
  -- does not blur the figures (spec/support/soak.lua).
  local function soak(device)
    local status, out = child.run(("io.write(require('soak').measure(%q))"):format(device))
    assert.equal(0, status, out)
    local line = out:match("soak [^\n]*")
    assert.is_string(line, out)
    local path = os.getenv("GRILLY_SOAK_REPORT")
    if path then
      local f = assert(io.open(path, "a"))
      f:write(line, "\n")
      f:close()
    end
    local rss0, rss1, dev0, dev1 = line:match("resident (%d+) %-> (%d+) bytes; device bytes (%d+) %-> (%d+)")
    assert.equal(dev0, dev1)
    if not sanitized then
      assert.is_true(rss1 - rss0 <= RSS_SLACK, ("resident memory grew by %.1f MiB"):format((rss1 - rss0) / 2 ^ 20))
    end
  end

  it("returns host memory and the CPU's tensor bytes", function()
    soak("cpu")
  end)

  it("returns host memory and the Vulkan device's bytes", function()
    if not gpu.available then return pending(gpu.reason) end
    soak("vulkan")
  end)
end)

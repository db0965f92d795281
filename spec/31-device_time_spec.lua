-- grilly.device_time: the seconds a device spends on the work a function
-- records, measured by the device (GPU timestamps on Vulkan, wall time on the CPU).
local grilly = require "grilly"
local gpu = require "gpu"
local now = require("grilly.tty").now

local N = 1000000

-- Keeps the host busy for `seconds` without touching any device.
local function host_busy(seconds)
  local t0 = now()
  while now() - t0 < seconds do end
end

local function copies(dst, src, count)
  return function() for _ = 1, count do dst:copy_(src) end end
end

-- Smallest device time of fn over three runs.
local function best(fn, device)
  local s = math.huge
  for _ = 1, 3 do s = math.min(s, (grilly.device_time(fn, device))) end
  return s
end

local DEVICES = { "cpu" }
if gpu.available then DEVICES[2] = gpu.device end

for _, device in ipairs(DEVICES) do
  describe("grilly.device_time on " .. device, function()
    local src, dst

    before_each(function()
      src = grilly.rand(N, { device = device })
      dst = grilly.zeros(N, { device = device })
      grilly.synchronize(device)
    end)

    it("returns the seconds first, then every result of the function", function()
      local function pack(...) return { n = select("#", ...), ... } end
      local r = pack(grilly.device_time(function() dst:copy_(src) return 1, nil, "three" end, device))
      assert.equal(4, r.n)
      assert.is_true(r[1] > 0)
      assert.same({ 1, nil, "three" }, { r[2], r[3], r[4] })
    end)

    it("lies within the wall time around it and grows with the work", function()
      local t0 = now()
      local one = grilly.device_time(copies(dst, src, 1), device)
      local wall = now() - t0
      assert.is_true(one > 0 and one <= wall * 1.01, ("device %g s, wall %g s"):format(one, wall))
      assert.is_true(best(copies(dst, src, 16), device) > 4 * best(copies(dst, src, 1), device))
    end)

    it("times work spread over several submits", function()
      -- More commands than one batch of the command stream holds.
      local t0 = now()
      local s = grilly.device_time(function() for _ = 1, 600 do dst:add_(1) end end, device)
      local wall = now() - t0
      assert.is_true(s > 0 and s <= wall * 1.01)
      assert.equal(600, dst:min())
    end)

    it("raises the function's error unchanged, and the device can be timed again", function()
      local ok, err = pcall(grilly.device_time, function() error({ code = 7 }) end, device)
      assert.is_false(ok)
      assert.same({ code = 7 }, err)
      assert.error_matches(function() grilly.device_time(function() error("boom") end, device) end, "boom")
      assert.is_true(grilly.device_time(copies(dst, src, 1), device) > 0)
    end)

    it("refuses to nest on one device", function()
      local inner
      local s = grilly.device_time(function()
        inner = select(2, pcall(grilly.device_time, function() end, device))
      end, device)
      assert.matches(device .. "[:%d]* is being timed already %(timings of one device do not nest%)", inner)
      assert.is_true(s >= 0)
    end)
  end)
end

describe("grilly.device_time", function()
  it("measures the host's time on the CPU, whose ops finish before they return", function()
    assert.is_true(grilly.device_time(function() host_busy(0.03) end, "cpu") >= 0.03)
  end)

  it("leaves out the host's recording and waiting on Vulkan", function()
    if not gpu.available then return pending(gpu.reason) end
    local x = grilly.zeros(16, { device = gpu.device })
    local s = grilly.device_time(function()
      host_busy(0.05)
      x:add_(1)
    end, gpu.device)
    assert.is_true(s < 0.025, ("%g s"):format(s))
  end)

  it("leaves out work recorded before it", function()
    if not gpu.available then return pending(gpu.reason) end
    local src = grilly.rand(4 * N, { device = gpu.device })
    local dst = grilly.empty(4 * N, { device = gpu.device })
    local sixteen = best(copies(dst, src, 16), gpu.device)
    copies(dst, src, 16)()
    local after = grilly.device_time(function() dst:add_(0) end, gpu.device)
    assert.is_true(after < sixteen / 4, ("%g s after work that takes %g s"):format(after, sixteen))
  end)

  it("checks its arguments", function()
    assert.error_matches(function() grilly.device_time(nil) end,
                         "bad argument #1 to 'device_time' (function expected, got nil)", nil, true)
    assert.error_matches(function() grilly.device_time(function() end, "tpu") end,
                         "bad argument #2 to 'device_time' (unknown device 'tpu'", nil, true)
    assert.error_matches(function() grilly.device_time(function() end, 3) end, "bad argument #2 to 'device_time'",
                         nil, true)
  end)
end)

-- Vulkan devices: listing, selection, storage, host transfers, fill and memory.
local grilly = require "grilly"
local gpu = require "gpu"

local function ramp(n, scale)
  local t = {}
  for i = 1, n do t[i] = (i % 97 - 48) * (scale or 0.25) end
  return t
end

describe("Vulkan devices", function()
  if not gpu.available then return pending(gpu.reason) end

  it("lists each Vulkan device with its name, type, memory and features", function()
    local list = grilly.devices()
    assert.equal("cpu", list[1].device)
    assert.is_true(#list >= 2)
    for i = 2, #list do
      local d = list[i]
      assert.equal("vulkan:" .. (i - 2), d.device)
      assert.is_string(d.name)
      assert.truthy(({discrete = 1, integrated = 1, virtual = 1, cpu = 1, other = 1})[d.type])
      assert.is_true(d.memory > 0)
      assert.is_true(d.subgroup_size >= 1)
      assert.is_boolean(d.float64)
      assert.is_boolean(d.keeps_inf_nan)
      assert.is_boolean(d.keeps_denormals)
    end
  end)

  it("opens by name, as 'vulkan', 'gpu' and 'vulkan:0'", function()
    assert.equal("vulkan:0", grilly.zeros(1, {device = "vulkan:0"}).device)
    assert.matches("^vulkan:%d+$", grilly.zeros(1, {device = "vulkan"}).device)
    assert.matches("^vulkan:%d+$", grilly.zeros(1, {device = "gpu"}).device)
  end)

  it("rejects a Vulkan index that does not exist", function()
    assert.error_matches(function() grilly.zeros(1, {device = "vulkan:63"}) end,
                         "no Vulkan device 'vulkan:63' %(%d+ Vulkan devices? found%)")
    assert.error_matches(function() grilly.zeros(1, {device = "vulkan:x"}) end, "bad device index 'x'")
  end)

  it("becomes the default device through set_device", function()
    local before = grilly.get_device()
    grilly.set_device("vulkan")
    local ok, err = pcall(function()
      assert.matches("^vulkan:", grilly.zeros(2).device)
    end)
    grilly.set_device(before)
    assert(ok, err)
  end)

  it("round-trips values through device memory", function()
    local values = ramp(1000)
    local t = grilly.tensor(values, {device = "vulkan"})
    assert.same(values, t:totable())
    assert.equal(values[17], grilly.tensor(values[17], {device = "vulkan"}):item())
  end)

  it("fills tensors of 0, 1, odd and large sizes", function()
    assert.same({}, grilly.full({0}, 3, {device = "vulkan"}):totable())
    assert.same({-1.5}, grilly.full({1}, -1.5, {device = "vulkan"}):totable())
    assert.same({{2, 2, 2}, {2, 2, 2}, {2, 2, 2}}, grilly.full({3, 3}, 2, {device = "vulkan"}):totable())
    -- more elements than 65535 workgroups of 256 threads
    local n = 65535 * 256 + 7
    local big = grilly.full({n}, 0.5, {device = "vulkan"})
    local back = big:totable()
    assert.equal(n, #back)
    assert.equal(0.5, back[1]); assert.equal(0.5, back[math.floor(n / 2)]); assert.equal(0.5, back[n])
  end)

  it("counts the bytes its storages hold", function()
    collectgarbage(); collectgarbage()
    local before = grilly.device_bytes("vulkan")
    local t = grilly.zeros(1000, {device = "vulkan"})
    assert.equal(before + 4000, grilly.device_bytes("vulkan"))
    t:free()
    assert.equal(before, grilly.device_bytes("vulkan"))
  end)

  it("keeps a freed big tensor's memory for the next one, small tensors aside", function()
    -- 100 MiB, or 300 MiB on devices with 8 GiB or more: bigger than a
    -- standard block, so the tensor gets a block of its own.
    local n = (gpu.info.memory >= 8 * 2^30 and 300 or 100) * 2^18
    collectgarbage(); collectgarbage()
    grilly.empty({n}, {device = "vulkan"}):free()
    local first_small = grilly.ones({1000}, {device = "vulkan"})   -- a standard block for the small ones
    grilly.synchronize("vulkan")
    local _, held = grilly.device_bytes("vulkan")
    for round = 1, 3 do
      local small = grilly.ones({1000}, {device = "vulkan"})
      local big = grilly.full({n}, round, {device = "vulkan"})
      assert.equal(held, select(2, grilly.device_bytes("vulkan")))   -- no new device memory
      assert.equal(round, big[n])
      assert.equal(1, small[1000])
      big:free()
      small:free()
      grilly.synchronize("vulkan")
      assert.equal(held, select(2, grilly.device_bytes("vulkan")))
    end
    first_small:free()
    local cpu_used, cpu_held = grilly.device_bytes("cpu")
    assert.equal(cpu_used, cpu_held)
  end)

  it("reuses freed memory without disturbing live tensors", function()
    local keep = grilly.tensor(ramp(5000), {device = "vulkan"})
    for round = 1, 20 do
      local tmp = grilly.full({4096 + round}, round, {device = "vulkan"})
      assert.equal(round, tmp:totable()[4096])
      tmp:free()
    end
    assert.same(ramp(5000), keep:totable())
  end)

  it("fails on an absurd allocation, saying how much, and keeps existing tensors", function()
    local keep = grilly.tensor(ramp(100), {device = "vulkan"})
    local ok, err = pcall(grilly.empty, {1e12}, {device = "vulkan"})
    assert.is_false(ok)
    assert.matches("out of memory on vulkan:%d+", err)
    assert.matches("asked for 3814697%.3 MiB", err)
    assert.matches("MiB free of", err)
    assert.same(ramp(100), keep:totable())
    assert.same({1, 1}, grilly.ones(2, {device = "vulkan"}):totable())
  end)

  it("synchronizes on demand", function()
    local t = grilly.full({100}, 4, {device = "vulkan"})
    grilly.synchronize("vulkan")
    assert.equal(4, t:totable()[100])
  end)
end)

-- Random fills on a Vulkan device: the same Philox stream as the CPU.
local grilly = require "grilly"
local gpu = require "gpu"

local function draw(device, fn, shape, seed)
  grilly.manual_seed(seed)
  return grilly[fn](shape, {device = device})
end

describe("Vulkan random numbers", function()
  if not gpu.available then return pending(gpu.reason) end

  it("draws uniform values bit for bit as the CPU", function()
    for _, n in ipairs { 1, 255, 4099 } do
      gpu.assert_close(draw("vulkan", "rand", {n}, 3), draw("cpu", "rand", {n}, 3))
    end
  end)

  it("draws normal values equal to the CPU's up to float32 rounding of log and cos", function()
    gpu.assert_close(draw("vulkan", "randn", {4099}, 4), draw("cpu", "randn", {4099}, 4), 1e-5, 1e-5)
  end)

  it("continues the stream across fills and devices", function()
    grilly.manual_seed(9)
    local a = grilly.rand({100}, {device = "vulkan"})
    local b = grilly.rand({50}, {device = "cpu"})
    local c = grilly.rand({70}, {device = "vulkan"})
    grilly.manual_seed(9)
    local all = grilly.rand({220}, {device = "cpu"})
    assert.same(all:narrow(1, 1, 100):totable(), a:totable())
    assert.same(all:narrow(1, 101, 50):totable(), b:totable())
    assert.same(all:narrow(1, 151, 70):totable(), c:totable())
  end)

  it("fills in place with a range or a mean and std", function()
    grilly.manual_seed(5)
    local X = grilly.empty({3000}, {device = "vulkan"}):uniform_(-2, 3)
    grilly.manual_seed(5)
    local x = grilly.empty({3000}, {device = "cpu"}):uniform_(-2, 3)
    gpu.assert_close(X, x)
    assert.is_true(X:min() >= -2 and X:max() < 3)
    grilly.manual_seed(6)
    local Y = grilly.empty({3000}, {device = "vulkan"}):normal_(10, 0.5)
    grilly.manual_seed(6)
    local y = grilly.empty({3000}, {device = "cpu"}):normal_(10, 0.5)
    gpu.assert_close(Y, y, 1e-6, 1e-5)
  end)

  it("keys the stream with the high bits of the seed too", function()
    local c = grilly.empty({8}, {device = "cpu"})
    local C = grilly.empty({8}, {device = "vulkan"})
    grilly.manual_seed(2^40 + 3)
    c:uniform_(0, 1)
    grilly.manual_seed(2^40 + 3)
    C:uniform_(0, 1)
    gpu.assert_close(C, c)
    grilly.manual_seed(3)
    assert.is_false(grilly.rand({8}, {device = "vulkan"}):totable()[1] == C:totable()[1])
  end)
end)

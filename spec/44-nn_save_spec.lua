-- Saving and loading a model's parameters through the grilly file format.
local grilly = require "grilly"
local ref = require "tensor_ref"

local nn = grilly.nn

local function mlp(opt)
  return nn.Sequential { nn.Linear(4, 5, opt), nn.ReLU(), nn.Dropout(0.1), nn.Linear(5, 2, opt) }
end

describe("nn.save and nn.load", function()
  local path = os.tmpname()
  teardown(function() os.remove(path) end)

  for _, device in ipairs(ref.devices()) do
    local opt = { device = device }

    it("round-trip every parameter of a model on " .. device, function()
      grilly.manual_seed(1)
      local a = mlp(opt)
      local state = a:state_dict()
      assert.are.equal(a.modules[1].weight, state[1].weight)
      assert.are.equal(a.modules[4].bias, state[4].bias)
      assert.is_nil(state[2])
      nn.save(a, path)
      grilly.manual_seed(2)
      local b = mlp(opt)
      assert.are_not.same(ref.read(a.modules[1].weight), ref.read(b.modules[1].weight))
      assert.are.equal(b, nn.load(b, path))
      for i, p in ipairs(a:parameters()) do
        assert.are.same(ref.read(p), ref.read(b:parameters()[i]))
        assert.are.equal(device, b:parameters()[i].device:match("^%a+"))
      end
      local x = grilly.randn(3, 4, opt)
      a:eval()
      b:eval()
      assert.are.same(ref.read(a:forward(x)), ref.read(b:forward(x)))
    end)
  end

  it("rejects a state of another architecture and changes nothing", function()
    local a = nn.Sequential { nn.Linear(4, 5), nn.Linear(5, 2) }
    nn.save(a, path)
    local b = nn.Sequential { nn.Linear(4, 5), nn.Linear(5, 3) }
    local before = ref.read(b.modules[1].weight)
    assert.has_error(function() nn.load(b, path) end,
                     "Linear(5 -> 3): shape mismatch for '2.weight': parameter 3x5 vs state 2x5")
    assert.are.same(before, ref.read(b.modules[1].weight))
    local c = nn.Sequential { nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2) }
    assert.has_error(function() nn.load(c, path) end, "Linear(5 -> 2): state '3.' must be a table, got nil")
    local d = nn.Sequential { nn.Linear(4, 5), nn.Linear(5, 2, { bias = false }) }
    nn.save(d, path)
    assert.has_error(function() nn.load(a, path) end, "Linear(5 -> 2): the state has no tensor '2.bias'")
  end)

  it("raises grilly.load's error for a missing file", function()
    local ok, err = pcall(nn.load, nn.Sequential { nn.Linear(2, 2) }, path .. ".missing")
    assert.is_false(ok)
    assert.matches("cannot open '.*%.missing' for reading", err)
  end)
end)

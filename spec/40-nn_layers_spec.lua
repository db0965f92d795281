-- grilly.nn layers: forward values against plain-Lua references, backward
-- passes against finite differences, initialisation, modes and shape errors.
local grilly = require "grilly"
local ref = require "tensor_ref"
local gc = require "gradcheck"

local nn = grilly.nn

-- x (m x k) times w^T (w is n x k) plus b, in double.
local function linear_ref(fx, fw, fb, m, n, k)
  local out = {}
  for r = 1, m do
    for j = 1, n do
      local s = fb and fb[j] or 0
      for i = 1, k do s = s + fx[(r - 1) * k + i] * fw[(j - 1) * k + i] end
      out[(r - 1) * n + j] = s
    end
  end
  return out
end

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }
  local rng = ref.rng(4040)
  local function random_tensor(shape, lo, hi) return ref.random_tensor(rng, shape, device, lo, hi) end

  describe("nn layers on " .. device, function()
    before_each(function() grilly.manual_seed(11) end)

    it("Linear computes x W^T + b over the last dimension, for 2-D and 3-D inputs", function()
      local lin = nn.Linear(4, 3, opt)
      local fw, fb = ref.read(lin.weight), ref.read(lin.bias:uniform_(-1, 1))
      local x, fx = random_tensor({ 5, 4 })
      ref.assert_tensor(lin:forward(x), linear_ref(fx, fw, fb, 5, 3, 4), { 5, 3 }, device, 1e-5, 1e-6)
      local x3, fx3 = random_tensor({ 2, 5, 4 })
      ref.assert_tensor(lin:forward(x3), linear_ref(fx3, fw, fb, 10, 3, 4), { 2, 5, 3 }, device, 1e-5, 1e-6)
      local nob = nn.Linear(4, 3, { bias = false, device = device })
      assert.is_nil(nob.bias)
      assert.are.equal(1, #nob:parameters())
      ref.assert_tensor(nob:forward(x), linear_ref(fx, ref.read(nob.weight), nil, 5, 3, 4), { 5, 3 }, device,
                        1e-5, 1e-6)
    end)

    it("Linear's gradients match finite differences, with and without bias", function()
      local lin = nn.Linear(4, 3, opt)
      lin.bias:uniform_(-1, 1)
      gc.check_module(lin, random_tensor({ 5, 4 }))
      gc.check_module(lin, random_tensor({ 2, 3, 4 }))
      gc.check_module(nn.Linear(3, 2, { bias = false, device = device }), random_tensor({ 4, 3 }))
    end)

    it("Linear accumulates parameter gradients until zero_grad", function()
      local lin = nn.Linear(3, 2, opt)
      local x, g = random_tensor({ 4, 3 }), random_tensor({ 4, 2 })
      lin:forward(x)
      lin:backward(x, g)
      local once_w, once_b = ref.read(lin.weight.grad), ref.read(lin.bias.grad)
      lin:backward(x, g)
      ref.assert_close(ref.read(lin.weight.grad), ref.map(once_w, function(v) return 2 * v end), 1e-6, 1e-7)
      ref.assert_close(ref.read(lin.bias.grad), ref.map(once_b, function(v) return 2 * v end), 1e-6, 1e-7)
      lin:zero_grad()
      assert.are.equal(0, lin.weight.grad:abs():max())
      assert.are.equal(0, lin.bias.grad:abs():max())
    end)

    it("Linear skips the input gradient when asked and still accumulates its own", function()
      local lin = nn.Linear(3, 2, opt)
      local x, g = random_tensor({ 4, 3 }), random_tensor({ 4, 2 })
      lin:forward(x)
      assert.is_nil(lin:backward(x, g, false))
      assert.is_true(lin.weight.grad:abs():max() > 0)
    end)

    it("Linear initialises with Kaiming or Xavier bounds and variances", function()
      local n_in, n_out = 400, 300
      local function stats(init)
        local w = nn.Linear(n_in, n_out, { init = init, device = device }).weight
        local mean = w:mean()
        return mean, math.sqrt((w - mean):pow(2):mean()), w:abs():max()
      end
      local kb, xb = math.sqrt(6 / n_in), math.sqrt(6 / (n_in + n_out))
      local m, s, mx = stats("kaiming")
      assert.is_true(mx <= kb and math.abs(m) < 0.01 and math.abs(s - kb / math.sqrt(3)) < 0.02 * kb)
      m, s, mx = stats("xavier")
      assert.is_true(mx <= xb and math.abs(m) < 0.01 and math.abs(s - xb / math.sqrt(3)) < 0.02 * xb)
      m, s = stats("kaiming_normal")
      assert.is_true(math.abs(s - math.sqrt(2 / n_in)) < 0.02 * math.sqrt(2 / n_in))
      m, s = stats("xavier_normal")
      assert.is_true(math.abs(s - math.sqrt(2 / (n_in + n_out))) < 0.02 * math.sqrt(2 / (n_in + n_out)))
      assert.are.equal(0, nn.Linear(3, 2, opt).bias:abs():max())
    end)

    it("ReLU, Tanh and Sigmoid match their formulas and finite differences", function()
      local maps = {
        { nn.ReLU, function(v) return v > 0 and v or 0 end },
        { nn.Tanh, math.tanh },
        { nn.Sigmoid, function(v) return 1 / (1 + math.exp(-v)) end },
      }
      for _, pair in ipairs(maps) do
        local m = pair[1]()
        -- Inputs at least 0.05 away from ReLU's kink, larger than the FD step.
        local flat = ref.map(ref.random_flat(rng, { 3, 4 }, -2, 2), function(v)
          return v >= 0 and v + 0.05 or v - 0.05
        end)
        local x = ref.tensor(flat, { 3, 4 }, device)
        ref.assert_tensor(m:forward(x), ref.map(flat, pair[2]), { 3, 4 }, device, 1e-5, 1e-6)
        gc.check_module(m, x)
      end
    end)

    it("Flatten merges dimensions into a view and restores the shape going back", function()
      local f = nn.Flatten()
      local x, fx = random_tensor({ 2, 3, 4 })
      ref.assert_tensor(f:forward(x), fx, { 2, 12 }, device)
      assert.are.same({ 6, 4 }, nn.Flatten(1, 2):forward(x):size())
      assert.are.same({ 2, 3, 4 }, nn.Flatten(-1):forward(x):size())
      gc.check_module(f, x)
      assert.has_error(function() nn.Flatten(3, 2):forward(x) end,
                       "Flatten(3, 2): cannot flatten dimensions 3 to 2 of an input of shape 2x3x4")
    end)

    it("Dropout zeroes a fraction p in training, scales the rest, and is the identity in eval", function()
      local d = nn.Dropout(0.25)
      local x = grilly.ones(200, 50, opt)
      local y = d:forward(x)
      local kept = (y:sum()) / (1 / 0.75)
      assert.is_true(math.abs(kept / 10000 - 0.75) < 0.02)
      assert.are.equal(ref.f32(1 / 0.75), y:max())
      assert.are.equal(0, y:min())
      local g = d:backward(x, grilly.ones(200, 50, opt))
      ref.assert_close(ref.read(g), ref.read(y), 0, 0, "dropout gradient is the mask")
      d:eval()
      assert.are.equal(x, d:forward(x))
      d:train()
      assert.are_not.equal(x, d:forward(x))
      gc.check_module(nn.Dropout(0.5), random_tensor({ 4, 5 }), {
        before_forward = function() grilly.manual_seed(3) end,
      })
      assert.has_error(function() nn.Dropout(1) end, "Dropout: p must be a number in [0, 1), got 1")
    end)

    it("Sequential chains forward and backward and gathers parameters in order", function()
      local model = nn.Sequential {
        nn.Linear(4, 6, opt), nn.Tanh(), nn.Linear(6, 5, opt), nn.Sigmoid(), nn.Linear(5, 3, opt),
      }
      assert.are.equal(6, #model:parameters())
      assert.are.equal(model.modules[1].weight, model:parameters()[1])
      assert.are.equal(model.modules[5].bias, model:parameters()[6])
      gc.check_module(model, random_tensor({ 3, 4 }))
      local x = random_tensor({ 3, 4 })
      local manual = x
      for _, m in ipairs(model.modules) do manual = m:forward(manual) end
      ref.assert_close(ref.read(model:forward(x)), ref.read(manual), 0, 0)
      model:eval()
      for _, m in ipairs(model.modules) do assert.is_false(m.is_training) end
      model:train()
      for _, m in ipairs(model.modules) do assert.is_true(m.is_training) end
      local s = nn.Sequential(nn.ReLU())
      assert.are.equal(s, s:add(nn.Tanh()))
      assert.are.equal(2, #s.modules)
      assert.matches("Sequential%(\n  %(1%): Linear%(4 %-> 6%)", tostring(model))
    end)

    it("names the module and the shapes in shape errors", function()
      local lin = nn.Linear(4, 3, opt)
      assert.has_error(function() lin:forward(grilly.zeros(2, 5, opt)) end,
                       "Linear(4 -> 3): expected input of shape ... x 4, got 2x5")
      lin:forward(grilly.zeros(2, 4, opt))
      assert.has_error(function() lin:backward(grilly.zeros(2, 4, opt), grilly.zeros(2, 2, opt)) end,
                       "Linear(4 -> 3): grad_output 2x2 does not match the output 2x3")
      local relu = nn.ReLU()
      relu:forward(grilly.zeros(2, 3, opt))
      assert.has_error(function() relu:backward(grilly.zeros(2, 3, opt), grilly.zeros(3, 2, opt)) end,
                       "ReLU(): grad_output 3x2 does not match the output 2x3")
      assert.has_error(function() nn.Tanh():backward(grilly.zeros(1, opt), grilly.zeros(1, opt)) end,
                       "Tanh(): backward called before forward")
      assert.has_error(function() lin:forward({}) end, "Linear(4 -> 3): input must be a grilly.Tensor, got table")
      local seq = nn.Sequential { nn.Linear(4, 3, opt), nn.Linear(2, 1, opt) }
      assert.has_error(function() seq:forward(grilly.zeros(1, 4, opt)) end,
                       "Linear(2 -> 1): expected input of shape ... x 2, got 1x3")
    end)

    it("Sequential:backward with another input raises before any gradient changes", function()
      local lin = nn.Linear(4, 2, opt)
      local seq = nn.Sequential { nn.Flatten(), lin, nn.Sigmoid() }
      local x = grilly.randn({ 3, 2, 2 }, opt)
      seq:forward(x)
      local before = lin.weight.grad:totable()
      local g = grilly.ones(3, 2, opt)
      assert.has_error(function() seq:backward({}, g) end, "Sequential: input must be a grilly.Tensor, got table")
      assert.has_error(function() seq:backward(grilly.zeros(3, 4, opt), g) end,
                       "Sequential: input 3x4 is not the shape of the last forward's input, 3x2x2")
      assert.has_error(function() seq:backward(x, grilly.ones(2, 3, opt)) end,
                       "Sequential: grad_output 2x3 does not match the output 3x2")
      assert.are.same(before, lin.weight.grad:totable())
    end)

    it("rejects bad constructor arguments", function()
      assert.has_error(function() nn.Linear(0, 3) end, "Linear: in_features must be an integer >= 1, got 0")
      assert.has_error(function() nn.Linear(2, 1.5) end, "Linear: out_features must be an integer >= 1, got 1.5")
      assert.has_error(function() nn.Linear(2, 3, { init = "lecun" }) end,
                       "Linear: option 'init' must be one of kaiming, kaiming_normal, xavier, xavier_normal (got lecun)")
      assert.has_error(function() nn.Sequential { nn.ReLU(), 5 } end, "Sequential: entry 2 is not a module (got number)")
    end)
  end)
end

-- grilly.nn losses and accuracy: values against plain-Lua references,
-- gradients against finite differences, stability and argument errors.
local grilly = require "grilly"
local ref = require "tensor_ref"
local gc = require "gradcheck"

local nn = grilly.nn

-- Mean over rows of logsumexp(row) - row[label], in double.
local function cross_entropy_ref(flat, n, c, labels)
  local total = 0
  for i = 1, n do
    local mx = -math.huge
    for j = 1, c do mx = math.max(mx, flat[(i - 1) * c + j]) end
    local s = 0
    for j = 1, c do s = s + math.exp(flat[(i - 1) * c + j] - mx) end
    total = total + math.log(s) + mx - flat[(i - 1) * c + labels[i]]
  end
  return total / n
end

for _, device in ipairs(ref.devices()) do
  local opt = { device = device }
  local rng = ref.rng(4141)
  local function random_tensor(shape, lo, hi) return ref.random_tensor(rng, shape, device, lo, hi) end

  describe("nn losses on " .. device, function()
    it("CrossEntropyLoss is the mean negative log-softmax at the labels", function()
      local ce = nn.CrossEntropyLoss()
      local x, fx = random_tensor({ 6, 4 }, -3, 3)
      local labels = { 1, 4, 2, 2, 3, 4 }
      local y = grilly.tensor(labels, opt)
      local expected = cross_entropy_ref(fx, 6, 4, labels)
      assert.is_true(math.abs(ce:forward(x, y) - expected) < 1e-5 * expected)
      -- Uniform logits give log(classes).
      assert.is_true(math.abs(ce:forward(grilly.zeros(3, 7, opt), grilly.tensor({ 1, 5, 7 }, opt)) - math.log(7)) < 1e-6)
    end)

    it("CrossEntropyLoss stays finite for logits far beyond exp's range", function()
      local ce = nn.CrossEntropyLoss()
      local x = grilly.tensor({ { 1000, 0, -1000 }, { -500, 500, 499 } }, opt)
      local y = grilly.tensor({ 2, 3 }, opt)
      local expected = cross_entropy_ref({ 1000, 0, -1000, -500, 500, 499 }, 2, 3, { 2, 3 })
      assert.is_true(math.abs(ce:forward(x, y) - expected) < 1e-4 * expected)
      local g = ref.read(ce:backward(x, y))
      for _, v in ipairs(g) do assert.is_true(v == v and math.abs(v) <= 0.5) end
    end)

    it("CrossEntropyLoss's gradient is (softmax - onehot) / batch and matches finite differences", function()
      local ce = nn.CrossEntropyLoss()
      local x, fx = random_tensor({ 5, 3 }, -2, 2)
      local labels = { 3, 1, 2, 3, 1 }
      local y = grilly.tensor(labels, opt)
      local expected = {}
      for i = 1, 5 do
        local s = 0
        for j = 1, 3 do s = s + math.exp(fx[(i - 1) * 3 + j]) end
        for j = 1, 3 do
          expected[(i - 1) * 3 + j] = (math.exp(fx[(i - 1) * 3 + j]) / s - (labels[i] == j and 1 or 0)) / 5
        end
      end
      ref.assert_tensor(ce:backward(x, y), expected, { 5, 3 }, device, 1e-5, 1e-7)
      gc.check_criterion(ce, x, y)
    end)

    it("MSELoss is the mean (or sum) of squared differences, with matching gradients", function()
      local x, fx = random_tensor({ 3, 4 })
      local t, ft = random_tensor({ 3, 4 })
      local s = 0
      for i = 1, 12 do s = s + (fx[i] - ft[i]) ^ 2 end
      local mse, sum = nn.MSELoss(), nn.MSELoss { reduction = "sum" }
      assert.is_true(math.abs(mse:forward(x, t) - s / 12) < 1e-6)
      assert.is_true(math.abs(sum:forward(x, t) - s) < 1e-5)
      local g = {}
      for i = 1, 12 do g[i] = 2 * (fx[i] - ft[i]) / 12 end
      ref.assert_tensor(mse:backward(x, t), g, { 3, 4 }, device, 1e-5, 1e-7)
      gc.check_criterion(mse, x, t)
      gc.check_criterion(sum, x, t)
    end)

    it("accuracy counts rows whose first maximum sits at the label", function()
      local logits = grilly.tensor({ { 0.1, 0.9, 0 }, { 2, 1, 0 }, { 0, 0, 5 }, { 1, 1, 0 } }, opt)
      assert.are.equal(1, nn.accuracy(logits, grilly.tensor({ 2, 1, 3, 1 }, opt)))
      assert.are.equal(0.5, nn.accuracy(logits, grilly.tensor({ 2, 2, 3, 2 }, opt)))
      assert.are.equal(0, nn.accuracy(logits, grilly.tensor({ 3, 3, 1, 3 }, opt)))
    end)

    it("reports bad labels and shapes with the module's name", function()
      local ce = nn.CrossEntropyLoss()
      local x = grilly.zeros(2, 3, opt)
      assert.has_error(function() ce:forward(x, grilly.tensor({ 1, 4 }, opt)) end,
                       "label 2 is 4, expected a class index from 1 to 3")
      assert.has_error(function() ce:forward(x, grilly.tensor({ 0, 1 }, opt)) end,
                       "label 1 is 0, expected a class index from 1 to 3")
      assert.has_error(function() ce:backward(x, grilly.tensor({ 1, 1.5 }, opt)) end,
                       "label 2 is 1.5, expected a class index from 1 to 3")
      assert.has_error(function() ce:forward(x, grilly.tensor({ 1, 2, 3 }, opt)) end,
                       "CrossEntropyLoss(): shape mismatch: logits 2x3 vs labels 3 (expected 2 labels)")
      assert.has_error(function() ce:forward(grilly.zeros(6, opt), grilly.tensor({ 1 }, opt)) end,
                       "CrossEntropyLoss(): expected logits of shape batch x classes, got 6")
      assert.has_error(function() nn.MSELoss():forward(x, grilly.zeros(3, 2, opt)) end,
                       "MSELoss(mean): shape mismatch: output 2x3 vs target 3x2")
      assert.has_error(function() nn.MSELoss { reduction = "max" } end,
                       "MSELoss: option 'reduction' must be 'mean' or 'sum', got max")
      assert.has_error(function() nn.accuracy(x, grilly.tensor({ 1 }, opt)) end,
                       "accuracy: expected logits batch x classes and as many labels, got 2x3 and 1")
    end)
  end)
end

-- Losses of grilly.nn (MSELoss, CrossEntropyLoss) and the accuracy helper.
-- A criterion's forward(output, target) returns the loss as a number and
-- backward(output, target) the gradient with respect to output.
local core = require "grilly.core"
local Module = require "grilly.nn.module"

local kernels = core.nn
local shape_str = Module.shape_str

local loss = {}

--------------------------------------------------------------------- MSELoss

local MSELoss = Module.class("MSELoss")
loss.MSELoss = MSELoss

-- MSELoss([{reduction = "mean" | "sum"}]): the mean (or sum) of the squared
-- differences over every element.
function MSELoss.new(opts)
  opts = opts or {}
  local reduction = opts.reduction or "mean"
  if reduction ~= "mean" and reduction ~= "sum" then
    error("MSELoss: option 'reduction' must be 'mean' or 'sum', got " .. tostring(reduction), 2)
  end
  return Module.instance(MSELoss, { reduction = reduction })
end

function MSELoss:describe() return string.format("MSELoss(%s)", self.reduction) end

function MSELoss:check(output, target)
  self:check_tensor(output, "output")
  self:check_tensor(target, "target")
  local so, st = shape_str(output), shape_str(target)
  if so ~= st then self:fail("shape mismatch: output %s vs target %s", so, st) end
  if self.reduction == "mean" and output:numel() == 0 then self:fail("mean of an empty output") end
end

function MSELoss:forward(output, target)
  self:check(output, target)
  local d = output - target
  local s = d:dot(d)
  return self.reduction == "mean" and s / output:numel() or s
end

function MSELoss:backward(output, target)
  self:check(output, target)
  local scale = self.reduction == "mean" and 2 / output:numel() or 2
  return (output - target):mul_(scale)
end

------------------------------------------------------------ CrossEntropyLoss

local CrossEntropyLoss = Module.class("CrossEntropyLoss")
loss.CrossEntropyLoss = CrossEntropyLoss

-- CrossEntropyLoss(): the mean over the batch of -log softmax(logits)[label],
-- computed by one fused, max-shifted kernel. Logits are batch x classes and
-- labels a 1-D tensor of 1-based class indices.
function CrossEntropyLoss.new() return Module.instance(CrossEntropyLoss) end

function CrossEntropyLoss:check(logits, labels)
  self:check_tensor(logits, "logits")
  self:check_tensor(labels, "labels")
  if logits:dim() ~= 2 then self:fail("expected logits of shape batch x classes, got %s", shape_str(logits)) end
  if labels:dim() ~= 1 or labels:size(1) ~= logits:size(1) then
    self:fail("shape mismatch: logits %s vs labels %s (expected %d labels)", shape_str(logits), shape_str(labels),
              logits:size(1))
  end
end

function CrossEntropyLoss:forward(logits, labels)
  self:check(logits, labels)
  return kernels.cross_entropy_forward(logits, labels)
end

function CrossEntropyLoss:backward(logits, labels)
  self:check(logits, labels)
  return kernels.cross_entropy_backward(logits, labels)
end

-------------------------------------------------------------------- accuracy

-- The fraction of rows of logits (batch x classes) whose largest entry is at
-- the label (1-based); ties go to the first maximum.
function loss.accuracy(logits, labels)
  if not core.is_tensor(logits) or not core.is_tensor(labels) then
    error("accuracy: logits and labels must be grilly.Tensors", 2)
  end
  if logits:dim() ~= 2 or labels:dim() ~= 1 or labels:size(1) ~= logits:size(1) or logits:size(1) == 0 then
    error(string.format("accuracy: expected logits batch x classes and as many labels, got %s and %s",
                        shape_str(logits), shape_str(labels)), 2)
  end
  -- Predicted and true classes differ by at least 1 wherever they differ.
  local wrong = (logits:argmax(2) - labels):abs_():clamp_(nil, 1):sum()
  return 1 - wrong / logits:size(1)
end

-- The accuracy of logits against labels, which grilly.train logs.
function CrossEntropyLoss:accuracy(logits, labels)
  self:check(logits, labels)
  return loss.accuracy(logits, labels)
end

return loss

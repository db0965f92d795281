-- The quadratic problems of examples 01 and 02 in the shape grilly.train
-- drives (docs/train.md): a parameter vector x, the loss
--   f(x) = 0.5 * sum_i a_i (x_i - t_i)^2
-- and noisy gradients a * (x - t) + noise, as a minibatch would give.
--   data:      one batch per step: the target t (a number or a tensor) and a
--              draw of gradient noise
--   model:     forward(t) returns the residual x - t
--   criterion: forward returns f from the residual; backward returns its
--              gradient plus the batch's noise
local grilly = require "grilly"

local quadratic = {}

-- The model whose only parameter is x (a tensor that takes a .grad).
function quadratic.model(x)
  return {
    forward = function(_, t) return x - t end,
    -- d(x - t)/dx is the identity: the gradient of the residual is x's.
    backward = function(_, _, grad) x.grad:add_(grad) end,
    parameters = function() return { x } end,
  }
end

-- The criterion with curvatures a (a tensor the size of x, or 1).
function quadratic.criterion(a)
  return {
    forward = function(_, r) return 0.5 * (a * r * r):sum() end,
    backward = function(_, r, noise) return a * r + noise end,
  }
end

-- steps batches of size-n noise with standard deviation sd; target(k) is the
-- target of batch k.
function quadratic.batches(steps, n, sd, target)
  local k = 0
  return {
    next = function()
      if k >= steps then return nil end
      k = k + 1
      return target(k), grilly.randn(n) * sd
    end,
    reset = function() k = 0 end,
    size = function() return steps end,
  }
end

return quadratic

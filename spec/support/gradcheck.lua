-- Finite-difference gradient checks for the nn specs: central differences of
-- a scalar function of a tensor's elements, against the gradients a module's
-- backward pass gives.
local grilly = require "grilly"
local ref = require "tensor_ref"

local gc = {}

-- Central differences of f() (a number) with respect to every element of t,
-- perturbed in place by about eps and restored. The step is the one float32
-- actually took, so rounding of t's elements does not bias the quotient.
function gc.numeric(t, f, eps)
  eps = eps or 1e-2
  local flat = t:view(-1)
  local g = {}
  for i = 1, t:numel() do
    local v = flat[i]
    flat[i] = v + eps
    local vp, fp = flat[i], f()
    flat[i] = v - eps
    local vm, fm = flat[i], f()
    flat[i] = v
    g[i] = (fp - fm) / (vp - vm)
  end
  return g
end

-- Checks module's backward against central differences of
-- L(x, params) = sum(w * module:forward(x)) for a fixed random w, for the
-- input and every parameter. opts: rtol, atol, eps, seed (for w), and
-- before_forward (called before every forward, e.g. to reseed dropout).
function gc.check_module(module, x, opts)
  opts = opts or {}
  local rtol, atol = opts.rtol or 1e-2, opts.atol or 2e-3
  local before = opts.before_forward or function() end
  local rng = ref.rng(opts.seed or 7)
  before()
  local out = module:forward(x)
  local w = ref.tensor(ref.random_flat(rng, out:size()), out:size(), x.device:match("^%a+"))
  module:zero_grad()
  local gx = module:backward(x, w)
  local analytic_x = ref.read(gx)
  local analytic_p = {}
  for i, p in ipairs(module:parameters()) do analytic_p[i] = ref.read(p.grad) end

  local function loss()
    before()
    return module:forward(x):dot(w)
  end
  ref.assert_close(analytic_x, gc.numeric(x, loss, opts.eps), rtol, atol, tostring(module) .. " input gradient")
  for i, p in ipairs(module:parameters()) do
    ref.assert_close(analytic_p[i], gc.numeric(p, loss, opts.eps), rtol, atol,
                     tostring(module) .. " parameter " .. i .. " gradient")
  end
  return analytic_x
end

-- Checks a criterion's backward against central differences of its forward
-- with respect to the output.
function gc.check_criterion(criterion, output, target, opts)
  opts = opts or {}
  local analytic = ref.read(criterion:backward(output, target))
  local numeric = gc.numeric(output, function() return criterion:forward(output, target) end, opts.eps)
  ref.assert_close(analytic, numeric, opts.rtol or 1e-2, opts.atol or 2e-3, tostring(criterion) .. " gradient")
end

return gc

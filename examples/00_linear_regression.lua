-- Linear regression fitted by plain gradient descent written in Lua on grilly
-- tensors: y = X w + b with noise; prints the loss as it falls and the fit,
-- and draws the loss into 00_linear_regression.png in the current directory.
-- Run from the project root after `make`:  luajit examples/00_linear_regression.lua
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"

local n, steps, lr = 512, 200, 0.1
grilly.manual_seed(42)

local true_w = grilly.tensor{{2.0}, {-3.0}, {0.5}}
local true_b = 1.5
local X = grilly.randn(n, 3)
local y = X:matmul(true_w) + true_b + grilly.randn(n, 1) * 0.1

local w, b = grilly.zeros(3, 1), 0.0
local history = { step = {}, loss = {} }
for step = 1, steps do
  local err = X:matmul(w) + b - y                  -- residuals, n x 1
  local loss = (err * err):mean()
  local grad_w = X:t():matmul(err) * (2 / n)       -- d loss / d w
  local grad_b = 2 * err:mean()                    -- d loss / d b
  w:sub_(grad_w * lr)
  b = b - lr * grad_b
  history.step[step], history.loss[step] = step, loss
  if step == 1 or step % 20 == 0 then
    print(("step %3d  loss %.6f"):format(step, loss))
  end
end

local fit = w:totable()
print(("fitted w = (%.3f, %.3f, %.3f), b = %.3f"):format(fit[1][1], fit[2][1], fit[3][1], b))
print("true   w = (2.000, -3.000, 0.500), b = 1.500")

local png, err = grilly.plot.history(history, { "loss" }, { file = "00_linear_regression.png",
                                     title = "Linear regression, gradient descent", log_y = { "loss" } })
print(png and ("wrote " .. png) or err)

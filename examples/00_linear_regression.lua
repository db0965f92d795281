-- Linear regression fitted by plain gradient descent written in Lua on grilly
-- tensors: y = X w + b with noise; prints the loss as it falls and the fit,
-- and writes the loss per step to a TSV file and a plot.
--
-- Run from the project root after `make`:  luajit examples/00_linear_regression.lua
-- (--help lists the options.)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. here .. "/../lua/?.lua;" .. here .. "/../lua/?/init.lua;" .. package.path
package.cpath = here .. "/../build/?.so;" .. package.cpath

local grilly = require "grilly"
local args = require "args"
local example = require "example"
local tsv = require "grilly.tsv"

local opts = args.parse(example.options("00_linear_regression", {
  { "steps", 200, "gradient-descent steps" },
  { "lr", 0.1, "step size" },
  { "samples", 512, "data points" },
}, { log = "per-step TSV history (loss); \"\" for none" }),
  arg, "Fits a linear regression by gradient descent written in Lua on tensors.")

grilly.set_device(opts.device)
grilly.manual_seed(42)
local n, lr = opts.samples, opts.lr

local true_w = grilly.tensor{{2.0}, {-3.0}, {0.5}}
local true_b = 1.5
local X = grilly.randn(n, 3)
local y = X:matmul(true_w) + true_b + grilly.randn(n, 1) * 0.1

local log_path = example.output(opts.log)
local log = log_path and assert(tsv.writer(log_path, { "step", "loss" }))
local w, b = grilly.zeros(3, 1), 0.0
local history = { step = {}, loss = {} }
for step = 1, opts.steps do
  local err = X:matmul(w) + b - y                  -- residuals, n x 1
  local loss = (err * err):mean()
  local grad_w = X:t():matmul(err) * (2 / n)       -- d loss / d w
  local grad_b = 2 * err:mean()                    -- d loss / d b
  w:sub_(grad_w * lr)
  b = b - lr * grad_b
  history.step[step], history.loss[step] = step, loss
  if log then log:row { step = step, loss = loss } end
  if step == 1 or step % 20 == 0 then
    print(("step %3d  loss %.6f"):format(step, loss))
  end
end
if log then log:close() end

local fit = w:totable()
print(("fitted w = (%.3f, %.3f, %.3f), b = %.3f"):format(fit[1][1], fit[2][1], fit[3][1], b))
print("true   w = (2.000, -3.000, 0.500), b = 1.500")

if log_path then example.wrote_log(log_path) end
local plot_path = example.output(opts.plot)
if plot_path then
  example.wrote_plot(grilly.plot.history(history, { "loss" }, {
    file = plot_path, title = "Linear regression, gradient descent", log_y = { "loss" } }))
end

-- Run by spec/28-optim_vulkan_spec.lua in a process of its own with
-- GRILLY_OPTIM_STAGED=1: the optimizers on Vulkan then take the staged
-- passes, whose step copies to the host and back, so it waits. Prints "ok"
-- when that holds.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local grilly = require "grilly"

local x = grilly.randn({ 100 }, { device = "vulkan" })
local opt = grilly.optim.AdamW({ x })
local g = grilly.randn({ 100 }, { device = "vulkan" })
grilly.synchronize("vulkan")
local before = grilly.stream_stats("vulkan").waits
opt:step { [x] = g }
print(grilly.stream_stats("vulkan").waits > before and "ok" or "the step did not wait: not the staged passes")

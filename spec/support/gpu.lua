-- Whether the Vulkan specs can run here: a Vulkan device must open. A spec
-- file that needs one starts its describe block with
--   if not gpu.available then return pending(gpu.reason) end
-- so that a machine without Vulkan shows the reason as a pending spec.
local grilly = require "grilly"

local gpu = {}

local ok, err = pcall(function() return grilly.zeros(1, {device = "vulkan"}) end)
gpu.available = ok
gpu.reason = ok and nil or ("no Vulkan device, Vulkan specs skipped: " .. tostring(err))
gpu.device = "vulkan"

return gpu

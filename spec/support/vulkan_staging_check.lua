-- Run by spec/30-vulkan_staging_spec.lua in a process of its own with
-- GRILLY_VULKAN_STAGING=1: tensor memory is then unmapped, as on a discrete
-- GPU, and every host transfer goes through staging. Prints "ok" when every
-- check holds, else the first failure.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("GRILLY_BUILD") or "build") .. "/?.so;" .. package.cpath
local grilly = require "grilly"

local function check(cond, what)
  if not cond then error(what, 2) end
end

local ok, err = pcall(function()
  -- round trips, one of them larger than a 16 MiB staging piece
  for _, n in ipairs { 1, 1000, 5 * 1024 * 1024 + 3 } do
    grilly.manual_seed(n)
    local c = grilly.rand({n}, {device = "cpu"})
    local v = c:to("vulkan")
    check(v:to("cpu"):dot(c) == c:dot(c), "round trip of " .. n .. " elements")
    check(v[n] == c[n] and v[1] == c[1], "element reads of " .. n .. " elements")
  end
  -- an upload into a tensor that queued work still reads, then reads back
  local x = grilly.zeros(4096, {device = "vulkan"})
  local y = x + 1
  x:copy_(grilly.full({4096}, 5, {device = "cpu"}))
  check(y:sum() == 4096 and (x + 1):sum() == 6 * 4096, "upload ordered after queued work")
  -- element writes, dot products and gathers (which upload their indices)
  x[7] = 3
  check(x[7] == 3, "element write")
  local a = grilly.arange(1, 101, {device = "vulkan"})
  check(a:dot(a) == 338350, "dot product")
  check(table.concat(a:index_select(1, {100, 1, 50}):totable(), ",") == "100,1,50", "index_select")
  check(grilly.validation_messages() == 0, "validation messages")
end)
print(ok and "ok" or ("failed: " .. tostring(err)))

-- Runs Lua code in a fresh luajit that loads this checkout's grilly (the
-- build named by GRILLY_BUILD, else build/), for specs that need a process
-- of their own: a clean heap, an environment variable, a crash or a kill.
-- The spec helpers (spec/support) are on its module path.
local child = {}

local build = os.getenv("GRILLY_BUILD") or "build"

local root
local function checkout_root()
  if not root then
    local pipe = assert(io.popen("pwd"))
    root = pipe:read("*l")
    pipe:close()
  end
  return root
end

-- Quotes s for the shell.
function child.quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The shell command running `code` with grilly loaded as the local `grilly`.
-- Module paths are absolute, so the command may run in any directory.
function child.command(code)
  local r = checkout_root()
  local prelude = ("package.path = '%s/lua/?.lua;%s/lua/?/init.lua;%s/spec/support/?.lua;' .. package.path; " ..
                   "package.cpath = '%s/%s/?.so;' .. package.cpath; local grilly = require 'grilly'; ")
                  :format(r, r, r, r, build)
  return "luajit -e " .. child.quote(prelude .. code)
end

-- Runs `code`, with `prefix` (environment assignments or a wrapper such as
-- valgrind) before the command, in directory `dir` (default: the checkout).
-- Returns the exit status and everything the child printed on stdout and
-- stderr. A Vulkan validation message from the child (GRILLY_VALIDATION=1
-- is inherited) raises, as one in this process fails the suite.
function child.run(code, prefix, dir)
  local cd = dir and ("cd " .. child.quote(dir) .. " && ") or ""
  local pipe = assert(io.popen(cd .. "env " .. (prefix or "") .. " " .. child.command(code) .. " 2>&1; echo \"exit=$?\""))
  local out = pipe:read("*a")
  pipe:close()
  local message = out:match("grilly: vulkan validation: [^\n]*")
  if message then error("the child process reported " .. message, 2) end
  return tonumber(out:match("exit=(%d+)%s*$")), (out:gsub("exit=%d+%s*$", ""))
end

return child

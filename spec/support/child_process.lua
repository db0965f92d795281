-- Runs Lua code in a fresh luajit that loads this checkout's grilly (the
-- build named by GRILLY_BUILD, else build/), for specs that need a process
-- of their own: a clean heap, an environment variable, a crash or a kill.
-- The spec helpers (spec/support) are on its module path.
local child = {}

local build = os.getenv("GRILLY_BUILD") or "build"

-- Quotes s for the shell.
function child.quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The shell command running `code` with grilly loaded as the local `grilly`.
function child.command(code)
  local prelude = ("package.path = 'lua/?.lua;lua/?/init.lua;spec/support/?.lua;' .. package.path; " ..
                   "package.cpath = '%s/?.so;' .. package.cpath; local grilly = require 'grilly'; "):format(build)
  return "luajit -e " .. child.quote(prelude .. code)
end

-- Runs `code`, with `prefix` (environment assignments or a wrapper such as
-- valgrind) before the command. Returns the exit status and everything the
-- child printed on stdout and stderr.
function child.run(code, prefix)
  local pipe = assert(io.popen("env " .. (prefix or "") .. " " .. child.command(code) .. " 2>&1; echo \"exit=$?\""))
  local out = pipe:read("*a")
  pipe:close()
  return tonumber(out:match("exit=(%d+)%s*$")), (out:gsub("exit=%d+%s*$", ""))
end

return child

-- Runs Lua code in a fresh luajit and reports whether it left memory leaked
-- at exit. Under `make test SANITIZE=1` the child runs under
-- LeakSanitizer (tools/sanitizer/luajit is first on PATH); otherwise under
-- valgrind memcheck with tools/memcheck.supp, counting definite leaks and
-- invalid accesses only (drivers keep "possibly lost" blocks of their own).
local child = require "child_process"

local leak_check = {}

local sanitized = os.getenv("GRILLY_SANITIZER_PRELOAD") ~= nil

-- Whether a checker is at hand, and why not.
function leak_check.available()
  if sanitized then return true end
  local pipe = io.popen("command -v valgrind 2>/dev/null")
  local found = pipe:read("*a")
  pipe:close()
  if found:match("%S") then return true end
  return false, "valgrind is not installed (apt-get install valgrind), leak checks skipped"
end

-- Runs `code` (with grilly loaded as the local `grilly`) in a child with the
-- environment assignments `env` (such as "GRILLY_DEVICE=cpu"). Returns true
-- when it exited cleanly with nothing reported, else false and everything
-- it printed.
function leak_check.run(code, env)
  local prefix = env or ""
  if not sanitized then
    prefix = prefix .. " valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite " ..
             "--keep-debuginfo=yes --suppressions=tools/memcheck.supp --error-exitcode=97"
  end
  local status, out = child.run(code, prefix)
  local clean = status == 0 and not out:find("LeakSanitizer", 1, true) and not out:find("ERROR SUMMARY: [1-9]")
  return clean, out
end

return leak_check

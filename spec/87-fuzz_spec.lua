-- Fuzzing the Lua API (spec/support/fuzz.lua): a seeded run of random calls
-- to every exported function and method, in a process of its own so that a
-- crash fails this spec with the calls that led to it. GRILLY_FUZZ_ITERS
-- sets the number of calls (default 20000) and GRILLY_FUZZ_SEED the seed
-- (default 1), for long runs such as GRILLY_FUZZ_ITERS=1000000.
local child = require "child_process"

local ITERS = tonumber(os.getenv("GRILLY_FUZZ_ITERS") or "") or 20000
local SEED = tonumber(os.getenv("GRILLY_FUZZ_SEED") or "") or 1

local DRIVER = [[
  local fuzz = require "fuzz"
  local devices = { "cpu" }
  if pcall(grilly.zeros, 1, { device = "vulkan" }) then devices[2] = "vulkan" end
  math.randomseed(%d)
  local log = assert(io.open("calls.log", "w"))
  local f = fuzz.new { devices = devices, log = log }
  local violations = f:run(%d)
  local calls, errors = f.calls, f.errors
  f:release()
  -- An object is finalized one cycle after what referenced it: an optimizer,
  -- then its parameters, then their gradients.
  for _ = 1, 4 do collectgarbage() end
  for _, v in ipairs(violations) do print("violation: " .. v) end
  -- Every tensor is unreachable now: a storage that an error path forgot to
  -- release would still be counted.
  for _, d in ipairs(devices) do
    local live = grilly.device_bytes(d)
    if live ~= 0 then print(("leak: %%d bytes still in use on %%s"):format(live, d)) end
  end
  print(("fuzz: %%d calls, %%d raised errors, %%d violations"):format(calls, errors, #violations))
]]

describe("fuzzing the Lua API", function()
  it(("survives %d random calls (seed %d), and failed calls change nothing"):format(ITERS, SEED), function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. child.quote(dir)) == 0)
    -- Fashion-MNIST is looked for where it is not: loading the real data set on
    -- every call that asks for it would take most of the run.
    local status, out = child.run(DRIVER:format(SEED, ITERS), "GRILLY_FASHION_MNIST=/nonexistent", dir)
    local last = ""
    local log = io.open(dir .. "/calls.log", "r")
    if log then
      local lines = {}
      for line in log:lines() do
        lines[#lines + 1] = line
        if #lines > 10 then table.remove(lines, 1) end
      end
      log:close()
      last = "\nlast calls:\n" .. table.concat(lines, "\n")
    end
    os.execute("rm -rf " .. child.quote(dir))
    local report = os.getenv("GRILLY_FUZZ_REPORT")
    if report then
      local f = assert(io.open(report, "a"))
      f:write(("seed %d: %s\n"):format(SEED, out:match("fuzz: [^\n]*") or "no summary (status " .. tostring(status) .. ")"))
      f:close()
    end
    assert.equal(0, status, out .. last)
    assert.is_nil(out:match("violation: ") or out:match("leak: "), out)
    assert.matches(("fuzz: %d calls, %%d+ raised errors, 0 violations"):format(ITERS), out)
  end)
end)

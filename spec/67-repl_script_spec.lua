-- bin/grilly without a terminal: scripts, -e, -i, piped entries, errors,
-- exit statuses, and installation by make install.
local scratch = require "scratch_files"
local write = scratch.write

-- Runs a shell command (stdin from a file holding `input`); returns the exit
-- status and everything it printed.
local function run(cmd, input)
  local inpath = os.tmpname()
  write(inpath, input or "")
  local pipe = assert(io.popen("GRILLY_HISTORY= " .. cmd .. " <" .. inpath .. " 2>&1; echo \"exit=$?\""))
  local out = pipe:read("*a")
  pipe:close()
  os.remove(inpath)
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, (out:gsub("exit=%d+%s*$", ""))
end

describe("bin/grilly", function()
  it("runs a script with its arguments in arg and ...", function()
    local script = os.tmpname()
    write(script, 'local a, b = ...\nprint(a, b, #arg, arg[0] == "' .. script .. '", grilly.version, type(plot.history))')
    local code, out = run("bin/grilly " .. script .. " one two")
    os.remove(script)
    assert.equal(0, code, out)
    assert.equal("one\ttwo\t2\ttrue\t0.1.0\tfunction\n", out)
  end)

  it("prints a script's error with a traceback of its frames and exits with 1", function()
    local script = os.tmpname()
    write(script, "local function inner() error('went wrong') end\ninner()\n")
    local code, out = run("bin/grilly " .. script)
    os.remove(script)
    assert.equal(1, code)
    assert.matches(":1: went wrong\nstack traceback:\n", out)
    assert.matches(":1: in function 'inner'", out)
    assert.matches(":2: in main chunk", out)
    assert.is_nil(out:find("grilly/repl", 1, true))
  end)

  it("reports a script that does not load", function()
    local code, out = run("bin/grilly /nonexistent/script.lua")
    assert.equal(1, code)
    assert.matches("grilly: cannot open /nonexistent/script.lua", out)
  end)

  it("runs -e code in order", function()
    local code, out = run("bin/grilly -e 'x = 20' -e 'print(x + 1)'")
    assert.equal(0, code, out)
    assert.equal("21\n", out)
  end)

  it("evaluates piped entries: values, statements, continuation lines and errors", function()
    local code, out = run("bin/grilly", table.concat({
      "1 + 2",
      "local y = 5",
      "y * 2",
      "for i = 1, 2 do",
      "  print('i', i)",
      "end",
      "error('boom')",
      "_",
      "= 7",
      "{1, 2, a = 'b'}",
      "x = ",
      "  40 + 2",
      "x",
    }, "\n") .. "\n")
    assert.equal(0, code, out)
    assert.equal(table.concat({
      "3", "10", "i\t1", "i\t2",
      "stdin:1: boom", "stack traceback:", "\t[C]: in function 'error'", "\tstdin:1: in main chunk",
      "10", "7", '{1, 2, a = "b"}', "42", "",
    }, "\n"), out)
  end)

  it("runs a script with -i and keeps its globals for the entries that follow", function()
    local script = os.tmpname()
    write(script, "answer = 41\nlocal hidden = 1\n")
    local code, out = run("bin/grilly -i " .. script, "answer + 1\nhidden\n")
    os.remove(script)
    assert.equal(0, code, out)
    assert.equal("42\nnil\n", out)
  end)

  it("rejects an unknown option with the usage", function()
    local code, out = run("bin/grilly --frobnicate")
    assert.equal(1, code)
    assert.matches("unknown option '%-%-frobnicate'", out)
    assert.matches("usage: grilly", out)
    code, out = run("bin/grilly -e")
    assert.equal(1, code)
    assert.matches("%-e needs an argument", out)
  end)

  it("is installed by make install and runs from there", function()
    local dest = os.tmpname()
    os.remove(dest)
    local code, out = run("make --no-print-directory install PREFIX=/usr/local DESTDIR=" .. dest .. " >/dev/null")
    assert.equal(0, code, out)
    local root = dest .. "/usr/local"
    code, out = run("cd / && LUA_PATH='" .. root .. "/share/lua/5.1/?.lua;" .. root .. "/share/lua/5.1/?/init.lua;;' " ..
                    "LUA_CPATH='" .. root .. "/lib/lua/5.1/?.so;;' " .. root .. "/bin/grilly " ..
                    "-e 'print(package.loaded[\"grilly.repl\"] ~= nil, grilly.version)'")
    run("rm -rf '" .. dest .. "'")
    assert.equal(0, code, out)
    assert.equal("true\t0.1.0\n", out)
  end)
end)

-- The REPL on a pseudo-terminal (tmux): typing, completion of optimizer
-- fields, Ctrl-C on a running loop, retuning, resume(), Ctrl-C at the
-- prompt, errors, history and Ctrl-D.
local function sh(cmd)
  local pipe = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = pipe:read("*a")
  pipe:close()
  return tonumber(out:match("exit=(%d+)%s*$")), (out:gsub("exit=%d+%s*$", ""))
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A terminal shows tabs as spaces up to the next multiple of 8 columns.
local function detab(s)
  return (s:gsub("([^\n]*)", function(line)
    local out = ""
    for i = 1, #line do
      local c = line:sub(i, i)
      if c == "\t" then out = out .. string.rep(" ", 8 - #out % 8) else out = out .. c end
    end
    return out
  end))
end

local WAIT = 30   -- seconds before a wait gives up (a deadline, not a measurement)

-- A REPL in its own tmux server.
local function Terminal(args, env)
  local home = os.tmpname()
  os.remove(home)
  local socket = "grilly-spec-" .. home:match("[^/]+$")
  os.execute("mkdir -p " .. home)
  local t = { socket = socket, home = home, history = home .. "/.grilly_history" }
  local vars = "HOME=" .. q(home) .. " TERM=screen"
  for k, v in pairs(env or {}) do vars = vars .. " " .. k .. "=" .. q(v) end
  local code, out = sh("tmux -L " .. socket .. " -f /dev/null new-session -d -x 160 -y 50 -s repl " ..
                       q("env " .. vars .. " bin/grilly " .. (args or "")))
  assert(code == 0, "tmux could not start (tools/deps.sh installs tmux): " .. out)
  sh("tmux -L " .. socket .. " set-option -t repl history-limit 5000")

  -- The screen and its scrollback, without the empty lines below the cursor.
  function t:screen()
    local _, out = sh("tmux -L " .. self.socket .. " capture-pane -p -J -S - -t repl")
    return (out:gsub("\n+$", ""))
  end
  function t:type(text) sh("tmux -L " .. self.socket .. " send-keys -t repl -l -- " .. q(text)) end
  function t:keys(...) sh("tmux -L " .. self.socket .. " send-keys -t repl " .. table.concat({ ... }, " ")) end
  function t:line(text) self:type(text); self:keys("Enter") end
  -- Waits until the screen matches pattern; returns the captures, or fails
  -- showing the screen.
  function t:wait(pattern, from)
    local deadline = os.time() + WAIT
    while true do
      local screen = self:screen()
      local found = { screen:match(pattern, from) }
      if #found > 0 then return unpack(found) end
      if os.time() > deadline then
        error("timed out waiting for " .. pattern .. " on the screen:\n" .. screen, 2)
      end
      os.execute("sleep 0.05")
    end
  end
  -- Types an entry and returns what it printed before the next prompt.
  function t:eval(text)
    local before = #self:screen()
    self:line(text)
    local out = self:wait("\n> " .. text:gsub("%p", "%%%0") .. "\n(.-)> $", before - 2)
    return (out:gsub("\n$", ""))
  end
  function t:alive()
    return sh("tmux -L " .. self.socket .. " has-session -t repl >/dev/null") == 0
  end
  function t:close()
    sh("tmux -L " .. self.socket .. " kill-server")
    os.execute("rm -rf " .. q(self.home))
  end
  t:wait("> $")
  return t
end

describe("bin/grilly on a terminal", function()
  local term
  after_each(function() if term then term:close(); term = nil end end)

  it("evaluates expressions and keeps locals and globals between entries", function()
    term = Terminal()
    assert.equal("3", term:eval("1 + 2"))
    assert.equal('{1, 2, a = "b"}', term:eval("{1, 2, a = 'b'}"))
    assert.equal("", term:eval("local k = 6"))
    assert.equal("42", term:eval("k * 7"))
    assert.equal("grilly.Tensor(2, float32, cpu)\n  1 1", term:eval("grilly.ones(2, {device = 'cpu'})"))
  end)

  it("completes optimizer fields after opt. and sets the completed field", function()
    term = Terminal("-i spec/fixtures/repl_session.lua")
    term:type("opt.cur")
    term:keys("Tab", "Tab")
    term:wait("opt%.current_lr +opt%.current_surprise +opt%.current_surprise_gain")
    term:keys("C-u")
    term:type("opt.trauma_th")
    term:keys("Tab")
    term:wait("> opt%.trauma_threshold$")
    term:line(" = 0.25")
    assert.equal("0.25", term:eval("opt.trauma_threshold"))
  end)

  it("pauses a running loop on Ctrl-C, takes a new hyperparameter and resumes from the same step", function()
    term = Terminal("-i spec/fixtures/repl_session.lua")
    term:line("loop:run(200)")
    term:wait("step [1-9]%d*/200 ")
    term:keys("C-c")
    local paused = tonumber(term:wait("paused at step (%d+); resume%(%) or loop:run%(%) continues"))
    assert.is_true(paused > 0 and paused < 200)
    term:wait("\n" .. detab(paused .. "\tpaused") .. "\n> $")
    assert.equal(detab(paused .. "\t" .. paused), term:eval("loop.step, opt.step_count"))
    assert.equal("", term:eval("opt.hyper_lr = 0.02"))
    term:line("resume()")
    term:wait("\n" .. detab("200\tdone") .. "\n> $")
    assert.equal(detab("200\t200"), term:eval("loop.step, opt.step_count"))
    assert.equal("0.02", term:eval("opt.hyper_lr"))
    -- Every step ran once, in order, and the new value applied from the step after the pause.
    assert.equal("true", term:eval("(function() for i = 1, 200 do if loop.history.step[i] ~= i then return false end end return #loop.history.step == 200 end)()"))
    assert.equal(detab("0.01\t0.02"), term:eval("hyper_seen[" .. paused .. "], hyper_seen[" .. (paused + 1) .. "]"))
  end)

  it("clears the line on Ctrl-C at the prompt, and in a continuation", function()
    term = Terminal()
    term:type("undefined_thing +")
    term:keys("C-c")
    term:wait("> undefined_thing %+%^C\n> $")
    assert.equal("2", term:eval("1 + 1"))
    term:line("for i = 1, 2 do")
    term:wait(">> $")
    term:keys("C-c")
    term:wait(">> %^C\n> $")
    assert.equal("5", term:eval("2 + 3"))
  end)

  it("interrupts a long computation on Ctrl-C and keeps its results so far", function()
    term = Terminal()
    term:line("n = 0; while true do n = n + grilly.zeros(1):numel() end")
    os.execute("sleep 0.2")
    term:keys("C-c")
    term:wait("\n%^C\n[^\n]*interrupted!\nstack traceback:\n")
    assert.equal("true", term:eval("n > 0"))
    -- Ctrl-C works again for the next entry.
    term:line("while true do n = n + grilly.zeros(1):numel() end")
    os.execute("sleep 0.2")
    term:keys("C-c")
    term:wait("interrupted!.*interrupted!")
    assert.equal("2", term:eval("1 + 1"))
  end)

  it("prints an error with a traceback and carries on", function()
    term = Terminal()
    local out = term:eval("error('boom')")
    assert.matches("^stdin:1: boom\nstack traceback:\n", out)
    assert.matches("stdin:1: in main chunk", out)
    assert.equal("2", term:eval("1 + 1"))
  end)

  it("keeps history in ~/.grilly_history and exits on Ctrl-D", function()
    term = Terminal()
    term:eval("history_probe = 1")
    term:keys("C-d")
    local deadline = os.time() + WAIT
    while term:alive() and os.time() <= deadline do os.execute("sleep 0.05") end
    assert.is_false(term:alive())
    local f = assert(io.open(term.history))
    assert.matches("history_probe = 1", f:read("*a"))
    f:close()
  end)

  it("falls back to plain input with a notice when readline cannot be loaded", function()
    term = Terminal(nil, { GRILLY_READLINE = "libnonexistent-readline.so" })
    term:wait("GNU readline is not available .*libreadline8")
    assert.equal("3", term:eval("1 + 2"))
  end)
end)

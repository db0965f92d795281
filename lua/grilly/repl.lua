-- grilly.repl: the interactive prompt and script runner behind bin/grilly.
-- See docs/repl.md.
local pretty = require "grilly.repl.pretty"
local complete = require "grilly.repl.complete"
local readline = require "grilly.repl.readline"
local tty = require "grilly.tty"

local repl = {}

local USAGE = [==[
usage: grilly [options] [script.lua [args...]]
  (no script)      start the interactive prompt
  script.lua args  run the script with arg = {[0] = "script.lua", args...}
  -i               run the script (or -e code), then stay at the prompt
  -e code          run code (may be repeated)
  -h, --help       show this help
  -v, --version    show the version
]==]

local TRACEBACK_LINES = 10

-- The environment that typed code and scripts run in: globals land here,
-- and everything of _G shows through.
function repl.environment()
  local env = setmetatable({}, { __index = _G })
  local ok, grilly = pcall(require, "grilly")
  if ok then
    env.grilly = grilly
    env.optim = grilly.optim
    env.plot = grilly.plot
    env.train = grilly.train
  else
    io.stderr:write("grilly: cannot load grilly: ", tostring(grilly), "\n")
    env.plot = require "grilly.plot"
    env.train = require "grilly.train"
  end
  -- resume(): continue the loop that ran last (after Ctrl-C or loop:pause()).
  env.resume = function(...)
    local loop = env.train.last()
    if not loop then error("resume: no training loop has run yet", 2) end
    return loop:run(...)
  end
  return env
end

-- The message and the frames of the code that failed, without the REPL's own.
local function error_text(err)
  local msg
  if type(err) == "string" then
    msg = err
  else
    local mt = getmetatable(err)
    msg = (mt and mt.__tostring) and tostring(err) or ("(error object is a " .. type(err) .. " value)")
  end
  local lines = {}
  local tb = debug.traceback("", 2)
  for line in tb:gmatch("[^\n]+") do
    if line:find("grilly/repl", 1, true) or line:find("in function 'xpcall'", 1, true) then break end
    line = line:gsub("in function 'entry'$", "in main chunk")
    if not line:find("^stack traceback:") and line:match("%S") then lines[#lines + 1] = line end
    if #lines >= TRACEBACK_LINES then break end
  end
  if #lines == 0 then return msg end
  return msg .. "\nstack traceback:\n" .. table.concat(lines, "\n")
end

-- Runs fn(...) in protected mode: true, results... or false, error text.
-- fn is called, not tail-called, so that the traceback can be cut at this
-- file's frame.
local function protected(entry, ...)
  local args, n = { ... }, select("#", ...)
  return xpcall(function()
    local results = { n = 0 }
    results.n, results.list = (function(...) return select("#", ...), { ... } end)(entry(unpack(args, 1, n)))
    return unpack(results.list, 1, results.n)
  end, error_text)
end

-- Typed `local x = ...` at the start of an entry becomes a global of the
-- session, so that it survives to the next entry.
local function globalize(src)
  local s = src:gsub("^(%s*)local%s+function%s+", "%1function ", 1)
  if s ~= src then return s end
  local lead, names, rest = src:match("^(%s*)local%s+([%a_][%w_%s,]*)(.*)$")
  if not lead then return src end
  if rest:match("^=") then return lead .. names .. rest end
  if rest:match("^%s*$") or rest:match("^;") then return lead .. names:gsub("%s+$", "") .. " = nil" .. rest end
  return src
end

-- Compiles an entry: as an expression first (so that its value shows), else
-- as statements. Returns the function, or nil, message, incomplete.
local function compile(src, env)
  -- The expression is an argument rather than a tail call, so that an error
  -- raised by a function it calls still reports "stdin:1:".
  local fn = loadstring("return (function(...) return ... end)(" .. src .. "\n)", "=stdin")
  if not fn then
    local err
    fn, err = loadstring(globalize(src), "=stdin")
    if not fn then return nil, err, err:match("<eof>'?$") ~= nil end
  end
  setfenv(fn, env)
  return fn
end

local function pack(...) return { n = select("#", ...), ... } end

-- Error text goes to stderr, after whatever the code printed to stdout.
local function show_error(text)
  tty.end_line()
  -- After Ctrl-C the terminal has echoed ^C on the current line.
  if text:find("interrupted!", 1, true) then io.stdout:write("\n") end
  io.stdout:flush()
  io.stderr:write(text, "\n")
  io.stderr:flush()
end

local function show_results(ok, ...)
  if not ok then return show_error((...)) end
  local n = select("#", ...)
  if n == 0 then return end
  local parts, multiline = {}, false
  for i = 1, n do
    parts[i] = pretty.format((select(i, ...)))
    if parts[i]:find("\n") then multiline = true end
  end
  local text = table.concat(parts, multiline and "\n" or "\t")
  io.write(text, text:sub(-1) == "\n" and "" or "\n")
  io.flush()
end

-- Runs one compiled entry with Ctrl-C able to interrupt it, then puts the
-- terminal back the way a loop may have left it.
local function run_entry(session, fn)
  tty.set_sigint_handler(session.lua_sigint)
  local result = pack(protected(fn))
  tty.set_sigint_handler("ignore")
  tty.release_all()
  tty.end_line()
  if result[1] and result.n > 1 then session.env._ = result[2] end
  show_results(unpack(result, 1, result.n))
end

local function history_path()
  local path = os.getenv("GRILLY_HISTORY")
  if path then return path ~= "" and path or nil end
  local home = os.getenv("HOME")
  return home and (home .. "/.grilly_history") or nil
end

-- The prompt loop: reads entries until end of input (Ctrl-D).
function repl.interact(session)
  local env = session.env
  local reader = readline.new{
    history = history_path(),
    complete = function(word) return complete.candidates(word, env) end,
    word_breaks = complete.word_breaks,
    plain = not tty.isatty(0),
  }
  if tty.isatty(0) then
    if reader.notice then io.stderr:write(reader.notice, "\n") end
    local grilly = rawget(env, "grilly")
    io.write("grilly ", grilly and grilly.version or "", " on ", jit and jit.version or _VERSION,
             ". Loaded: grilly, optim, plot, train. resume() continues a paused loop; Ctrl-D exits.\n")
  end
  local pending = nil
  while true do
    local line = reader:read(pending and ">> " or "> ")
    if line == nil then
      if tty.isatty(0) then io.write("\n") end
      break
    end
    if reader.interrupted then
      io.write("\n")
      pending = nil
    else
      local src = pending and (pending .. "\n" .. line) or line
      if src:match("^%s*=") then src = "return " .. src:gsub("^%s*=", "", 1) end
      if src:match("%S") then
        local fn, err, incomplete = compile(src, env)
        if fn then
          pending = nil
          run_entry(session, fn)
        elseif incomplete then
          pending = src
        else
          pending = nil
          show_error(err)
        end
      else
        pending = pending and src or nil
      end
    end
  end
end

-- Runs a script file (or "-" for stdin) in the session's environment.
-- Returns true, or false after printing the error.
local function run_script(session, path, args)
  local fn, err
  if path == "-" then
    fn, err = loadstring(io.read("*a"), "=stdin")
  else
    fn, err = loadfile(path)
  end
  if not fn then
    show_error("grilly: " .. err)
    return false
  end
  setfenv(fn, session.env)
  local script_arg = { [0] = path }
  for i, a in ipairs(args) do script_arg[i] = a end
  session.env.arg = script_arg
  tty.set_sigint_handler(session.lua_sigint)
  local ok, err = protected(fn, unpack(args))
  tty.release_all()
  if not ok then show_error(err) end
  tty.end_line()
  return ok
end

local function run_code(session, code)
  local fn, err = loadstring(code, "=(command line)")
  if not fn then
    show_error("grilly: " .. err)
    return false
  end
  setfenv(fn, session.env)
  tty.set_sigint_handler(session.lua_sigint)
  local ok, perr = protected(fn)
  tty.release_all()
  if not ok then show_error(perr) end
  tty.end_line()
  return ok
end

-- bin/grilly's entry point; returns the process exit status.
function repl.main(argv)
  local interactive, codes, script, script_args = false, {}, nil, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "-i" then
      interactive = true
    elseif a == "-e" then
      if argv[i + 1] == nil then
        io.stderr:write("grilly: -e needs an argument\n", USAGE)
        return 1
      end
      codes[#codes + 1] = argv[i + 1]
      i = i + 1
    elseif a == "-h" or a == "--help" then
      io.write(USAGE)
      return 0
    elseif a == "-v" or a == "--version" then
      local ok, grilly = pcall(require, "grilly")
      io.write("grilly ", ok and grilly.version or "(not loadable)", "\n")
      return 0
    elseif a == "--" then
      script = argv[i + 1]
      for k = i + 2, #argv do script_args[#script_args + 1] = argv[k] end
      break
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      io.stderr:write("grilly: unknown option '", a, "'\n", USAGE)
      return 1
    else
      script = a
      for k = i + 1, #argv do script_args[#script_args + 1] = argv[k] end
      break
    end
    i = i + 1
  end

  local session = {
    env = repl.environment(),
    -- The SIGINT handler the interpreter runs us under (LuaJIT's, which turns
    -- Ctrl-C into an "interrupted!" error); reinstalled for each entry.
    lua_sigint = tty.sigint_handler(),
  }
  interactive = interactive or (not script and #codes == 0)
  -- At a prompt, Ctrl-C pauses a running loop instead of ending the program.
  session.env.train.catch_interrupt = interactive
  local ok = true
  for _, code in ipairs(codes) do
    ok = run_code(session, code) and ok
  end
  if script then ok = run_script(session, script, script_args) and ok end
  if interactive then
    repl.interact(session)
    return 0
  end
  return ok and 0 or 1
end

return repl

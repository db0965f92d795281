-- Line input for the REPL: GNU readline through the FFI (editing, history
-- file, tab completion, Ctrl-C clearing the line), or plain io.read when
-- readline cannot be loaded.
local tty = require "grilly.tty"

local readline = {}

local ffi_ok, ffi = pcall(require, "ffi")

-- Tried in order; GRILLY_READLINE names the one library to load instead.
local LIBRARIES = { "libreadline.so.8", "libreadline.so", "libreadline.so.7" }

local function load_library()
  if not ffi_ok then return nil, "no FFI (grilly's REPL needs LuaJIT)" end
  ffi.cdef [[
  char *readline(const char *prompt);
  void add_history(const char *line);
  int read_history(const char *filename);
  int append_history(int n, const char *filename);
  int history_truncate_file(const char *filename, int lines);
  typedef char *grilly_rl_compentry(const char *text, int state);
  typedef char **grilly_rl_completion(const char *text, int start, int end);
  typedef int grilly_rl_command(int count, int key);
  typedef void grilly_rl_vintfunc(int);
  char **rl_completion_matches(const char *text, grilly_rl_compentry *entry);
  extern grilly_rl_completion *rl_attempted_completion_function;
  extern int rl_attempted_completion_over;
  extern int rl_completion_suppress_append;
  extern const char *rl_readline_name;
  extern const char *rl_completer_word_break_characters;
  extern grilly_rl_vintfunc *rl_prep_term_function;
  void rl_prep_terminal(int meta_flag);
  int rl_bind_key(int key, grilly_rl_command *f);
  void rl_replace_line(const char *text, int clear_undo);
  void rl_redisplay(void);
  int rl_variable_bind(const char *name, const char *value);
  extern int rl_done;
  extern int rl_point;
  extern int rl_end;
  char *strdup(const char *s);
  void free(void *p);
  ]]
  local errors = {}
  local names = LIBRARIES
  if os.getenv("GRILLY_READLINE") then names = { os.getenv("GRILLY_READLINE") } end
  for _, name in ipairs(names) do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
    errors[#errors + 1] = tostring(lib)
  end
  return nil, errors[1]
end

-- A reader with :read(prompt) -> line, or nil at end of input, plus
-- `interrupted` (true when the last read ended with Ctrl-C) and
-- `notice` (why editing is off, when it is). opts: history (file path),
-- complete (function(word) -> list of completions), plain (force io.read).
function readline.new(opts)
  local reader = { interrupted = false }
  local lib, why
  if not opts.plain then lib, why = load_library() end
  if not lib then
    if not opts.plain then
      reader.notice = "grilly: GNU readline is not available (" .. tostring(why) .. "); line editing, " ..
                      "history and completion are off. Install the Debian package libreadline8."
    end
    local prompts = tty.isatty(0)
    function reader:read(prompt)
      self.interrupted = false
      if prompts then io.write(prompt); io.flush() end
      -- Ctrl-C here would otherwise end the process; the terminal still
      -- discards the line typed so far.
      tty.set_sigint_handler("ignore")
      local line = io.read("*l")
      return line
    end
    return reader
  end

  local C = ffi.C
  -- Callbacks are kept in the reader so that they live as long as it does.
  local anchors = {}
  reader._anchors = anchors
  anchors.name = "grilly"
  lib.rl_readline_name = anchors.name
  anchors.breaks = ffi.new("char[?]", #(opts.word_breaks or " \t\n") + 1, opts.word_breaks or " \t\n")
  lib.rl_completer_word_break_characters = anchors.breaks

  -- Ctrl-C arrives as a key (see prep below): end the read with an empty line.
  anchors.ctrl_c = ffi.cast("grilly_rl_command *", function()
    lib.rl_point = lib.rl_end
    lib.rl_redisplay()
    io.write("^C")
    io.flush()
    lib.rl_replace_line("", 0)
    reader.interrupted = true
    lib.rl_done = 1
    return 0
  end)
  lib.rl_bind_key(3, anchors.ctrl_c)
  anchors.prep = ffi.cast("grilly_rl_vintfunc *", function(meta)
    lib.rl_prep_terminal(meta)
    tty.disable_interrupt_key()
  end)
  lib.rl_prep_term_function = anchors.prep

  if opts.complete then
    local current, index = {}, 0
    anchors.entry = ffi.cast("grilly_rl_compentry *", function(_, state)
      if state == 0 then index = 0 end
      index = index + 1
      local m = current[index]
      if m == nil then return nil end
      return C.strdup(m)
    end)
    anchors.attempt = ffi.cast("grilly_rl_completion *", function(text)
      lib.rl_attempted_completion_over = 1
      lib.rl_completion_suppress_append = 1
      local ok, list = pcall(opts.complete, ffi.string(text))
      current = ok and list or {}
      return lib.rl_completion_matches(text, anchors.entry)
    end)
    lib.rl_attempted_completion_function = anchors.attempt
    -- A second Tab lists the candidates when the first could add nothing
    -- (before ~/.inputrc is read, so that a user's setting wins).
    lib.rl_variable_bind("show-all-if-unmodified", "on")
  end

  local history = opts.history
  if history then
    local f = io.open(history, "a")
    if f then
      f:close()
      lib.history_truncate_file(history, 1000)
      lib.read_history(history)
    else
      history = nil
    end
  end

  function reader:read(prompt)
    self.interrupted = false
    tty.set_sigint_handler("ignore")
    local p = lib.readline(prompt)
    if p == nil then return nil end
    local line = ffi.string(p)
    C.free(p)
    if self.interrupted then return "" end
    if line:match("%S") then
      lib.add_history(line)
      if history then lib.append_history(1, history) end
    end
    return line
  end
  -- readline calls back into Lua; keep the calling function interpreted.
  require("jit").off(reader.read)
  return reader
end

return readline

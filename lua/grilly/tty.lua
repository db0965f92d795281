-- Terminal and signal helpers on LuaJIT's FFI (Linux): isatty, a monotonic
-- clock, watching for Ctrl-C between training steps, and the SIGINT handler.
-- Without the FFI (or off Linux) nothing is a terminal and nothing is caught.
local tty = {}

local bit = require "bit"
local ok_ffi, ffi = pcall(require, "ffi")
local C
if ok_ffi and ffi.os == "Linux" then
  ffi.cdef [[
  int isatty(int fd);
  struct grilly_timespec { long tv_sec; long tv_nsec; };
  int clock_gettime(int clk_id, struct grilly_timespec *tp);
  struct grilly_termios {
    unsigned int c_iflag, c_oflag, c_cflag, c_lflag;
    unsigned char c_line;
    unsigned char c_cc[32];
    unsigned int c_ispeed, c_ospeed;
  };
  int tcgetattr(int fd, struct grilly_termios *t);
  int tcsetattr(int fd, int when, const struct grilly_termios *t);
  long read(int fd, void *buf, size_t n);
  typedef void (*grilly_sighandler)(int);
  grilly_sighandler signal(int sig, grilly_sighandler handler);
  ]]
  C = ffi.C
end

-- termios constants of Linux (the same on every Linux architecture LuaJIT runs on).
local ICANON, ECHO = 2, 8
local VINTR, VTIME, VMIN = 0, 5, 6
local TCSANOW = 0
local CLOCK_MONOTONIC = 1
local SIGINT = 2

function tty.isatty(fd)
  return C ~= nil and C.isatty(fd) == 1
end

-- Seconds from an arbitrary start, never going backwards.
function tty.now()
  if not C then return os.time() end
  local ts = ffi.new("struct grilly_timespec")
  C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Output streams that hold an unfinished progress line (see grilly.train), so
-- that whoever writes next can end it first.
tty.open_line = nil

function tty.end_line()
  if tty.open_line then
    tty.open_line:write("\n")
    tty.open_line = nil
  end
end

local watchers = {}

-- While a watcher is held, Ctrl-C on the terminal of stdin sends no SIGINT:
-- it arrives as the byte 3, which watcher:pending() looks for, so a loop can
-- stop between steps with its state intact. Typed input is neither echoed nor
-- kept. Returns nil when stdin is not a terminal.
function tty.watch_interrupt()
  if not tty.isatty(0) then return nil end
  local saved = ffi.new("struct grilly_termios")
  if C.tcgetattr(0, saved) ~= 0 then return nil end
  local raw = ffi.new("struct grilly_termios")
  ffi.copy(raw, saved, ffi.sizeof(raw))
  raw.c_lflag = bit.band(raw.c_lflag, bit.bnot(ICANON + ECHO))
  raw.c_cc[VINTR] = 0
  raw.c_cc[VMIN] = 0
  raw.c_cc[VTIME] = 0
  if C.tcsetattr(0, TCSANOW, raw) ~= 0 then return nil end
  local buf = ffi.new("uint8_t[64]")
  local w = {}
  function w:pending()
    local seen = false
    while true do
      local n = tonumber(C.read(0, buf, 64))
      if n <= 0 then break end
      for i = 0, n - 1 do if buf[i] == 3 then seen = true end end
    end
    return seen
  end
  function w:release()
    if watchers[self] then
      C.tcsetattr(0, TCSANOW, saved)
      watchers[self] = nil
    end
  end
  watchers[w] = true
  return w
end

-- Restores the terminal from every watcher still held (after an error
-- escaped the loop that held it).
function tty.release_all()
  for w in pairs(watchers) do w:release() end
end

-- Turns off the interrupt character of the terminal of stdin until the
-- terminal settings are next replaced (readline calls this after preparing
-- the terminal, so that Ctrl-C reaches it as a key).
function tty.disable_interrupt_key()
  if not tty.isatty(0) then return end
  local t = ffi.new("struct grilly_termios")
  if C.tcgetattr(0, t) ~= 0 then return end
  t.c_cc[VINTR] = 0
  C.tcsetattr(0, TCSANOW, t)
end

-- The current SIGINT handler (a cdata pointer), or nil without the FFI.
function tty.sigint_handler()
  if not C then return nil end
  local old = C.signal(SIGINT, ffi.cast("grilly_sighandler", 1))
  C.signal(SIGINT, old)
  return old
end

-- Installs a handler returned by sigint_handler, or "ignore".
function tty.set_sigint_handler(handler)
  if not C or handler == nil then return end
  if handler == "ignore" then handler = ffi.cast("grilly_sighandler", 1) end
  C.signal(SIGINT, handler)
end

return tty

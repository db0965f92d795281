-- Run by tools/sanitizer/luajit before the script: removes LD_PRELOAD from
-- the environment (this process already has the runtime), so that the
-- programs the specs start other than luajit run without it.
local ffi = require "ffi"
ffi.cdef [[ int grilly_sanitizer_unsetenv(const char *name) __asm__("unsetenv"); ]]
ffi.C.grilly_sanitizer_unsetenv("LD_PRELOAD")

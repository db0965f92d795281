-- Run by tools/sanitizer/luajit before the script. It removes LD_PRELOAD
-- from the environment (this process already has the runtime) and loads the
-- libraries listed in GRILLY_SANITIZER_KEEP so that they stay mapped until
-- exit: the Vulkan loader unloads its driver at exit and LuaJIT unloads what
-- ffi.load opened, and memory reachable only from an unloaded library's
-- globals would read as leaked. RTLD_LOCAL keeps their symbols from
-- interposing on other libraries (LLVM's libedit would on readline's).
local ffi = require "ffi"
ffi.cdef [[
int grilly_sanitizer_unsetenv(const char *name) __asm__("unsetenv");
void *grilly_sanitizer_dlopen(const char *file, int mode) __asm__("dlopen");
]]
ffi.C.grilly_sanitizer_unsetenv("LD_PRELOAD")
local RTLD_NOW, RTLD_NODELETE = 2, 0x1000
for lib in (os.getenv("GRILLY_SANITIZER_KEEP") or ""):gmatch("%S+") do
  ffi.C.grilly_sanitizer_dlopen(lib, RTLD_NOW + RTLD_NODELETE)
end

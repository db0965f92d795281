rockspec_format = "3.0"
package = "grilly"
version = "scm-1"
source = {
   url = "git+https://github.com/grilly-lua/grilly.git",
}
description = {
   summary = "Tensors and hypergradient optimizers for LuaJIT, on the CPU and on Vulkan GPUs",
   detailed = [[
grilly is a Lua-scriptable training environment: a C runtime owns float32
tensors and Vulkan compute dispatch, and exports tensors and the optimizers
AdamW, HypergradientAdamW and AutoHypergradientAdamW to LuaJIT.
]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.2",
}
external_dependencies = {
   OPENBLAS = { library = "openblas" },
   ZLIB = { header = "zlib.h", library = "z" },
   VULKAN = { header = "vulkan/vulkan.h" },
}
build = {
   type = "make",
   makefile = "Makefile",
   build_variables = {
      LUA_INCDIR = "$(LUA_INCDIR)",
   },
   install_variables = {
      PREFIX = "$(PREFIX)",
      INST_LIBDIR = "$(LIBDIR)",
      INST_LUADIR = "$(LUADIR)",
      INST_BINDIR = "$(BINDIR)",
   },
}
test = {
   type = "command",
   command = "busted --lua=luajit",
}

# grilly: build the C core and Lua binding into build/grilly/core.so.
# Honours CC, CFLAGS, LDFLAGS, LUA_INCDIR, PREFIX and LuaRocks' INST_* variables.

CC         ?= gcc
LUA        ?= luajit
LUA_INCDIR ?= $(or $(shell pkg-config --variable=includedir luajit 2>/dev/null),/usr/include/luajit-2.1)
PREFIX     ?= /usr/local
INST_LIBDIR ?= $(PREFIX)/lib/lua/5.1
INST_LUADIR ?= $(PREFIX)/share/lua/5.1
INST_BINDIR ?= $(PREFIX)/bin

CFLAGS     ?= -O3 -march=x86-64-v2 -g
WARNINGS   := -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration
CPPFLAGS   := -Iinclude -Isrc -I$(LUA_INCDIR) -Ibuild/gen -D_GNU_SOURCE
BLAS_LIBS  ?= -lopenblas
LIBS       := $(BLAS_LIBS) -lz -lm

ifeq ($(SANITIZE),1)
CFLAGS     += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=address,undefined
endif

BUILD   := build
SRCS    := $(wildcard src/*.c)
OBJS    := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
MODULE  := $(BUILD)/grilly/core.so

.PHONY: all test demo install clean deps check-deps bench
all: $(MODULE)

$(MODULE): $(OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(OBJS) $(LDFLAGS) $(LIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -fPIC $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

-include $(OBJS:.o=.d)

# Installs missing Debian/Ubuntu packages (apt-get, with sudo when not root).
deps:
	@sh tools/deps.sh

check-deps:
	@sh tools/deps.sh --check >/dev/null 2>&1 || sh tools/deps.sh

test: check-deps
	@$(MAKE) --no-print-directory all
	busted --lua=$(LUA)

demo: check-deps
	@$(MAKE) --no-print-directory all
	$(LUA) -e 'package.path="lua/?.lua;lua/?/init.lua;"..package.path; package.cpath="build/?.so;"..package.cpath' examples/00_linear_regression.lua

install: all
	install -d $(DESTDIR)$(INST_LIBDIR)/grilly $(DESTDIR)$(INST_LUADIR)/grilly
	install -m 755 $(MODULE) $(DESTDIR)$(INST_LIBDIR)/grilly/core.so
	install -m 644 lua/grilly/*.lua $(DESTDIR)$(INST_LUADIR)/grilly/

clean:
	rm -rf $(BUILD)

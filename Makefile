# grilly: build the C core and Lua binding into build/grilly/core.so.
# Honours CC, CFLAGS, LDFLAGS, LUA_INCDIR, PREFIX and LuaRocks' INST_* variables.

CC         ?= gcc
LUA        ?= luajit
LUA_INCDIR ?= $(or $(shell pkg-config --variable=includedir luajit 2>/dev/null),/usr/include/luajit-2.1)
PREFIX     ?= /usr/local
INST_LIBDIR ?= $(PREFIX)/lib/lua/5.1
INST_LUADIR ?= $(PREFIX)/share/lua/5.1
INST_BINDIR ?= $(PREFIX)/bin

CFLAGS     ?= -O3 -g
WARNINGS   := -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration
# errno of math calls is never read; without it sqrtf loops can vectorise.
CODEGEN    := -fno-math-errno
CPPFLAGS   := -Iinclude -Isrc -I$(LUA_INCDIR) -Ibuild/gen -D_GNU_SOURCE
BLAS_LIBS  ?= -lopenblas
LIBS       := $(BLAS_LIBS) -lz -lm

ifeq ($(SANITIZE),1)
CFLAGS     += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=address,undefined
endif

# Runs scripts against this checkout's build rather than an installed rock.
RUN_ENV := LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='build/?.so;;'

BUILD   := build
SRCS    := $(wildcard src/*.c)
OBJS    := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
MODULE  := $(BUILD)/grilly/core.so

# Vulkan kernels: shaders/NAME.comp is compiled by glslc into SPIR-V emitted
# as a C initializer (build/gen/shaders/NAME.spv.inc, with a depfile so that
# edits to included shaders/*.glsl rebuild it) and embedded through the
# generated table build/gen/gr_vk_shaders.[ch]. The module loads Vulkan at
# run time, so only building needs glslc and the Vulkan headers.
GLSLC        ?= glslc
GLSLCFLAGS   ?= -O
SHADER_NAMES := $(patsubst shaders/%.comp,%,$(sort $(wildcard shaders/*.comp)))
SPV_INCS     := $(SHADER_NAMES:%=$(BUILD)/gen/shaders/%.spv.inc)
GEN          := $(BUILD)/gen
OBJS         += $(BUILD)/obj/gen/gr_vk_shaders.o

.PHONY: all mpi test demo install clean deps check-deps bench-cpu bench-optim-cpu bench-gpu bench-distributed FORCE
all: $(MODULE)

$(MODULE): $(OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(OBJS) $(LDFLAGS) $(LIBS)

$(BUILD)/obj/%.o: src/%.c | $(GEN)/gr_vk_shaders.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -fPIC $(CPPFLAGS) $(CFLAGS) $(CODEGEN) $(WARNINGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/gen/gr_vk_shaders.o: $(GEN)/gr_vk_shaders.c $(GEN)/gr_vk_shaders.h $(SPV_INCS)
	@mkdir -p $(@D)
	$(CC) -std=c11 -fPIC $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -c $< -o $@

$(GEN)/shaders/%.spv.inc: shaders/%.comp
	@mkdir -p $(@D)
	$(GLSLC) --target-env=vulkan1.2 $(GLSLCFLAGS) -Ishaders -MD -MF $@.d -mfmt=c -o $@ $<

# The kernel list, rewritten only when shaders are added or removed.
$(GEN)/shader-names: FORCE
	@mkdir -p $(@D)
	@echo '$(SHADER_NAMES)' | cmp -s - $@ || echo '$(SHADER_NAMES)' > $@

$(GEN)/gr_vk_shaders.h: $(GEN)/shader-names tools/gen_shaders.sh
	@sh tools/gen_shaders.sh header $@ $(SHADER_NAMES)

$(GEN)/gr_vk_shaders.c: $(GEN)/shader-names tools/gen_shaders.sh
	@sh tools/gen_shaders.sh source $@ $(SHADER_NAMES)

FORCE:

# The optional MPI module build/grilly/mpi.so behind grilly.distributed: built
# by `make` wherever the MPI compiler wrapper and mpi.h are found (Debian:
# libopenmpi-dev and openmpi-bin). It links MPI and nothing of the core, so
# core.so never depends on MPI; -z nodelete keeps it loaded until the process
# exits, when it shuts MPI down.
MPICC      ?= mpicc
HAVE_MPI   := $(shell echo '\#include <mpi.h>' | $(MPICC) -E -x c - >/dev/null 2>&1 && echo 1)
MPI_SRCS   := $(wildcard src/mpi/*.c)
MPI_OBJS   := $(MPI_SRCS:src/mpi/%.c=$(BUILD)/obj/mpi/%.o)
MPI_MODULE := $(BUILD)/grilly/mpi.so
ifeq ($(HAVE_MPI),1)
all: $(MPI_MODULE)
mpi: $(MPI_MODULE)
else
mpi:
	@echo "grilly: no MPI found ($(MPICC) with mpi.h); install libopenmpi-dev and openmpi-bin" >&2; exit 1
endif

$(MPI_MODULE): $(MPI_OBJS)
	@mkdir -p $(@D)
	$(MPICC) -shared -Wl,-z,nodelete -o $@ $(MPI_OBJS) $(LDFLAGS)

$(BUILD)/obj/mpi/%.o: src/mpi/%.c
	@mkdir -p $(@D)
	$(MPICC) -std=c11 -fPIC $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

-include $(OBJS:.o=.d) $(MPI_OBJS:.o=.d) $(SPV_INCS:=.d)

# Installs missing Debian/Ubuntu packages (apt-get, with sudo when not root).
deps:
	@sh tools/deps.sh

check-deps:
	@sh tools/deps.sh --check >/dev/null 2>&1 || sh tools/deps.sh

test: check-deps
	@$(MAKE) --no-print-directory all
	busted --lua=$(LUA)

# About two minutes of example 04 (about 3.5 s an epoch on a 2-core CPU) on the
# default device; its TSV history and plot go to examples-out/.
DEMO_EPOCHS ?= 30
demo: check-deps
	@$(MAKE) --no-print-directory all
	$(RUN_ENV) $(LUA) examples/04_snn_fashion_mnist.lua --epochs $(DEMO_EPOCHS)

LUA_FILES := $(patsubst lua/%,%,$(shell find lua/grilly -name '*.lua'))

install: all
	install -d $(DESTDIR)$(INST_LIBDIR)/grilly
	install -m 755 $(MODULE) $(DESTDIR)$(INST_LIBDIR)/grilly/core.so
	if [ -f $(MPI_MODULE) ]; then install -m 755 $(MPI_MODULE) $(DESTDIR)$(INST_LIBDIR)/grilly/mpi.so; fi
	for f in $(LUA_FILES); do install -D -m 644 lua/$$f $(DESTDIR)$(INST_LUADIR)/$$f || exit 1; done
	install -d $(DESTDIR)$(INST_BINDIR)
	install -m 755 bin/grilly $(DESTDIR)$(INST_BINDIR)/grilly

clean:
	rm -rf $(BUILD)

# Benchmarks (bench/); results and machines are recorded in docs/benchmarks.md.

build/bench/libbaseline.so: bench/baseline.c
	@mkdir -p $(@D)
	$(CC) -O3 -shared -fPIC -o $@ $<

bench-cpu: all build/bench/libbaseline.so
	$(RUN_ENV) $(LUA) bench/tensor_cpu.lua

bench-optim-cpu: all build/bench/libbaseline.so
	$(RUN_ENV) $(LUA) bench/optim_cpu.lua

# Data-parallel benchmarks on 1 and 2 ranks of this machine: the optimizer
# step and an epoch of the spiking network of examples/06_distributed.lua
# (docs/benchmarks.md, Data-parallel training). One BLAS thread per rank.
MPIRUN ?= mpirun --oversubscribe --allow-run-as-root
bench-distributed: all
	@for n in 1 2; do OPENBLAS_NUM_THREADS=1 $(RUN_ENV) $(MPIRUN) -np $$n $(LUA) bench/distributed/step.lua || exit 1; done
	@for n in 1 2; do OPENBLAS_NUM_THREADS=1 $(MPIRUN) -np $$n $(LUA) examples/06_distributed.lua --epochs 3 --quiet || exit 1; done

# GPU benchmarks: grilly on Vulkan, then the PyTorch baselines, in one command.
bench-gpu: all
	$(RUN_ENV) $(LUA) bench/gpu/vulkan_tensor.lua
	$(RUN_ENV) $(LUA) bench/gpu/optim.lua
	python3 bench/gpu/torch_baseline.py

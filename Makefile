# grilly: build the C core and Lua binding into build/grilly/core.so.
# Honours CC, CFLAGS, LDFLAGS, LUA_INCDIR, PREFIX and LuaRocks' INST_* variables.
# SANITIZE=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ instead, and `make test SANITIZE=1` runs the specs against it
# (docs/reliability.md).

CC         ?= gcc
LUA        ?= luajit
LUA_INCDIR ?= $(or $(shell pkg-config --variable=includedir luajit 2>/dev/null),/usr/include/luajit-2.1)
PREFIX     ?= /usr/local
INST_LIBDIR ?= $(PREFIX)/lib/lua/5.1
INST_LUADIR ?= $(PREFIX)/share/lua/5.1
INST_BINDIR ?= $(PREFIX)/bin

# The sanitizer build uses -O1: reports stay readable, and GCC's -O3 inlining
# raises false -Wstringop-overread and -Wformat-truncation warnings under it.
CFLAGS     ?= $(if $(filter 1,$(SANITIZE)),-O1 -g,-O3 -g)
WARNINGS   := -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration
# errno of math calls is never read; without it sqrtf loops can vectorise.
CODEGEN    := -fno-math-errno
BUILD      := $(if $(filter 1,$(SANITIZE)),build-asan,build)
CPPFLAGS   := -Iinclude -Isrc -I$(LUA_INCDIR) -I$(BUILD)/gen -D_GNU_SOURCE
BLAS_LIBS  ?= -lopenblas
LIBS       := $(BLAS_LIBS) -lz -lm

# float-cast-overflow: Lua numbers (NaN, inf, 1e300) reach integer casts.
SANITIZERS := address,undefined,float-cast-overflow
ifeq ($(SANITIZE),1)
CFLAGS     += -fsanitize=$(SANITIZERS) -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=$(SANITIZERS)
endif

# Runs scripts against this checkout's build rather than an installed rock.
RUN_ENV := LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='$(BUILD)/?.so;;'

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

.PHONY: all mpi test demo install clean deps check-deps bench-cpu bench-optim-cpu bench-gpu bench-distributed \
        bench-long-run fuzz fuzzers memcheck FORCE
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

# GRILLY_BUILD tells the specs, and the processes they start, which build to load.
TEST_ENV := GRILLY_BUILD=$(BUILD)
ifeq ($(SANITIZE),1)
# LuaJIT is not instrumented: tools/sanitizer/luajit preloads the sanitizer
# runtime, and a dlclose that keeps libraries loaded until exit
# (tools/sanitizer/keep_loaded.c), into every luajit the specs start, and
# into nothing else. allocator_may_return_null: a huge request fails as
# ENOMEM, as it does without the sanitizer, instead of aborting.
KEEP_LOADED := $(BUILD)/sanitizer/keep_loaded.so
TEST_ENV += PATH="$(CURDIR)/tools/sanitizer:$$PATH" GRILLY_LUAJIT="$(shell command -v $(LUA))" \
            GRILLY_SANITIZER_PRELOAD="$(shell $(CC) -print-file-name=libasan.so) $(CURDIR)/$(KEEP_LOADED)" \
            ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:halt_on_error=1 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tools/sanitizer/lsan.supp:print_suppressions=0 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

$(KEEP_LOADED): tools/sanitizer/keep_loaded.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O1 $(WARNINGS) -o $@ $<

test: $(KEEP_LOADED)
endif

test: check-deps
	@$(MAKE) --no-print-directory all
	$(TEST_ENV) busted --lua=$(LUA)

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
	rm -rf build build-asan build-fuzz

# valgrind memcheck over the specs of the CPU device (tensors, files,
# optimizers, nn, data), with Vulkan hidden from the loader: definite leaks
# and invalid accesses fail it (tools/memcheck.supp holds what is outside grilly).
MEMCHECK_SPECS ?= $(sort $(wildcard spec/0*_spec.lua spec/1*_spec.lua spec/2*_spec.lua spec/4*_spec.lua spec/5*_spec.lua))

memcheck: all
	VK_ICD_FILENAMES=/nonexistent VK_DRIVER_FILES=/nonexistent GRILLY_DEVICE=cpu GRILLY_TEST_VULKAN=0 \
	    valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	    --keep-debuginfo=yes --suppressions=tools/memcheck.supp --error-exitcode=99 \
	    $(LUA) $(shell command -v busted) --ignore-lua $(MEMCHECK_SPECS)

# libFuzzer targets (fuzz/*_fuzzer.c) over the committed corpus fuzz/corpus/,
# built with clang into build-fuzz/ and run for FUZZ_SECONDS in all, split
# between the targets. New inputs go to build-fuzz/corpus/, crashes to
# build-fuzz/artifacts/ (docs/reliability.md).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -fsanitize=address,undefined,float-cast-overflow
FUZZERS      := $(patsubst fuzz/%_fuzzer.c,%,$(wildcard fuzz/*_fuzzer.c))
LUA_LIBS     ?= $(or $(shell pkg-config --libs luajit 2>/dev/null),-lluajit-5.1)

fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=$(FUZZ_CC) \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_FLAGS)" fuzzers
	@sh tools/run_fuzzers.sh $(FUZZ_SECONDS) $(FUZZERS)

fuzzers: $(FUZZERS:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: fuzz/%_fuzzer.c fuzz/fuzz_input.c fuzz/fuzz_input.h $(OBJS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ifuzz $(CFLAGS) -fsanitize=fuzzer $(FUZZ_FLAGS) $(WARNINGS) -o $@ \
	    $< fuzz/fuzz_input.c $(OBJS) $(LUA_LIBS) $(LIBS) -ldl

# Benchmarks (bench/); results and machines are recorded in docs/benchmarks.md.

build/bench/libbaseline.so: bench/baseline.c
	@mkdir -p $(@D)
	$(CC) -O3 -shared -fPIC -o $@ $<

bench-cpu: all build/bench/libbaseline.so
	$(RUN_ENV) $(LUA) bench/tensor_cpu.lua

# Per-step time of a million steps of a tiny problem, first tenth against last.
bench-long-run: all
	$(RUN_ENV) $(LUA) bench/optim_long_run.lua

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

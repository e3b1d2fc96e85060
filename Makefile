# pocketflow: one non-recursive Makefile. `make help` lists the targets.
# Knobs: make CUDA=1 (GPU backend; fails if nvcc is missing)  DEBUG=1  WERROR=1  MPI=1
CC       ?= cc
NVCC     ?= nvcc
BUILD    ?= build
PKGS     := ncursesw yaml-0.1 openblas hdf5 check zlib
PKG_OK   := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
CPPFLAGS += -Isrc -D_GNU_SOURCE -MMD -MP
ifeq ($(PKG_OK),yes)
CPPFLAGS += $(shell pkg-config --cflags $(PKGS))
LIBS_PKG := $(shell pkg-config --libs $(PKGS))
endif
ifeq ($(DEBUG),1)
CFLAGS   ?= -O0 -g
else
CFLAGS   ?= -O2 -g
endif
OPT      := -O3 -march=x86-64-v2 -mtune=generic
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
WARN     += $(if $(filter 1,$(WERROR)),-Werror)
LDLIBS   += $(LIBS_PKG) -ldnnl -fopenmp -lpthread -lm
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

ifeq ($(CUDA),1)
  ifeq ($(shell command -v $(NVCC)),)
    $(error CUDA=1 but $(NVCC) was not found: install the CUDA Toolkit or build without CUDA=1)
  endif
  $(error CUDA=1: the CUDA backend is not written yet (see the GPU issue); build without CUDA=1)
endif
ifeq ($(MPI),1)
  $(error MPI=1: multi-process training is not written yet; build without MPI=1)
endif

ENGINE_SRC := $(wildcard src/engine/*.c src/engine/*/*.c src/engine/*/*/*.c)
LEARN_SRC  := $(wildcard src/learners/*.c src/learners/*/*.c)
TUI_SRC    := $(wildcard src/tui/*.c src/tui/*/*.c)
CLI_SRC    := $(wildcard src/cli/*.c)
TEST_SRC   := $(wildcard tests/*.c tests/helpers/*.c)
SUITES     := $(patsubst tests/check_%.c,%,$(filter-out tests/check_main.c,$(wildcard tests/check_*.c)))
LIB_SRC    := $(ENGINE_SRC) $(LEARN_SRC)

define objs
$(patsubst %.c,$(1)/%.o,$(2))
endef

LIB      := $(BUILD)/libpocketflow.a
TLIB     := $(BUILD)/libpftui.a
APP      := $(BUILD)/pocketflow
CHECK    := $(BUILD)/check_all
ALIB     := $(BUILD)/asan/libpocketflow.a
ATLIB    := $(BUILD)/asan/libpftui.a
AAPP     := $(BUILD)/asan/pocketflow
ACHECK   := $(BUILD)/asan/check_all

.PHONY: all deps test check asan run lint clean help bench fixtures
all: $(LIB) $(APP)

help:
	@echo "make            build $(LIB) and $(APP)"
	@echo "make run        install missing packages, build, open pocketflow on the bundled model"
	@echo "make test       install missing packages, build, run the whole test suite"
	@echo "make asan       the test suite under Address and UndefinedBehavior sanitizers"
	@echo "make lint       include-boundary rules and clang-format check"
	@echo "make bench      speed against PyTorch (bench/run.sh; slow)"
	@echo "make clean      remove $(BUILD)/"
	@echo "knobs: CUDA=1 (GPU backend)  DEBUG=1  WERROR=1  MPI=1"

deps:
	@scripts/deps.sh

# ---- generated suite list (one PF_SUITE line per tests/check_<module>.c) ----
$(BUILD)/gen/suites.inc: FORCE
	@mkdir -p $(dir $@)
	@printf 'PF_SUITE(%s)\n' $(SUITES) > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
FORCE:
$(BUILD)/tests/check_main.o $(BUILD)/asan/tests/check_main.o: $(BUILD)/gen/suites.inc
$(BUILD)/tests/%.o $(BUILD)/asan/tests/%.o: CPPFLAGS += -I$(BUILD)/gen -Itests

# cpu.c's fused element-wise loops run on OpenMP, the runtime oneDNN's threads already use
$(BUILD)/src/engine/backend/cpu.o: OPT += -fopenmp
$(BUILD)/asan/src/engine/backend/cpu.o: SAN += -fopenmp

# ---- release build ----
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(OPT) -c $< -o $@

$(LIB): $(call objs,$(BUILD),$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

# the workbench's screens and widgets: linked into the app and into check_all (screen tests)
$(TLIB): $(call objs,$(BUILD),$(TUI_SRC))
	@rm -f $@
	ar rcs $@ $^

$(APP): $(call objs,$(BUILD),src/main.c $(CLI_SRC)) $(TLIB) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(TLIB) $(LIB) $(LDLIBS)

$(CHECK): $(call objs,$(BUILD),$(TEST_SRC)) $(TLIB) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(TLIB) $(LIB) $(LDLIBS)

# ---- sanitizer build (separate objects) ----
$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) -O1 -g $(SAN) -c $< -o $@

$(ALIB): $(call objs,$(BUILD)/asan,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(ATLIB): $(call objs,$(BUILD)/asan,$(TUI_SRC))
	@rm -f $@
	ar rcs $@ $^

$(AAPP): $(call objs,$(BUILD)/asan,src/main.c $(CLI_SRC)) $(ATLIB) $(ALIB)
	$(CC) -g $(SAN) -o $@ $(filter %.o,$^) $(ATLIB) $(ALIB) $(LDLIBS)

$(ACHECK): $(call objs,$(BUILD)/asan,$(TEST_SRC)) $(ATLIB) $(ALIB)
	$(CC) -g $(SAN) -o $@ $(filter %.o,$^) $(ATLIB) $(ALIB) $(LDLIBS)

# ---- the two commands of README.md ----
test: deps
	@$(MAKE) --no-print-directory all $(CHECK)
	CK_DEFAULT_TIMEOUT=300 PF_APP=$(APP) $(CHECK)
	PF_APP=$(APP) tests/cli.sh
	PF_APP=$(APP) tests/tui_e2e.sh

check: all $(CHECK)
	CK_DEFAULT_TIMEOUT=300 PF_APP=$(APP) $(CHECK)

# LeakSanitizer cannot follow forked children reliably and OpenMP keeps thread pools alive:
# run unforked with leak checks on.
asan: deps
	@$(MAKE) --no-print-directory $(ACHECK) $(AAPP)
	CK_FORK=no ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 PF_APP=$(AAPP) $(ACHECK)
	PF_APP=$(AAPP) tests/cli.sh
	PF_APP=$(AAPP) tests/tui_e2e.sh

run: deps
	@$(MAKE) --no-print-directory all
	$(APP)

bench: all
	bench/run.sh

lint:
	@bad=0; \
	f=$$(grep -rlE '#include *[<"](n?curses|ncursesw/curses)\.h' src | grep -v '^src/tui/'); [ -z "$$f" ] || { echo "curses outside src/tui: $$f"; bad=1; }; \
	f=$$(grep -rlE '#include *[<"]hdf5\.h' src | grep -v '^src/engine/io/model_h5.c'); [ -z "$$f" ] || { echo "hdf5.h outside io/model_h5.c: $$f"; bad=1; }; \
	f=$$(grep -rlE '#include *[<"](cblas|dnnl|oneapi/dnnl/dnnl)\.h' src | grep -v '^src/engine/backend/cpu'); [ -z "$$f" ] || { echo "cblas/dnnl outside backend/cpu*: $$f"; bad=1; }; \
	f=$$(grep -rlE '#include *[<"]yaml\.h' src | grep -v '^src/engine/core/pf_cfg.c'); [ -z "$$f" ] || { echo "yaml.h outside core/pf_cfg.c: $$f"; bad=1; }; \
	f=$$(grep -rnE '(^|[^_a-z])(exit|abort)\(' src/engine src/learners | grep -v 'pf_status.c'); [ -z "$$f" ] || { echo "library code exits: $$f"; bad=1; }; \
	f=$$(grep -rnE '(^|[^_a-z])(printf|puts)\(|fprintf\((stdout|stderr)' src/engine src/learners | grep -vE 'pf_(log|status).c'); [ -z "$$f" ] || { echo "library code prints: $$f"; bad=1; }; \
	f=$$(find src tests -name '*.[ch]' | xargs wc -l | awk '$$2!="total" && $$1>1500 {print $$2}'); [ -z "$$f" ] || { echo "files over 1500 lines: $$f"; bad=1; }; \
	exit $$bad
	@if command -v clang-format >/dev/null; then clang-format --dry-run -Werror $$(find src tests -name '*.[ch]'); fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

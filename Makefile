# 25square -- top-level Makefile. `make` builds libsq25 (shared + static) and the sq25 CLI into
# build/; `make check` runs every test; `make demo` runs the main job on the bundled data.
# Usual knobs: PREFIX, LIBDIR, INCLUDEDIR, BINDIR, PKGCONFIGDIR, DESTDIR, CC, CFLAGS.

# ---- version: one source, the public header ----
VERSION_MAJOR := $(shell sed -n 's/^\#define SQ25_VERSION_MAJOR \([0-9]*\).*/\1/p' include/sq25.h)
VERSION_MINOR := $(shell sed -n 's/^\#define SQ25_VERSION_MINOR \([0-9]*\).*/\1/p' include/sq25.h)
VERSION_PATCH := $(shell sed -n 's/^\#define SQ25_VERSION_PATCH \([0-9]*\).*/\1/p' include/sq25.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
B := build
PYTHON ?= /usr/bin/python3

# Debian packages: pkg-config modules and the package that provides each. build-essential
# (gcc, g++, make, libc6-dev) is there because a bare Debian has no compiler: the set-up must
# not stop at the first compile.
PKG_MODULES := hdf5 gsl proj libpng fftw3f netcdf cmocka zlib libdeflate
DEB_PACKAGES := build-essential libhdf5-dev libfftw3-dev libnetcdf-dev libgsl-dev libproj-dev \
                libpng-dev libcmocka-dev pkg-config hdf5-tools netcdf-bin proj-bin \
                python3-numpy python3-pytest python3-netcdf4 python3-xarray \
                python3-shapely python3-h5py python3-distributed python3-pyproj \
                abigail-tools time clang libclang-rt-14-dev zlib1g-dev libbz2-dev libxml2-utils \
                libdeflate-dev
DEPS_STAMP := $(B)/.deps-ok

PKG_CFLAGS = $(shell pkg-config --cflags hdf5 gsl proj libpng fftw3f netcdf zlib libdeflate 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs hdf5 gsl proj libpng fftw3f netcdf zlib libdeflate 2>/dev/null) -lbz2
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE $(WARN) -Iinclude -Ilib
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -DSQ25_BUILDING_LIBRARY
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm
# Each compile also writes <object>.d, the headers that object includes (read back at the end).
DEPFLAGS := -MMD -MP

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
LIB_SAN_OBJ := $(LIB_SRC:lib/%.c=$(B)/asan/lib/%.o)
CLI_SRC := $(sort $(wildcard bin/*.c))
CLI_OBJ := $(CLI_SRC:bin/%.c=$(B)/bin/%.o)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
TEST_SAN_BIN := $(TEST_SRC:tests/unit/%.c=$(B)/asan/tests/%)
TEST_SUPPORT := $(wildcard tests/unit/support.c)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

SONAME := libsq25.so.$(VERSION_MAJOR)
SHLIB := $(B)/libsq25.so.$(VERSION)
STLIB := $(B)/libsq25.a
SANLIB := $(B)/asan/libsq25.a
CLI := $(B)/sq25

# Per-test time limit in seconds (stretch with SQ25_TEST_TIMEOUT=...).
SQ25_TEST_TIMEOUT ?= 600

.PHONY: all deps lib cli check check-unit check-asan check-cli check-abi check-header \
        check-python check-fuzz check-tsan fuzz fuzz-build demo bench bench-build bench-serve install install-lib install-headers install-pc install-cli \
        uninstall clean
.DEFAULT_GOAL := all

all: $(DEPS_STAMP) lib cli

# ---- set-up: install missing Debian packages (root or sudo), else stop with the exact line ----
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	  else echo "25square: missing Debian packages:$$missing"; \
	       echo "25square: not root and no password-less sudo, so nothing was installed;"; \
	       echo "install them with (as root, or with sudo):"; \
	       echo "  sudo apt-get install -y$$missing"; exit 1; fi; \
	  echo "25square: installing missing packages:$$missing"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null || \
	  { echo "25square: apt-get failed; run: sudo apt-get install -y$$missing"; exit 1; }; \
	fi; \
	for m in $(PKG_MODULES); do pkg-config --exists $$m || \
	  { echo "25square: pkg-config cannot find $$m after install"; exit 1; }; done
	@mkdir -p $(B) && touch $@

# ---- library ----
lib: $(B)/libsq25.so $(STLIB) $(B)/sq25.pc

$(B)/lib/%.o: lib/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LIB_CFLAGS) $(DEPFLAGS) $(PKG_CFLAGS) -c $< -o $@
# the ensemble's loops over members x leads x cells: -O3 lets the vectoriser take loops of any
# trip count (-O2's cost model vectorises almost none of them)
$(B)/lib/ensemble_member.o $(B)/lib/ensemble_run.o $(B)/lib/ensemble_spectral.o: CFLAGS += -O3
# the members' departure points: sqrtf and a division under a select in a vectorised loop
# (neither flag changes a value: no errno is read, no FP trap is enabled)
$(B)/lib/ensemble_member.o: CFLAGS += -fno-math-errno -fno-trapping-math

$(SHLIB): $(LIB_OBJ) lib/libsq25.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libsq25.map \
	  -Wl,--no-undefined -o $@ $(LIB_OBJ) $(LDLIBS_ALL)
# the blend's window sums, row by row across the grid (ensfixed5): -O3 as above
$(B)/lib/ensemble_prob.o: CFLAGS += -O3

$(B)/$(SONAME): $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $@
$(B)/libsq25.so: $(B)/$(SONAME)
	ln -sf $(SONAME) $@

$(STLIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/sq25.pc: lib/sq25.pc.in include/sq25.h
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# ---- CLI (linked against the static library: one self-contained executable) ----
cli: $(CLI)
$(B)/bin/%.o: bin/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_CFLAGS) $(DEPFLAGS) -Ibin -c $< -o $@
$(CLI): $(CLI_OBJ) $(STLIB)
	$(CC) -o $@ $(CLI_OBJ) $(STLIB) $(LDLIBS_ALL)

# ---- tests ----
$(B)/tests/%: tests/unit/%.c $(TEST_SUPPORT) tests/unit/support.h $(STLIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< $(TEST_SUPPORT) \
	  $(STLIB) $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(B)/asan/lib/%.o: lib/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN_FLAGS) $(LIB_CFLAGS) $(DEPFLAGS) $(PKG_CFLAGS) -c $< -o $@
$(SANLIB): $(LIB_SAN_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/asan/tests/%: tests/unit/%.c $(TEST_SUPPORT) tests/unit/support.h $(SANLIB)
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN_FLAGS) $(BASE_CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< \
	  $(TEST_SUPPORT) $(SANLIB) $(CMOCKA_LIBS) $(LDLIBS_ALL)

# test_serve also links the parts of `sq25 serve` it tests (bin/serve_*.c, public API only).
SERVE_PARTS := bin/serve_state.c bin/serve_cap.c bin/serve_publish.c bin/serve_config.c \
               bin/serve_sensors.c bin/serve_files.c
$(B)/tests/test_serve: tests/unit/test_serve.c $(SERVE_PARTS) bin/serve.h $(TEST_SUPPORT) \
                       tests/unit/support.h $(STLIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_CFLAGS) $(PKG_CFLAGS) -Itests/unit -Ibin -o $@ $< $(SERVE_PARTS) \
	  $(TEST_SUPPORT) $(STLIB) $(CMOCKA_LIBS) $(LDLIBS_ALL)
$(B)/asan/tests/test_serve: tests/unit/test_serve.c $(SERVE_PARTS) bin/serve.h $(TEST_SUPPORT) \
                            tests/unit/support.h $(SANLIB)
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN_FLAGS) $(BASE_CFLAGS) $(PKG_CFLAGS) -Itests/unit -Ibin -o $@ $< \
	  $(SERVE_PARTS) $(TEST_SUPPORT) $(SANLIB) $(CMOCKA_LIBS) $(LDLIBS_ALL)

# Each test runs in its own process with a time limit, from the repository root.
check-unit: $(TEST_BIN)
	@tests/run-tests.sh "plain" $(SQ25_TEST_TIMEOUT) $(TEST_BIN)

check-asan: $(TEST_SAN_BIN)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	 tests/run-tests.sh "asan" $(SQ25_TEST_TIMEOUT) $(TEST_SAN_BIN)

check-cli: $(CLI)
	@tests/cli/run.sh $(CLI)

check-abi: $(SHLIB)
	@tests/abi/check.sh $(SHLIB) include/sq25.h

# The public header alone must compile as C11 and as C++ (skipped, with a notice, where no
# C++ compiler exists: the set-up installs g++ with build-essential, but a user may build with
# only a C compiler).
CXX ?= g++
check-header:
	@mkdir -p $(B)/hdr
	@printf '#include "sq25.h"\nint main(void){return sq25_version()>0?0:1;}\n' > $(B)/hdr/c.c
	@cp $(B)/hdr/c.c $(B)/hdr/cpp.cpp
	$(CC) -std=c11 $(WARN) -pedantic -Iinclude -fsyntax-only $(B)/hdr/c.c
	@if command -v $(CXX) >/dev/null 2>&1; then \
	  echo "$(CXX) -std=c++11 -Wall -Wextra -Werror -Iinclude -fsyntax-only $(B)/hdr/cpp.cpp"; \
	  $(CXX) -std=c++11 -Wall -Wextra -Werror -Iinclude -fsyntax-only $(B)/hdr/cpp.cpp; \
	else echo "check-header: no C++ compiler ($(CXX)): the C++ check of sq25.h is skipped"; fi

check-python: $(B)/libsq25.so
	@if [ -d python/tests ] && ls python/tests/test_*.py >/dev/null 2>&1; then \
	  SQ25_LIB=$(CURDIR)/$(B)/libsq25.so SQ25_CLI=$(CURDIR)/$(CLI) PYTHONPATH=$(CURDIR)/python \
	  $(PYTHON) -m pytest -q python/tests; fi

check: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory all bench-build
	@$(MAKE) --no-print-directory check-header check-abi
	@$(MAKE) --no-print-directory check-unit
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-cli
	@$(MAKE) --no-print-directory check-python
	@$(MAKE) --no-print-directory check-fuzz
	@$(MAKE) --no-print-directory check-tsan
	@echo "make check: all test layers passed"

# ---- fuzzing (libFuzzer, clang): every tests/fuzz/fuzz_<name>.c is a harness, seeded from
# tests/fuzz/corpus/<name>/. `make fuzz` runs each for FUZZ_SECONDS; `make check-fuzz` (part
# of make check) replays every corpus file and runs each harness for FUZZ_SMOKE_SECONDS.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) $(filter-out -Werror,$(BASE_CFLAGS))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_LIB_OBJ := $(LIB_SRC:lib/%.c=$(B)/fuzz/lib/%.o)
FUZZ_LIB := $(B)/fuzz/libsq25.a

$(B)/fuzz/lib/%.o: lib/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -fPIC -fvisibility=hidden \
	  -DSQ25_BUILDING_LIBRARY $(PKG_CFLAGS) -c $< -o $@
$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
# The CLI helpers the harnesses use (list parsers, reader options: bin/cli*.c) and the parts
# of sq25 serve whose parsers are fuzzed (SERVE_PARTS, above).
FUZZ_CLI_OBJ := $(patsubst bin/%.c,$(B)/fuzz/%.o,$(wildcard bin/cli*.c) $(SERVE_PARTS))
$(FUZZ_CLI_OBJ): $(B)/fuzz/%.o: bin/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -Ibin -c $< -o $@
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_LIB) $(FUZZ_CLI_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ibin $(PKG_CFLAGS) -o $@ $< $(FUZZ_CLI_OBJ) \
	  $(FUZZ_LIB) $(LDLIBS_ALL)

fuzz-build: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	@tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_BIN)
check-fuzz: $(FUZZ_BIN)
	@tests/fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_BIN)

# ---- ThreadSanitizer build of the thread tests (tests/unit/test_thread*.c) ----
TSAN_TEST_SRC := $(sort $(wildcard tests/unit/test_thread*.c))
TSAN_TEST_BIN := $(TSAN_TEST_SRC:tests/unit/%.c=$(B)/tsan/tests/%)
TSAN_LIB_OBJ := $(LIB_SRC:lib/%.c=$(B)/tsan/lib/%.o)
$(B)/tsan/lib/%.o: lib/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -O1 -g -fsanitize=thread $(LIB_CFLAGS) $(DEPFLAGS) $(PKG_CFLAGS) -c $< -o $@
$(B)/tsan/libsq25.a: $(TSAN_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/tsan/tests/%: tests/unit/%.c $(TEST_SUPPORT) tests/unit/support.h $(B)/tsan/libsq25.a
	@mkdir -p $(@D)
	$(CC) -O1 -g -fsanitize=thread $(BASE_CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< \
	  $(TEST_SUPPORT) $(B)/tsan/libsq25.a $(CMOCKA_LIBS) $(LDLIBS_ALL)
$(B)/tsan/misuse: tests/tsan/misuse.c $(B)/tsan/libsq25.a
	@mkdir -p $(@D)
	$(CC) -O1 -g -fsanitize=thread $(BASE_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(B)/tsan/libsq25.a \
	  $(LDLIBS_ALL)
# The thread tests under TSan, and the proof that TSan sees a deliberate misuse (one context
# shared by two threads) in this build: the misuse program must be reported.
check-tsan: $(TSAN_TEST_BIN) $(B)/tsan/misuse
	@TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=1" \
	 tests/run-tests.sh "tsan" $(SQ25_TEST_TIMEOUT) $(TSAN_TEST_BIN)
	@tests/tsan/check-misuse.sh $(B)/tsan/misuse

# ---- demo and benchmarks ----
demo: all
	@tests/demo.sh $(CLI)

$(B)/bench/%: bench/%.c $(STLIB)
	@mkdir -p $(@D)
	$(CC) -O2 -g $(BASE_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(STLIB) $(LDLIBS_ALL)
# make check builds the benchmarks (not runs them), so that none of them rots unseen.
bench-build: $(BENCH_BIN)
bench: $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done
# sq25 serve per-cycle time and soak (SQ25_BENCH_CYCLES, SQ25_SOAK_CYCLES; docs/serve.md)
bench-serve: $(CLI)
	@bench/bench_serve.sh $(CLI)

# ---- install ----
install: install-lib install-headers install-pc install-cli
install-lib: lib
	install -d $(DESTDIR)$(LIBDIR)
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsq25.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
install-headers:
	install -d $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/sq25.h $(DESTDIR)$(INCLUDEDIR)/
# The .pc file is generated at install time so that it carries this install's PREFIX/LIBDIR.
install-pc:
	install -d $(DESTDIR)$(PKGCONFIGDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' lib/sq25.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/sq25.pc
install-cli: cli
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libsq25.so $(DESTDIR)$(LIBDIR)/libsq25.a \
	  $(DESTDIR)$(INCLUDEDIR)/sq25.h $(DESTDIR)$(PKGCONFIGDIR)/sq25.pc $(DESTDIR)$(BINDIR)/sq25

clean:
	rm -rf $(B)

# ---- header dependencies: every object's .d (DEPFLAGS) makes it depend on exactly the headers
# it includes, so touching one header rebuilds only the objects that include it, in every build
# variant. An object compiled before this tracking (no .d beside it yet) depends on every header
# of its folder, as before. The test, bench and fuzz programs depend on their library archive.
TRACKED_LIB_OBJ := $(LIB_OBJ) $(LIB_SAN_OBJ) $(FUZZ_LIB_OBJ) $(TSAN_LIB_OBJ)
TRACKED_CLI_OBJ := $(CLI_OBJ) $(FUZZ_CLI_OBJ)
DEP_FILES := $(wildcard $(TRACKED_LIB_OBJ:.o=.d) $(TRACKED_CLI_OBJ:.o=.d))
-include $(DEP_FILES)
$(filter-out $(DEP_FILES:.d=.o),$(TRACKED_LIB_OBJ)): include/sq25.h $(wildcard lib/*.h)
$(filter-out $(DEP_FILES:.d=.o),$(TRACKED_CLI_OBJ)): include/sq25.h $(wildcard bin/*.h)

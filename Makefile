# The two commands of the README. Everything else is plain CMake + CTest.
BUILD_DIR ?= build
CONFIG ?= config/airgate.yaml
JOBS ?= $(shell nproc)
# Compiler warnings as errors in airgate's own code (.ci/run sets ON).
AIRGATE_WERROR ?= OFF

.PHONY: all deps build test run clean soak test-asan test-tsan fuzz format format-check package test-package

all: build

deps:
	scripts/install-deps
	tests/browser/install-deps

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIRGATE_WERROR=$(AIRGATE_WERROR)

# An existing build directory is reconfigured only when AIRGATE_WERROR differs
# from the value it was configured with.
build: deps $(BUILD_DIR)/build.ninja
	@grep -qx 'AIRGATE_WERROR:BOOL=$(AIRGATE_WERROR)' $(BUILD_DIR)/CMakeCache.txt || \
	  cmake -S . -B $(BUILD_DIR) -DAIRGATE_WERROR=$(AIRGATE_WERROR)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The Debian package: $(BUILD_DIR)/airgate_<version>_<arch>.deb (cmake/AirgatePackage.cmake).
package: build
	cmake --build $(BUILD_DIR) --target package

# The package on a real systemd in a Debian 12 container (tests/package/run):
# lintian, install, start, reload, sandbox, purge. Needs Docker (started when
# needed by scripts/docker-setup).
test-package: build
	tests/package/run $(BUILD_DIR)

run: build
	scripts/first-run
	$(BUILD_DIR)/airgate run -c $(CONFIG)

bench: build
	bench/install-deps
	AIRGATE_BIN=$(BUILD_DIR)/airgate bench/run $(BENCH_ARGS)

# A bounded soak test (about 10 minutes; SOAK_SECONDS=N to change); not part of CI. See docs/soak.md.
soak: build
	AIRGATE_BIN=$(BUILD_DIR)/airgate python3 tests/soak/soak.py --out $(BUILD_DIR)/soak $(SOAK_ARGS)

# ---------------------------------------------------------------------------
# Sanitizers and fuzzing (docs/development.md "Fuzzing and sanitizers"). Each has its own
# build directory; SAN_JOBS bounds the compile and test parallelism (the
# sanitizer builds are slow and memory hungry).
SAN_JOBS ?= 2
SAN_FLAGS_COMMON = -g -fno-omit-frame-pointer
# Sanitizer reports abort the process (non-zero exit); the integration harness
# also fails a test whose airgate printed one (AIRGATE_SANITIZER=1 turns that
# scan on and skips the memory-figure assertions, which ASan's shadow memory
# and quarantine make meaningless).
SAN_ENV = AIRGATE_SANITIZER=1 \
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1 \
  LSAN_OPTIONS=report_objects=1:suppressions=$(CURDIR)/tests/sanitizers/lsan.supp \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp

# Whole suite (unit + integration) under AddressSanitizer + UBSan, built
# without the precompiled header (every file must include what it uses).
test-asan: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON -DAIRGATE_WERROR=$(AIRGATE_WERROR) \
	  "-DCMAKE_CXX_FLAGS=$(SAN_FLAGS_COMMON) -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
	cmake --build build-asan -j $(SAN_JOBS)
	cd build-asan && $(SAN_ENV) ctest --output-on-failure -j $(SAN_JOBS)

# ThreadSanitizer over what shares state between threads: the unit tests of
# the verified-credential cache, the throttle and AccessControl used from
# several threads ([cache], [throttle], [policy]); integration tests where
# workers (2 by default in the harness) and the hash-verification pool share
# the runtime snapshot, the credential cache and the throttle: reload (incl.
# SIGHUP under load), basic auth, throttle, metrics (counters from every
# worker). The rest (TLS, streaming, limits, ...) runs per-connection code on
# one worker thread and is covered by test-asan.
TSAN_TESTS = unit: ?.*(cache|throttle|several threads)|integration: test_(reload|access_basic|access_throttle|metrics)$$
test-tsan: deps
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DCMAKE_CXX_FLAGS=$(SAN_FLAGS_COMMON) -fsanitize=thread" \
	  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread"
	cmake --build build-tsan -j $(SAN_JOBS)
	cd build-tsan && $(SAN_ENV) ctest --output-on-failure -j $(SAN_JOBS) -R '$(TSAN_TESTS)'

# libFuzzer targets (tests/fuzz/), built with clang in build-fuzz, each run for
# FUZZ_SECONDS on a scratch copy of its seed corpus (tests/fuzz/corpus/<target>).
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DAIRGATE_FUZZ=ON -DBUILD_TESTING=OFF
	cmake --build build-fuzz -j $(SAN_JOBS) --target airgate_fuzzers
	tests/fuzz/run build-fuzz $(FUZZ_SECONDS)

# clang-format (.clang-format at the root) over proxy/ and tests/ C++ sources:
# `format` rewrites them in place, `format-check` fails listing what differs.
CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(shell find proxy tests -name '*.cpp' -o -name '*.hpp')
format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD_DIR)

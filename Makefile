# The two commands of the README. Everything else is plain CMake + CTest.
BUILD_DIR ?= build
CONFIG ?= config/airgate.yaml
JOBS ?= $(shell nproc)

.PHONY: all deps build test run clean soak

all: build

deps:
	scripts/install-deps

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

run: build
	scripts/first-run
	$(BUILD_DIR)/airgate run -c $(CONFIG)

bench: build
	bench/install-deps
	AIRGATE_BIN=$(BUILD_DIR)/airgate bench/run $(BENCH_ARGS)

# A bounded soak test (about 10 minutes; SOAK_SECONDS=N to change); not part of CI. See docs/soak.md.
soak: build
	AIRGATE_BIN=$(BUILD_DIR)/airgate python3 tests/soak/soak.py --out $(BUILD_DIR)/soak $(SOAK_ARGS)

clean:
	rm -rf $(BUILD_DIR)

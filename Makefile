# Thin wrapper over meson/ninja. `make run` and `make test` install what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
NINJA      := ninja --quiet

.PHONY: all deps build asan run test bench clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	@meson setup $(BUILD) >/dev/null

$(ASAN_BUILD)/build.ninja:
	@meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false \
		-Doptimization=2 >/dev/null

build: deps $(BUILD)/build.ninja
	@$(NINJA) -C $(BUILD)

asan: deps $(ASAN_BUILD)/build.ninja
	@$(NINJA) -C $(ASAN_BUILD)

run: build
	@scripts/run.sh $(BUILD)

test: build asan
	@tests/run-tests.sh $(BUILD) $(ASAN_BUILD)

bench: build
	@tools/bench/run-bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

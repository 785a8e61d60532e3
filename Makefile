# Vivace: the two commands are `make run` and `make test`. See README.md.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= ./data
CMAKE_FLAGS ?=

.PHONY: all deps build configure run test release debug asan fuzz bench bench-ingest bench-codec bench-storage bench-search bench-pipeline format check-layers clean

all: build

deps:
	@bash tools/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) > /dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)
	@mkdir -p build/bin && [ "$(BUILD_DIR)" = build ] || cp $(BUILD_DIR)/bin/vivace build/bin/vivace

run: build
	$(BUILD_DIR)/bin/vivace serve --data-dir $(DATA_DIR)

test: build
	@bash tools/npm-deps.sh
	cd $(BUILD_DIR) && ctest --output-on-failure -j 2 --timeout 600

release:
	$(MAKE) build BUILD_DIR=build-release BUILD_TYPE=Release
debug:
	$(MAKE) build BUILD_DIR=build-debug BUILD_TYPE=Debug
asan:
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_FLAGS="-DVV_SANITIZE=ON"

# libFuzzer targets need clang: `make fuzz` builds them in build-fuzz/fuzz/.
fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DVV_FUZZ=ON -DVV_BUILD_TESTS=OFF > /dev/null
	cmake --build build-fuzz -j $(JOBS) --target otlp_proto_fuzz otlp_json_fuzz wal_replay_fuzz bloom_fuzz block_fuzz parser_fuzz ottl_condition_fuzz persistent_queue_fuzz config_fuzz

bench: bench-ingest bench-codec bench-storage bench-search bench-pipeline
bench-codec: build
	$(BUILD_DIR)/bench/otlp_decode_bench
bench-ingest: build
	bash bench/ingest_bench.sh
bench-pipeline: build
	bash bench/pipeline_bench.sh
bench-storage: build
	bash bench/storage_bench.sh

check-layers:
	python3 tools/check_layers.py

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-release build-debug build-asan build-fuzz
bench-search: build
	bash bench/search_bench.sh

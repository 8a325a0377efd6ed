# The two README commands: `make demo` (install + main job) and `make test` (install + tests).
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# A pinned torch first: on the project's CI machines this wheel is on local disk (a loose
# requirement would fetch a multi-GB CUDA build). Override for your platform: make TORCH=torch demo
TORCH ?= torch==2.13.0
OUT ?= out

.PHONY: system-deps install install-dev demo test

system-deps:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng flite >/dev/null; \
	else \
		echo "note: install the TTS engines espeak-ng and flite with your package manager (needed for the corpus)"; \
	fi

install: system-deps
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[render]"

install-dev: system-deps
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[dev]" ./plugins/dtsdk-example-rig
	@# The Khronos glTF validator and three.js check our .glb files (tests skip them without npm).
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/js --silent --no-audit --no-fund; \
	else echo "note: npm not found; the glTF validator / three.js tests will be skipped"; fi

demo: install
	dtsdk render examples/hello.csv --audio examples/hello.wav -o $(OUT)/hello.mp4
	dtsdk render examples/hello.csv -o $(OUT)/hello.gif --size 256
	@echo "wrote $(OUT)/hello.mp4 and $(OUT)/hello.gif"

test: install-dev
	$(PYTHON) -m pytest -q

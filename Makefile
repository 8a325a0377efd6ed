# The two README commands: `make demo` (install + main job) and `make test` (install + tests).
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# A pinned torch first: on the project's CI machines this wheel is on local disk (a loose
# requirement would fetch a multi-GB CUDA build). Override for your platform: make TORCH=torch demo
TORCH ?= torch==2.13.0
OUT ?= out

.PHONY: system-deps install install-dev demo test test-mediapipe

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
	$(PIP) install -q -e ".[dev]" ./plugins/dtsdk-example-rig ./plugins/dtsdk-gcgan "./plugins/dtsdk-whisper[reference]"
	@# The Khronos glTF validator and three.js check our .glb files (tests skip them without npm).
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/js --silent --no-audit --no-fund; \
	else echo "note: npm not found; the glTF validator / three.js tests will be skipped"; fi

# The main job: speech in, animation out, with the packaged default model. It speaks SAY with
# espeak-ng, or animates your recording: make demo WAV=my_line.wav
SAY ?= Hello! I am a talking face from dtsdk. Bob bought a blue map, and we will meet at noon.
WAV ?=
demo: install
	dtsdk animate $(if $(WAV),"$(WAV)",--say "$(SAY)") --identity auto --seed 0 \
		-o $(OUT)/hello.mp4 -o $(OUT)/hello.glb -o $(OUT)/hello.csv
	@echo "wrote $(OUT)/hello.mp4 (preview with audio), $(OUT)/hello.glb (glTF morph animation), $(OUT)/hello.csv (Live Link Face)"

test: install-dev
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -q
	$(MAKE) test-mediapipe

# The portrait plugin's MediaPipe path (landmarks found in photos). mediapipe==0.10.21, the last
# release with its models in the wheel, wants numpy<2 and protobuf<5, which would break the main
# environment (numpy 2, onnx), so it gets a venv of its own on top of it: a .pth file adds the main
# environment's site-packages (a venv's too, editable installs included) after the venv's own.
MEDIAPIPE_VENV ?= .venv-mediapipe
test-mediapipe:
	$(PYTHON) -m venv $(MEDIAPIPE_VENV)
	$(PYTHON) -c "import site; print('import site; ' + '; '.join('site.addsitedir(%r)' % p for p in site.getsitepackages()))" \
		> "$$($(MEDIAPIPE_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/dtsdk-main-env.pth"
	$(MEDIAPIPE_VENV)/bin/python -m pip install -q "mediapipe==0.10.21"
	$(MEDIAPIPE_VENV)/bin/python -m pytest -q -p no:cacheprovider plugins/dtsdk-gcgan

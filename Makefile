# Two commands: `make run` (set up, get the data, run the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_DATA := /usr/share/datasets/fashion-mnist

.PHONY: run test data install dev bench lint clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev

# The data: Debian's package where we are root on Debian, else `sdae data` downloads it
# into ~/.cache/sdae (checked by SHA-256 either way).
data: $(VENV)/.installed
	@if [ ! -d $(DEBIAN_DATA) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's package dataset-fashion-mnist"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null && apt-get install -y -qq dataset-fashion-mnist >/dev/null; } || \
	  echo "apt-get failed; sdae will download the data instead"; \
	fi
	$(BIN)/sdae data

# The main job: every experiment of the paper, small (about a minute here), and its report.
# Running it again resumes / changes nothing; `sdae reproduce --preset paper` is the full run.
run: data
	$(BIN)/sdae reproduce --preset quick --out runs/quick

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/dae_throughput.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache

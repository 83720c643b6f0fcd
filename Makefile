# The two set-up commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := out/demo

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: install, generate a seeded benign background with labelled attacks, scan it with the
## bundled EVTX attack recordings, print ranked alerts with reasons, measure them, then serve
## the review UI on 127.0.0.1 with a new lead account whose one-time password is printed.
demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/bluebench generate $(DEMO)/generated --events 200000 --days 30 --seed 7 --quiet
	$(BIN)/bluebench scan data/samples/evtx $(DEMO)/generated/windows $(DEMO)/generated/linux \
		-w $(DEMO)/workspace --limit 12
	$(BIN)/bluebench evaluate --labels data/samples/evtx_labels.csv -w $(DEMO)/workspace
	$(BIN)/bluebench evaluate --labels $(DEMO)/generated/labels.csv -w $(DEMO)/workspace
	$(BIN)/bluebench serve -w $(DEMO)/workspace --demo

## test: install and run the whole test suite (what CI runs through .ci/run).
test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run_evtx.py
	$(BIN)/python bench/run_jsonl.py --events 10000000

clean:
	rm -rf $(VENV) out .bluebench

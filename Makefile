# The two set-up commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := out/demo

.PHONY: demo test lint bench clean examples drill-example

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: install, generate a seeded benign background with labelled attacks, scan it with the
## bundled EVTX attack recordings, print ranked alerts with reasons, measure them, write a
## case-study report whose every number `bluebench verify` recomputes, then serve
## the review UI on 127.0.0.1 with a new lead account whose one-time password is printed.
demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/bluebench generate $(DEMO)/generated --events 200000 --days 30 --seed 7 --quiet
	$(BIN)/bluebench scan data/samples/evtx $(DEMO)/generated/windows $(DEMO)/generated/linux \
		-w $(DEMO)/workspace --limit 12
	$(BIN)/bluebench evaluate --labels data/samples/evtx_labels.csv -w $(DEMO)/workspace
	$(BIN)/bluebench evaluate --labels $(DEMO)/generated/labels.csv -w $(DEMO)/workspace
	$(BIN)/bluebench report -w $(DEMO)/workspace --out $(DEMO)/report.html
	$(BIN)/bluebench verify $(DEMO)/report.html -w $(DEMO)/workspace
	$(BIN)/bluebench serve -w $(DEMO)/workspace --demo

## examples: docs/examples/ from the shared EVTX data (../shared/data): a case-study report and
## the timeline of one incident, each checked by `bluebench verify` against the workspace.
## The incident id is stable (a hash of its first alert), so the same data gives the same file.
EXAMPLES_WS := out/examples/ws
EXAMPLE_INCIDENT := inc-c697fcc91144c467
examples: $(STAMP)
	rm -rf $(EXAMPLES_WS) docs/examples/report-charts
	-$(BIN)/bluebench ingest ../shared/data/windows/evtx-to-mitre-attack -w $(EXAMPLES_WS)  # exit 1: the folder holds two CSVs and odd records, named above
	$(BIN)/bluebench detect -w $(EXAMPLES_WS)
	$(BIN)/bluebench evaluate --labels ../shared/data/windows/evtx_labels.csv -w $(EXAMPLES_WS) > /dev/null
	$(BIN)/bluebench report -w $(EXAMPLES_WS) --out docs/examples/report.md
	$(BIN)/bluebench timeline $(EXAMPLE_INCIDENT) -w $(EXAMPLES_WS) --out docs/examples/timeline.md
	$(BIN)/bluebench timeline $(EXAMPLE_INCIDENT) -w $(EXAMPLES_WS) --format html --out docs/examples/timeline.html
	$(BIN)/bluebench verify docs/examples/report.md -w $(EXAMPLES_WS)
	$(BIN)/bluebench verify docs/examples/timeline.md -w $(EXAMPLES_WS)
	$(BIN)/bluebench verify docs/examples/timeline.html -w $(EXAMPLES_WS)

## test: install and run the whole test suite (what CI runs through .ci/run).
test: $(STAMP)
	$(BIN)/pytest

## lint: ruff, mypy --strict, and the import contracts (the layers of docs/design.md, no cycles).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/run_evtx.py
	$(BIN)/python bench/run_jsonl.py --events 10000000

## drill-example: the interview drill on the shared EVTX data (../shared/data, not shipped):
## docs/examples/drill-questions.md and the scorecard of docs/examples/drill-answer.md.
## MAIL_EVAL=FILE (from `bluebench mail evaluate --out FILE` or `mail classes --out FILE`) adds the mail
## classifier's facts.
MAIL_EVAL ?=
DRILL     := out/drill
DRILL_ARGS = -w $(DRILL)/ws $(if $(MAIL_EVAL),--mail-evaluation $(MAIL_EVAL))
drill-example: $(STAMP)
	rm -rf $(DRILL)
	$(BIN)/bluebench scan ../shared/data/windows/evtx-to-mitre-attack -w $(DRILL)/ws > /dev/null 2>&1 || test $$? -eq 1
	$(BIN)/bluebench evaluate --labels ../shared/data/windows/evtx_labels.csv -w $(DRILL)/ws > /dev/null
	$(BIN)/bluebench drill questions $(DRILL_ARGS) --alerts-per-day 50 > docs/examples/drill-questions.md
	$(BIN)/bluebench drill check docs/examples/drill-answer.md $(DRILL_ARGS) > docs/examples/drill-scorecard.md || test $$? -eq 1

clean:
	rm -rf $(VENV) out .bluebench

# Everything runs from a project-local virtual environment (.venv), made on first use from
# the first Python 3.11+ found, with the pinned requirements. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= ap-southeast-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv lint format validate unit integration pytest build test demo dev bench redrive replay events clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt layers/casso/requirements.txt
	@py="$$(scripts/find-python 3.11)" || { \
	  echo "error: no Python 3.11 or newer found. Install one (python.org, your package manager, or 'pyenv install 3.13') and re-run." >&2; exit 1; }; \
	echo "creating $(VENV) with $$py"; \
	"$$py" -m venv --clear $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(STAMP) ## create .venv and install the pinned requirements

lint: venv ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv ## ruff: fix what can be fixed, format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: venv ## sam validate --lint (cfn-lint underneath; no AWS credentials needed)
	$(BIN)/sam validate --lint --template template.yaml

unit: venv ## unit tests (in-process moto)
	$(PYTHON) -m pytest tests/unit -q

integration: venv ## integration tests (a moto server on localhost)
	$(PYTHON) -m pytest tests/integration -q

pytest: venv ## unit and integration tests in one run
	$(PYTHON) -m pytest tests -q

build: venv ## sam build (needs python3.13, the Lambda runtime's version)
	@py313="$$(scripts/find-python 3.13 exact)" || { \
	  echo "error: sam build needs python3.13 (the functions' Lambda runtime) and none was found." >&2; \
	  echo "       Install it (e.g. 'pyenv install 3.13', 'apt install python3.13', python.org) and re-run." >&2; exit 1; }; \
	echo "sam build with $$py313"; \
	PATH="$$(dirname "$$py313"):$$PATH" $(BIN)/sam build --template template.yaml

# The tests run last so their summary line closes the output.
test: lint validate build pytest ## everything CI runs

demo: venv ## the whole pipeline on local AWS, told as a story, checked, summarised
	$(PYTHON) -m local.cli demo

dev: venv ## the local stack, left running (Ctrl-C stops it)
	$(PYTHON) -m local.cli up

bench: build ## benchmarks (about 10 minutes): tables printed, figures in bench/results.json
	$(PYTHON) -m bench $(BENCH)

redrive: venv ## move the dead-letter queue back to the queue: make redrive STACK=<stack name>
	@test -n "$(STACK)" || { echo "usage: make redrive STACK=<stack name>" >&2; exit 2; }
	$(PYTHON) -m ops redrive --stack $(STACK)

replay: venv ## process one transaction again: make replay STACK=<stack name> ID=<transaction id>
	@test -n "$(STACK)" -a -n "$(ID)" || { echo "usage: make replay STACK=<stack name> ID=<id>" >&2; exit 2; }
	$(PYTHON) -m ops replay --stack $(STACK) --id $(ID)

events: venv ## regenerate events/ (sample API Gateway events)
	$(PYTHON) -m local.sample_events

clean: ## remove the virtual environment, build output and every cache the project makes
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .hypothesis .local-stack

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

.PHONY: help venv lock lint format schemas validate unit integration pytest receiver-py313 build test demo dev bench redrive replay events clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-bootstrap.txt requirements-dev.txt layers/casso/requirements.txt
	@py="$$(scripts/find-python 3.11)" || { \
	  echo "error: no Python 3.11 or newer found. Install one (python.org, your package manager, or 'pyenv install 3.13') and re-run." >&2; exit 1; }; \
	echo "creating $(VENV) with $$py"; \
	"$$py" -m venv --clear $(VENV)
	@echo "installing uv, then the locked requirements into $(VENV), every file hash-checked..."
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes \
	  -r requirements-bootstrap.txt
	@$(BIN)/uv pip install --quiet --require-hashes --python $(PYTHON) -r requirements-dev.txt
	@echo "$(VENV) is ready: $$($(PYTHON) -m pip list --disable-pip-version-check 2>/dev/null | tail -n +3 | wc -l) packages"
	@touch $@

# The project root on the venv's import path (a .pth file, as an editable install makes), so
# `.venv/bin/python -m local.cli` and `-m ops` work from any folder, not only the root.
ROOT_PTH := $(VENV)/.root-on-path
$(ROOT_PTH): $(STAMP)
	@$(PYTHON) -c 'import sys, sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()["purelib"], "casso-payments-root.pth").write_text(sys.argv[1] + "\n")' "$(CURDIR)"
	@touch $@

venv: $(STAMP) $(ROOT_PTH) ## create .venv and install the locked requirements (hash-checked)

lock: venv ## recompile the lock files from requirements-dev.in and layers/casso/requirements.in
	$(BIN)/uv pip compile layers/casso/requirements.in --quiet --generate-hashes \
	  --python-version 3.13 --python-platform aarch64-manylinux2014 \
	  --custom-compile-command "make lock" -o layers/casso/requirements.txt
	$(BIN)/uv pip compile requirements-dev.in --quiet --generate-hashes --universal \
	  --python-version 3.11 --custom-compile-command "make lock" -o requirements-dev.txt
	$(BIN)/uv pip compile requirements-bootstrap.in --quiet --generate-hashes --universal \
	  --python-version 3.11 --custom-compile-command "make lock" -o requirements-bootstrap.txt

lint: venv ## ruff: lint and format check; mypy: types of the layer and the handlers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv ## ruff: fix what can be fixed, format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The template's two nested applications are templates of their own: monitoring/ (alarms,
# their topic, the dashboard) and schemas/ (the event schema registry, generated from
# schemas/events/*.json, which are the one source).
NESTED_TEMPLATES := monitoring/template.yaml schemas/template.yaml

# sam validate --lint and sam build make no AWS call, yet SAM refuses to start when
# AWS_PROFILE names a profile this machine lacks: run them without one.
SAM_OFFLINE := env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE $(BIN)/sam

schemas: venv ## write schemas/template.yaml (the schema registry) from schemas/events/*.json
	$(PYTHON) -m schemas.generate

validate: venv ## sam validate --lint of the template and its nested ones (cfn-lint; no AWS credentials needed)
	$(PYTHON) -m schemas.generate --check
	@for t in template.yaml $(NESTED_TEMPLATES); do \
	  echo "sam validate --lint --template $$t"; $(SAM_OFFLINE) validate --lint --template $$t; done

unit: venv ## unit tests (in-process moto)
	$(PYTHON) -m pytest tests/unit -q $(XDIST)

integration: venv ## integration tests (a moto server on localhost)
	$(PYTHON) -m pytest tests/integration -q $(XDIST)

# Tests spread over the cores (pytest-xdist); a module's tests stay on one worker, so the
# end-to-end modules start one local stack each. PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= auto
XDIST := -n $(PYTEST_WORKERS) --dist loadscope

pytest: venv ## every test in one run: unit, integration, end-to-end (and deployed, when AWS_SAM_STACK_NAME is set)
	$(PYTHON) -m pytest tests -q $(XDIST)

# The receiver's tests once more on python3.13, the Lambda runtime's version: recursion
# limits and the json module's C code differ from 3.11's, and hostile bodies probe exactly
# those. A venv of its own with the same locked, hash-checked requirements.
VENV313 ?= .venv-py313
STAMP313 := $(VENV313)/.installed
RECEIVER_TESTS := tests/unit/test_intake.py tests/unit/test_intake_hostile.py \
	tests/unit/test_webhook_auth.py tests/unit/test_payload.py \
	tests/unit/test_receiver_handler.py tests/unit/test_receiver_fuzz.py

$(STAMP313): $(STAMP) requirements-dev.txt
	@py313="$$(scripts/find-python 3.13 exact)" || { \
	  echo "error: the receiver's tests also run on python3.13 (the Lambda runtime) and none was found." >&2; \
	  echo "       Install it (e.g. 'pyenv install 3.13', 'apt install python3.13', python.org) and re-run." >&2; exit 1; }; \
	echo "creating $(VENV313) with $$py313"; \
	"$$py313" -m venv --clear $(VENV313)
	@$(BIN)/uv pip install --quiet --require-hashes --python $(VENV313)/bin/python -r requirements-dev.txt
	@touch $@

receiver-py313: $(STAMP313) ## the receiver's tests on python3.13 too
	$(VENV313)/bin/python -m pytest -q -p no:cacheprovider $(RECEIVER_TESTS)

# sam build ships sources only, and Lambda's file system is read-only: without bytecode in
# the artifacts every cold start compiles boto3, Powertools and the layer again (cold starts
# 2.3-2.6 times as long; docs/benchmarks.md#bytecode-shipped-with-the-build).
# Hash-checked, so a .pyc that no longer matches its source is never run. compileall -q
# prints only errors, on stdout: not redirected, so a module that fails to compile says why.
build: venv ## sam build (needs python3.13, the Lambda runtime's version), then its bytecode
	@py313="$$(scripts/find-python 3.13 exact)" || { \
	  echo "error: sam build needs python3.13 (the functions' Lambda runtime) and none was found." >&2; \
	  echo "       Install it (e.g. 'pyenv install 3.13', 'apt install python3.13', python.org) and re-run." >&2; exit 1; }; \
	$(PYTHON) -m schemas.generate --check; \
	echo "sam build with $$py313"; \
	PATH="$$(dirname "$$py313"):$$PATH" $(SAM_OFFLINE) build --template template.yaml && \
	echo "compiling .aws-sam/build for python3.13 (checked-hash .pyc, shipped by sam deploy)" && \
	"$$py313" -m compileall -q -j 0 --invalidation-mode checked-hash .aws-sam/build

# The checks first; then the python3.13 run beside the main one (each target's output kept
# together, the main run's summary last: it takes longest).
test: lint validate build ## everything CI runs
	@$(MAKE) --no-print-directory -j2 --output-sync=target receiver-py313 pytest

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

events: venv ## regenerate events/ (sample API Gateway and SQS events)
	$(PYTHON) -m local.sample_events

clean: ## remove the virtual environment, build output and every cache the project makes
	rm -rf $(VENV) $(VENV313) .aws-sam .pytest_cache .ruff_cache .mypy_cache .hypothesis .local-stack

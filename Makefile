# Warden — the two commands that matter:
#   make demo   installs what is missing, builds, runs a local devnet through $(TICKS) agent ticks
#   make test   installs what is missing, runs every check and test (forge and Rust)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BIN        := $(CURDIR)/node_modules/@foundry-rs
FORGE      := $(BIN)/forge-linux-amd64/bin/forge
ANVIL      := $(BIN)/anvil-linux-amd64/bin/anvil
STAMP      := node_modules/.warden-setup
OPERATORS  ?= 4
TICKS      ?= 5
CARGO      ?= cargo
# PostgreSQL for the tests that run on both databases: each creates and drops a database of its
# own on this server. Without a reachable server they are skipped, and `make test` says so at
# the end; CI (.ci/run) sets WARDEN_REQUIRE_POSTGRES=1 to fail instead.
export WARDEN_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
SKIP_LOG   := $(CURDIR)/target/skipped-tests.log

.PHONY: setup demo test test-contracts test-rust lint fmt artifacts abi abi-check gas bench bench-gas clean help

help:
	@echo "make demo    run a local Warden devnet: $(OPERATORS) operators, $(TICKS) agent ticks (OPERATORS=N TICKS=T)"
	@echo "make test    lint, forge tests and Rust tests"
	@echo "make setup   install the pinned Solidity toolchain into node_modules/"
	@echo "make gas     forge gas report of the contracts"
	@echo "make bench   commitOutput gas (bench-gas), then the aggregator's time per task beside eigensdk's BlsAggregatorService and a large agent's forward pass, one table"
	@echo "make bench-gas  commitOutput gas at 4, 100 and 1,000 operators, 0/1/10/33 % non-signers (forge)"
	@echo "make abi     re-export the contracts' ABI and bytecode for the Rust bindings (crates/bindings/abi/)"
	@echo "make fmt     format Rust and Solidity"

# The pinned toolchain (anvil, forge, cast 1.7.1, solc-js, OpenZeppelin, solady, Uniswap v2)
# comes from the npm registry at the versions in package-lock.json. Re-runs only when the lock
# file changes.
setup: $(STAMP)

$(STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is required: install Node.js 20+"; exit 1; }
	@command -v $(CARGO) >/dev/null || { echo "error: cargo (Rust) is required: install Rust via rustup"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@$(FORGE) --version | head -1
	@touch $@

# One line per task event and the result table; the services log warnings only unless RUST_LOG
# asks for more (make demo RUST_LOG=info).
demo: setup
	$(CARGO) run --quiet -p warden-cli -- devnet --operators $(OPERATORS) --ticks $(TICKS) --json devnet-summary.json

# EigenLayer's bytecode, exported from newton-utils, for the forge tests that run against it.
artifacts: setup
	$(CARGO) run --quiet -p warden-cli -- eigenlayer-artifacts contracts/eigenlayer-artifacts

# The Rust bindings are generated from crates/bindings/abi/, committed, so the workspace builds
# without forge; these two keep it equal to what forge builds from contracts/.
abi: setup
	cd contracts && $(FORGE) build --quiet
	node contracts/script/export-abi.js

abi-check: setup
	cd contracts && $(FORGE) build --quiet
	node contracts/script/export-abi.js --check

test: setup lint abi-check test-contracts test-rust

lint: setup
	$(CARGO) fmt --all -- --check
	cd contracts && $(FORGE) fmt --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

# The size gate reads the artifacts forge test has just built: every deployable contract of
# contracts/src must stay within 22 KB of runtime code (2 KB under EIP-170).
test-contracts: artifacts
	cd contracts && $(FORGE) test
	cd contracts && FOUNDRY_PROFILE=bench $(FORGE) test
	cd contracts && node script/sizes.js

test-rust: setup
	@mkdir -p target && rm -f $(SKIP_LOG)
	WARDEN_SKIP_LOG=$(SKIP_LOG) $(CARGO) test --workspace --all-features
	@if [ -s $(SKIP_LOG) ]; then \
	  echo; echo "################################################################"; \
	  echo "# WARNING: $$(wc -l < $(SKIP_LOG)) PostgreSQL tests were SKIPPED:"; \
	  sed 's/^/#   /' $(SKIP_LOG) | head -5; \
	  echo "# Point WARDEN_TEST_POSTGRES_URL at a PostgreSQL server to run them."; \
	  echo "################################################################"; fi

gas: artifacts
	cd contracts && $(FORGE) test --gas-report

# The gas matrix first, then both aggregator benches (criterion, release build) on the same
# workload and the large-agent forward pass, then one table read from criterion's results under
# target/criterion/
# (scripts/bench-table.js). Pass criterion options through BENCH_ARGS, e.g.
# make bench BENCH_ARGS=--quick.
BENCH_ARGS ?=
bench: setup bench-gas
	$(CARGO) bench -p warden-aggregator --bench intake --bench eigensdk -- --noplot $(BENCH_ARGS)
	$(CARGO) bench -p warden-agent --bench network -- --noplot $(BENCH_ARGS)
	@echo
	@node scripts/bench-table.js

# The commitOutput gas matrix, logged (make test runs it too, unlogged): the 1,000-operator case runs
# in the bench profile of contracts/foundry.toml, whose gas limit covers its set-up.
bench-gas: artifacts
	cd contracts && $(FORGE) test --match-contract 'CommitGasMatrix(4|100)Test' -vv | grep -E 'commitOutput|Suite'
	cd contracts && FOUNDRY_PROFILE=bench $(FORGE) test -vv | grep -E 'commitOutput|Suite'

fmt: setup
	$(CARGO) fmt --all
	cd contracts && $(FORGE) fmt

clean:
	$(CARGO) clean
	rm -rf contracts/out contracts/cache contracts/eigenlayer-artifacts node_modules

# The two commands: `make dev` runs the whole stack, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test test-pymongo test-compiled compile compile-clean lint bench loadtest demo token setup reset clean lock

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(PYTHON) -m pip install --user -q virtualenv && $(PYTHON) -m virtualenv -q $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# GraphiQL's assets come from the npm registry at setup time (never committed); without npm the
# explorer page explains how to install them, and everything else works.
# The reference federation tools (@apollo/composition, @apollo/gateway, the Grafbase CLI) land in
# var/reference the same way; the suites that compare with them skip, with the reason, without npm.
# The scripts are idempotent: they do nothing when the pinned versions are installed.
# The embedded MongoDB wire-protocol server (mongoeco) needs a Python >= 3.13: found on PATH or under
# pyenv and set up in .venv-mongo; without one, services without MONGODB_URL use the in-memory fake.
setup: $(STAMP)
	$(BIN)/python -m scripts.setup_mongo --if-possible
	$(BIN)/python -m scripts.install_graphiql --if-possible
	$(BIN)/python -m scripts.install_reference --if-possible

# make dev runs the gateway's hot modules compiled by mypyc (scripts/compile_gateway.py: about a minute of
# CPU, again after a hot module changed; idempotent otherwise); without a C compiler or Python's headers
# the gateway runs as pure Python.
dev: setup
	$(BIN)/python -m scripts.compile_gateway --if-possible
	$(BIN)/python -m scripts.devstack

# `make test` runs every suite on the pure-Python gateway (the fallback every install has), then compiles
# the hot modules and runs the gateway's suites again on the compiled build (`make test-compiled`); where
# nothing can be compiled (no C compiler or Python headers) it says so and skips that part.
test: setup
	GATEWAY_PURE_PYTHON=1 $(BIN)/python -m pytest
	@rc=0; $(BIN)/python -m scripts.compile_gateway || rc=$$?; \
	if [ $$rc -eq 0 ]; then GATEWAY_EXPECT_COMPILED=1 $(BIN)/python -m pytest -q tests/gateway tests/differential; \
	elif [ $$rc -eq 3 ]; then echo "make test: nothing can be compiled here; the gateway ran as pure Python only"; \
	else exit $$rc; fi

# Compiled (mypyc) or pure-Python gateway modules (gateway/native.py): `make compile-clean` or
# GATEWAY_PURE_PYTHON=1 gives pure Python; a source edited since the build is loaded as pure Python too.
compile: $(STAMP)
	$(BIN)/python -m scripts.compile_gateway

compile-clean: $(STAMP)
	$(BIN)/python -m scripts.compile_gateway --clean

test-compiled: setup compile
	GATEWAY_EXPECT_COMPILED=1 $(BIN)/python -m pytest -q tests/gateway tests/differential

# The long chaos run (docs/guarantees.md): three seeds of 1,000 orders each under their fault plans;
# `make test` runs a bounded version. A failing seed prints the command that runs it again.
chaos: setup
	$(BIN)/python -m tests.chaos --seed 1 --seed 2 --seed 3 --orders 1000 --log-dir var/chaos

# The integration suites once more on PyMongo's AsyncMongoClient (motor's successor) instead of motor.
INTEGRATION := tests/kit tests/products tests/orders tests/payments tests/notifications tests/e2e
test-pymongo: setup
	MONGODB_DRIVER=pymongo $(BIN)/python -m pytest -q $(INTEGRATION)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy authn gateway subgraphs scripts telemetry bench

# The order-spike load test (docs/loadtest.md): the whole stack on free ports, Locust headless through the
# gateway, then the invariant checks; the report lands in var/loadtest/<timestamp>/report.md. About three
# minutes with defaults; shorten it with LOADTEST_BEFORE / LOADTEST_SPIKE / LOADTEST_AFTER (seconds).
loadtest: setup
	$(BIN)/python -m bench.loadtest

demo: $(STAMP)
	$(BIN)/python -m scripts.demo

# A development JWT from .venv: make token SUB=alice [SCOPES="orders:admin catalog:write"] [EMAIL=alice@example.com]
# [ARGS="--ttl 600"]; `make token ARGS=--help` lists the scopes.
SUB ?= alice
token: $(STAMP)
	@$(BIN)/python -m gateway token --sub '$(SUB)' $(foreach s,$(SCOPES),--scope '$(s)') $(if $(EMAIL),--email '$(EMAIL)') $(ARGS)

# Every benchmark (bench/README.md). The peer gateways it compares ours with (Apollo Gateway, Hive Gateway
# with and without its Rust planner, Grafbase) come from the npm registry, pinned, into var/bench-peers;
# without npm they are skipped with the reason. `python -m bench peers --help` for a shorter run. It
# measures the build `make dev` runs: compiled where a C compiler is, else pure Python (it says which).
bench: setup
	$(BIN)/python -m scripts.compile_gateway --if-possible
	$(BIN)/python -m scripts.install_bench_peers --if-possible
	$(BIN)/python -m bench

# The lock files (hashes, every platform, Python 3.11 as in the image): requirements.lock holds the
# runtime dependencies the Dockerfile installs, requirements-dev.lock adds the dev extra and
# requirements-compile.lock the compile extra (mypy, for the image's mypyc build). Run after
# changing pyproject's dependencies (tests/deploy/test_lock.py fails until then).
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock"
lock: $(STAMP)
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -o requirements-dev.lock
	$(LOCK) --extra compile -o requirements-compile.lock

# Wipe make dev's data (the embedded MongoDB's file); the next make dev seeds the demo catalog again.
reset:
	rm -rf var/mongo

clean:
	rm -rf $(VENV) .venv-mongo var .mypy_cache .ruff_cache .pytest_cache

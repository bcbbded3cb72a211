# The two commands: `make demo` and `make test`. Each sets itself up from nothing:
# a virtual environment with the pinned dependencies, the Airflow metadata database
# (done by `channelwatch demo` / the test fixtures under ./var/airflow), and the local
# services the tests use (PostgreSQL started if installed but stopped, Chromium from Debian).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)

export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export GX_ANALYTICS_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The suite again with the clock moved (libfaketime): SHIFT=+365d or SHIFT=-365d. Every test
# not marked slow must pass on any date (.ci/run runs both shifts after `make test`).
SHIFT ?= +365d

.PHONY: demo test test-clock lint venv services chromium faketime tools clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/channelwatch demo

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  command -v pg_ctlcluster >/dev/null && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2; } || true
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || { \
	  command -v redis-server >/dev/null && \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; } || true

chromium:
	@test -x /usr/bin/chromium || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will fail under CI=true"; }

faketime:
	@command -v faketime >/dev/null || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null) \
	  || echo "warning: could not install faketime; make test-clock will fail"; }

tools: chromium faketime

test: $(STAMP) services tools
	$(BIN)/python -m pytest -q

# The habits of a maintained codebase: ruff (lint and format), sqlfluff over the views, and
# the import contracts (also a test). Settings: pyproject.toml, .sqlfluff, .importlinter.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql/
	$(BIN)/lint-imports

# The monotonic clock moves with the rest (leaving it alone makes Python's sleeps fail with
# EINVAL); the multi-threaded libfaketime, since the sandbox serves from threads.
test-clock: $(STAMP) services tools
	faketime -m -f "$(SHIFT)" $(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) var reports test-output

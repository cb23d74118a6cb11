# The two commands in the README: `make run` and `make test`. Both work on a fresh
# machine with only Python 3.11: they create the virtualenv and install what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test stress engine-test bench-renewals bench-sweep lint typecheck check-migrations check-messages messages ci sandbox bench host-test wheel mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The development site: DEBUG, SQLite, the built-in i'mport sandbox, a demo login.
run: $(VENV)/.installed
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py create_demo_user
	DEBUG=1 $(BIN)/python manage.py seed_demo_plan
	@echo "Open http://127.0.0.1:$(PORT)/ and sign in with the demo login above."
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The whole test suite. DATABASE_URL / CACHE_URL pick PostgreSQL / Redis when set.
test: $(VENV)/.installed
	scripts/browser_deps.sh
	$(BIN)/pytest

# The stress suite (docs/payments.md): races against the sandbox over HTTP, then local state == i'mport.
# Needs PostgreSQL and Redis on 127.0.0.1 (CI's second pass runs it within `make test`).
STRESS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/stress
STRESS_CACHE_URL ?= redis://127.0.0.1:6379/14
stress: $(VENV)/.installed
	DATABASE_URL=$(STRESS_DATABASE_URL) CACHE_URL=$(STRESS_CACHE_URL) $(BIN)/pytest -m stress tests/stress

# The engine suite (docs/engine.md): real Celery workers on a Redis broker, killed with SIGKILL, a broker
# restart, database connections killed, the shared rate limit. PostgreSQL and Redis on 127.0.0.1; CI's
# second pass runs it within `make test` too.
ENGINE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/engine
ENGINE_CACHE_URL ?= redis://127.0.0.1:6379/4
ENGINE_BROKER_URL ?= redis://127.0.0.1:6379/3
engine-test: $(VENV)/.installed
	DATABASE_URL=$(ENGINE_DATABASE_URL) CACHE_URL=$(ENGINE_CACHE_URL) ENGINE_BROKER_URL=$(ENGINE_BROKER_URL) \
		$(BIN)/pytest -m engine tests/engine

# The renewal benchmark (docs/benchmarks.md): 100,000 due subscriptions, workers on Redis, the sandbox with
# latency. Long (tens of minutes); not in CI. BENCH_ARGS="--count 20000 --latency 5" etc.
bench-renewals: $(VENV)/.installed
	$(BIN)/python benchmarks/renewals.py $(BENCH_ARGS)

# The sweep benchmark (docs/benchmarks.md): the sweep's memory and time for 10,000, 100,000 and 1,000,000 due
# renewals (no workers; the broker is Redis db 6). Long (about half an hour); not in CI.
bench-sweep: $(VENV)/.installed
	$(BIN)/python benchmarks/sweep_memory.py $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with the Django and DRF plugins over billing, merchant_site and subscriptions ([tool.mypy] in
# pyproject.toml). The plugins import merchant_site.settings, which needs DEBUG=1 (no SECRET_KEY here).
typecheck: $(VENV)/.installed
	DEBUG=1 $(BIN)/mypy

check-migrations: $(VENV)/.installed
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# CI: the ko and en catalogues are complete and match the code (needs GNU gettext); the .mo files are committed.
check-messages: $(VENV)/.installed
	$(BIN)/python scripts/check_messages.py

# After changing a user-facing string: update the catalogues (needs GNU gettext), translate, run again.
messages: $(VENV)/.installed
	$(BIN)/python scripts/check_messages.py --update

# The i'mport sandbox over HTTP, for other programs and end-to-end runs.
sandbox: $(VENV)/.installed
	DEBUG=1 $(BIN)/python manage.py iamport_sandbox --host 127.0.0.1 --port 8089

# The performance benchmark (docs/benchmarks.md): gunicorn + PostgreSQL + Redis + the sandbox, a few minutes.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379. BENCH_ARGS=--keep-db etc.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# billing as a merchant installs it: the wheel, built from this checkout (into dist/).
wheel: $(VENV)/.installed
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	rm -rf build *.egg-info
	@ls dist/*.whl

# The wheel installed into a new virtualenv, and the example host project's tests run with it (~1 min).
host-test: $(VENV)/.installed
	PYTHON=$(BIN)/python examples/host_project/check_wheel.sh

# Mutation testing of the money code (docs/testing.md): not in CI, about 45 minutes on 2 cores.
# Which files are mutated and which tests run: [tool.mutmut] in pyproject.toml. Work dir: mutants/.
mutation: $(VENV)/.installed
	rm -rf mutants
	$(BIN)/mutmut run --max-children $${MUTATION_JOBS:-2}
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) db.sqlite3 iamport_sandbox.sqlite3 build dist *.egg-info mutants

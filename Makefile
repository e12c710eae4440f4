# Flowline: `make run` to try it, `make test` to check it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install test-deps browser-deps worker web migrate demo bench clean run-scaled test-scaled test-soak bench-scaled bench-peers

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py migrate --database broker --noinput -v 0 || true

demo: migrate
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)

# Web server + one worker (qcluster + ticker) + the sandboxes, until Ctrl-C.
run: demo
	@echo ""
	@echo "  Flowline is starting at http://$(HOST):$(PORT)/   (log in: demo / flowline-demo)"
	@echo "  Sandboxes: http://$(HOST):$(PORT)/sandbox/ui/   Stop with Ctrl-C."
	@echo ""
	@FLOWLINE_ALLOW_LOOPBACK=1 FLOWLINE_PUBLIC_URL=http://$(HOST):$(PORT) bash -c '\
	  trap "trap - INT TERM EXIT; kill 0" INT TERM EXIT; \
	  $(BIN)/python manage.py worker & \
	  $(BIN)/python manage.py runserver --noreload $(HOST):$(PORT) & \
	  wait'

# Debian's Chromium for the browser tests (Playwright drives it; it cannot download browsers here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium; browser tests will fail"

test-deps: install browser-deps

test: test-deps
	$(BIN)/python -m pytest
	$(MAKE) test-scaled

# Scale-out profile (docs/SCALE-OUT.md): PostgreSQL + Redis on this machine's loopback.
PG_URL ?= postgresql://postgres@127.0.0.1:5432
REDIS ?= redis://127.0.0.1:6379
SCALED_ENV = DATABASE_URL=$(PG_URL)/flowline REDIS_URL=$(REDIS)/0 FLOWLINE_ALLOW_LOOPBACK=1 \
	FLOWLINE_PUBLIC_URL=http://$(HOST):$(PORT)
# The engine, triggers, isolation, fault and security tests again on PostgreSQL + Redis. pytest-django
# creates test_flowline_test itself; e2e/fault stacks create (and drop) their own databases and use
# their own cluster names on Redis db 15, which is emptied first (alert throttles must not leak across runs).
test-scaled: install
	$(BIN)/python -c "import redis; redis.Redis.from_url('$(REDIS)/15').flushdb()"
	DATABASE_URL=$(PG_URL)/flowline_test REDIS_URL=$(REDIS)/15 $(BIN)/python -m pytest \
	  tests/test_engine.py tests/test_fastsql.py tests/test_groupcommit.py tests/e2e tests/triggers tests/agency tests/faults tests/security

# Long fault soak (opt-in): workers SIGKILLed every few seconds for FLOWLINE_SOAK_SECONDS (default 600).
test-soak: install
	FLOWLINE_SOAK_SECONDS=$${FLOWLINE_SOAK_SECONDS:-600} $(BIN)/python -m pytest tests/faults/test_worker_kills.py -k soak

# PostgreSQL + Redis: create the database `flowline` if missing, migrate, then 2 web processes (`manage.py serve`) and
# 2 `manage.py worker` processes (each a qcluster + ticker) until Ctrl-C.
run-scaled: install
	@psql "$(PG_URL)/postgres" -Atc "select 1 from pg_database where datname='flowline'" | grep -q 1 || \
	  psql "$(PG_URL)/postgres" -c "create database flowline"
	$(SCALED_ENV) $(BIN)/python manage.py migrate --noinput -v 0
	$(SCALED_ENV) $(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	@echo ""
	@echo "  Flowline (PostgreSQL + Redis) at http://$(HOST):$(PORT)/  health: /health/ready  metrics: /metrics"
	@echo "  Stop with Ctrl-C."
	@$(SCALED_ENV) bash -c '\
	  trap "trap - INT TERM EXIT; kill 0" INT TERM EXIT; \
	  $(BIN)/python manage.py worker & \
	  $(BIN)/python manage.py worker & \
	  $(BIN)/python manage.py serve --host $(HOST) --port $(PORT) --workers 2 & \
	  wait'

bench: install
	$(BIN)/python bench/throughput.py

# Flowline next to n8n and Node-RED (../shared/bench/peers; run its setup.sh first): same job, fake CRM and wrk
# load; embedded, PostgreSQL + Redis with 2 and 4 workers; fresh flowline_perf* databases and Redis db 13.
# Writes bench/results/peers-<date>.json and bench/RESULTS-peers.md. PEERS_ARGS=--with-peers adds the peers.
bench-peers: install
	$(BIN)/python bench/peers.py $(PEERS_ARGS)

# Webhook-to-finished-run throughput on PostgreSQL + Redis with 1, 2 and 4 worker clusters (bench/RESULTS-scaled.md).
bench-scaled: install
	DATABASE_URL=$(PG_URL)/flowline_bench REDIS_URL=$(REDIS)/14 $(BIN)/python bench/scaled.py

clean:
	rm -rf var/ $(VENV)

# Rate-limit throughput against the GoHighLevel sandbox (bench/RESULTS-ratelimit.md): 200 flows creating
# contacts on one location for 60 s, then 200 on each of two locations.
.PHONY: bench-ratelimit
bench-ratelimit: install
	$(BIN)/python bench/ratelimit.py
	$(BIN)/python bench/ratelimit.py --locations 2 --workers 6

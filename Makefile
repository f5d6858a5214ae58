# Two commands do everything on a fresh machine: `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STATE := .run
SERVICES := customer catalog rating billing notification selfcare gateway
# Ports of `make up` (see README): API processes and each worker's health port.
READY_URLS := http://127.0.0.1:8080/health/ready http://127.0.0.1:8081/health/ready \
  $(foreach p,8091 8092 8093 8094 8095 8096 8097,http://127.0.0.1:$(p)/health/ready)
PYTEST := $(BIN)/python -m pytest

.PHONY: install up down test test-unit test-integration test-contract test-e2e test-deploy lint bench clean

install: $(VENV)/.installed

# System libraries that wheels cannot ship: Pango/HarfBuzz for WeasyPrint (billing's invoice PDFs).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

$(VENV)/.installed: constraints.txt pyproject.toml $(wildcard libs/*/pyproject.toml) $(wildcard services/*/pyproject.toml)
	@$(PYTHON) -c "import ctypes.util, sys; sys.exit(not all(ctypes.util.find_library(n) for n in ('pango-1.0', 'pangoft2-1.0', 'harfbuzz')))" \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt setuptools wheel
	$(BIN)/pip install -q --no-build-isolation -c constraints.txt -e 'libs/chassis[http,localinfra]' -e libs/pricing \
	  $(foreach s,$(SERVICES),-e services/$(s)) -e '.[dev]'
	touch $@

up: install
	$(BIN)/python -m chassis.localinfra up --state-dir $(STATE)
	@if [ -f $(STATE)/honcho.pid ] && kill -0 $$(cat $(STATE)/honcho.pid) 2>/dev/null; then \
	  echo "platform already running (pid $$(cat $(STATE)/honcho.pid))"; \
	else \
	  set -a; . $(STATE)/env; set +a; export PATH="$(BIN):$$PATH"; \
	  for s in $(SERVICES); do python -m $$s migrate >> $(STATE)/migrate.log 2>&1 || { cat $(STATE)/migrate.log; exit 1; }; done; \
	  python -m catalog load-demo >> $(STATE)/migrate.log 2>&1 || { cat $(STATE)/migrate.log; exit 1; }; \
	  nohup honcho -f Procfile start > $(STATE)/platform.log 2>&1 & echo $$! > $(STATE)/honcho.pid; \
	fi
	@$(BIN)/python -m chassis.localinfra wait --timeout 120 $(READY_URLS) || { tail -n 60 $(STATE)/platform.log; exit 1; }
	@echo
	@echo "Monetization platform is up."
	@echo "  Operator API (gateway):  http://127.0.0.1:8080"
	@echo "  Swagger UI:              http://127.0.0.1:8080/ui/"
	@echo "  Log in (admin):          $${GATEWAY_ADMIN_USERNAME:-admin} / $${GATEWAY_ADMIN_PASSWORD:-admin-dev-password}  -> POST /api/v1/auth/token"
	@echo "  Self-care portal:        http://127.0.0.1:8081"
	@echo "  Logs:                    $(STATE)/platform.log"
	@echo "  Stop everything:         make down"

down:
	@if [ -f $(STATE)/honcho.pid ]; then \
	  pid=$$(cat $(STATE)/honcho.pid); kill $$pid 2>/dev/null || true; \
	  for i in $$(seq 1 100); do kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	  rm -f $(STATE)/honcho.pid; echo "stopped the platform"; \
	fi
	@test ! -x $(BIN)/python || $(BIN)/python -m chassis.localinfra down --state-dir $(STATE)

# Every tier in one session (one mongod, one RabbitMQ vhost): unit, integration, contract, e2e, deploy.
test: install
	$(PYTEST)

test-unit: install
	$(PYTEST) libs/*/tests/unit services/*/tests/unit

test-integration: install
	$(PYTEST) libs/chassis/tests/integration services/*/tests/integration

test-contract: install
	$(PYTEST) tests/contract

test-e2e: install
	$(PYTEST) tests/e2e

test-deploy: install
	$(PYTEST) tests/deploy

lint: install
	$(BIN)/ruff check libs services tests bench
	$(BIN)/mypy libs/chassis/chassis libs/pricing/pricing

bench: install
	$(BIN)/python bench/run.py

clean: down
	rm -rf $(VENV) $(STATE)

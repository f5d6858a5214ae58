# Two commands do everything on a fresh machine: `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STATE := .run
# The services, their processes and default ports are declared once, in contracts/services.toml. chassis.manifest
# reads it with the standard library only, so the system Python reads it before the venv exists.
MANIFEST_FILE := contracts/services.toml
MANIFEST := PYTHONPATH=$(CURDIR)/libs/chassis $(PYTHON) -m chassis.manifest --file $(CURDIR)/$(MANIFEST_FILE)
SERVICES := $(shell $(MANIFEST) services)
ifeq ($(strip $(SERVICES)),)
$(error $(MANIFEST_FILE) could not be read with $(PYTHON) (Python 3.11 or later is needed))
endif
# Expanded only by `make up` (recursive variables): what it waits on (every process's /health/ready, the SMS
# gateway's /health/live) and a process's default port, $(call port,<service>,<process>).
READY_URLS = $(shell $(MANIFEST) ready-urls)
port = $(shell $(MANIFEST) port $(1) $(2))
# The notification worker delivers to the local stand-ins (Procfile) unless these are set.
LOCAL_NOTIFICATION_ENV = NOTIFICATION_SMTP_HOST="$${NOTIFICATION_SMTP_HOST:-127.0.0.1}" \
  NOTIFICATION_SMTP_PORT="$${NOTIFICATION_SMTP_PORT:-$(call port,notification,smtp-sink)}" NOTIFICATION_SMTP_STARTTLS="$${NOTIFICATION_SMTP_STARTTLS:-false}" \
  NOTIFICATION_SMS_URL="$${NOTIFICATION_SMS_URL:-http://127.0.0.1:$(call port,notification,sms-gateway)/messages}" \
  NOTIFICATION_WEBHOOK_SECRET="$${NOTIFICATION_WEBHOOK_SECRET:-local-development-webhook-secret}"
PYTEST := $(BIN)/python -m pytest

.PHONY: install browser up down test test-unit test-integration test-contract test-e2e test-browser test-deploy test-fuzz lint bench clean

install: $(VENV)/.installed

# System libraries that wheels cannot ship: Pango/HarfBuzz for WeasyPrint (billing's invoice PDFs).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

$(VENV)/.installed: constraints.txt pyproject.toml $(wildcard libs/*/pyproject.toml) $(wildcard services/*/pyproject.toml)
	@$(PYTHON) -c "import ctypes.util, sys; sys.exit(not all(ctypes.util.find_library(n) for n in ('pango-1.0', 'pangoft2-1.0', 'harfbuzz')))" \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt setuptools wheel
	$(BIN)/pip install -q --no-build-isolation -c constraints.txt -e 'libs/chassis[http,localinfra,testing]' -e libs/pricing \
	  $(foreach s,$(SERVICES),-e services/$(s)) -e '.[dev]'
	touch $@

# The operator console's front-end packages (exact versions in services/gateway/package.json; no lock
# file) from the npm registry into the gitignored services/gateway/node_modules, served under /console/assets.
CONSOLE_PACKAGES := services/gateway/node_modules/.installed
install: $(CONSOLE_PACKAGES)
$(CONSOLE_PACKAGES): services/gateway/package.json
	@command -v npm >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; }
	cd services/gateway && npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

up: install
	$(BIN)/python -m chassis.localinfra up --state-dir $(STATE)
	@if [ -f $(STATE)/platform.pid ] && kill -0 $$(cat $(STATE)/platform.pid) 2>/dev/null; then \
	  echo "platform already running (pid $$(cat $(STATE)/platform.pid))"; \
	else \
	  set -a; . $(STATE)/env; set +a; export PATH="$(BIN):$$PATH"; \
	  for s in $(SERVICES); do python -m $$s migrate >> $(STATE)/migrate.log 2>&1 || { cat $(STATE)/migrate.log; exit 1; }; done; \
	  python -m catalog load-demo >> $(STATE)/migrate.log 2>&1 || { cat $(STATE)/migrate.log; exit 1; }; \
	  export $(LOCAL_NOTIFICATION_ENV); \
	  nohup python -m chassis.procfile Procfile > $(STATE)/platform.log 2>&1 & echo $$! > $(STATE)/platform.pid; \
	fi
	@$(BIN)/python -m chassis.localinfra wait --timeout 120 $(READY_URLS) || { tail -n 60 $(STATE)/platform.log; exit 1; }
	@set -a; . $(STATE)/env; set +a; $(BIN)/python -m selfcare load-demo > $(STATE)/selfcare-demo.log 2>&1 \
	  || { cat $(STATE)/selfcare-demo.log; exit 1; }
	@echo
	@echo "Monetization platform is up."
	@gateway=http://127.0.0.1:$(call port,gateway,api); \
	  echo "  Operator API (gateway):  $$gateway"; \
	  echo "  Swagger UI:              $$gateway/ui/"; \
	  echo "  Operator console:        $$gateway/console  (log in as below; viewers only read)"
	@echo "  Log in (admin):          $${GATEWAY_ADMIN_USERNAME:-admin} / $${GATEWAY_ADMIN_PASSWORD:-admin-dev-password}  -> console, or POST /api/v1/auth/token"
	@echo "  Self-care portal:        http://127.0.0.1:$(call port,selfcare,api)"
	@echo "  Portal demo login:       $$(sed -n 's/.*portal login //p' $(STATE)/selfcare-demo.log)"
	@echo "  Emails sent (SMTP sink): $(CURDIR)/$(STATE)/mail/*.eml  (local SMTP on 127.0.0.1:$(call port,notification,smtp-sink))"
	@echo "  SMS sent (SMS gateway):  curl http://127.0.0.1:$(call port,notification,sms-gateway)/messages  or  $(STATE)/sms/messages.jsonl"
	@echo "  Logs:                    $(STATE)/platform.log"
	@echo "  Stop everything:         make down"

down:
	@if [ -f $(STATE)/platform.pid ]; then \
	  pid=$$(cat $(STATE)/platform.pid); kill $$pid 2>/dev/null || true; \
	  for i in $$(seq 1 100); do kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	  rm -f $(STATE)/platform.pid; echo "stopped the platform"; \
	fi
	@test ! -x $(BIN)/python || $(BIN)/python -m chassis.localinfra down --state-dir $(STATE)

# Every tier (unit, integration, contract, e2e, browser, deploy) on TEST_WORKERS pytest-xdist workers, each
# with its own mongod; every test module gets its own RabbitMQ vhost and stays on one worker. Then the fuzz
# tier (schemathesis, marker `fuzz`) without workers: under xdist its generated tests would not run.
TEST_WORKERS ?= 3
test: install browser
	$(PYTEST) -n $(TEST_WORKERS) --dist loadfile -m "not fuzz"
	$(PYTEST) -m fuzz

test-unit: install
	$(PYTEST) libs/*/tests/unit services/*/tests/unit

test-integration: install
	$(PYTEST) libs/chassis/tests/integration services/*/tests/integration

test-contract: install
	$(PYTEST) tests/contract

test-e2e: install
	$(PYTEST) tests/e2e

test-browser: install browser
	$(PYTEST) tests/browser

test-deploy: install
	$(PYTEST) tests/deploy

# schemathesis against the running gateway and portal API, fixed seed; FUZZ_EXAMPLES=<n> per operation (default 2).
test-fuzz: install
	$(PYTEST) -m fuzz

lint: install
	$(BIN)/ruff check libs services tests bench
	$(BIN)/mypy libs/chassis/chassis libs/pricing/pricing $(foreach s,$(SERVICES),services/$(s)/$(s))

bench: install
	$(BIN)/python bench/run.py

clean: down
	rm -rf $(VENV) $(STATE)

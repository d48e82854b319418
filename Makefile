# Two commands set up a fresh machine: `make up` (the platform on embedded defaults) and `make test`.
# Both create .venv and install the project into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv up test lint bench clean browser broker

# The end-to-end tests drive Debian's Chromium headless. Installed when missing and we may (root with
# apt-get); otherwise those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium not installed: end-to-end browser tests will be skipped"; }

# Mosquitto is the embedded broker of choice: MQTT 5 shared subscriptions and a persistent offline
# queue (zero loss across daemon restarts). Installed when missing and we may; otherwise `mcs up`
# falls back to the pure-Python amqtt broker (MQTT 3.1.1, one replica, no offline queue).
broker:
	@command -v mosquitto >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null; } \
		|| echo "mosquitto not installed: using the amqtt fallback broker (see README)"; }

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

up: $(STAMP) broker
	$(BIN)/mcs up

test: $(STAMP) broker browser
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .mcs-data

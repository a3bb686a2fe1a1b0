# Two entry points (see README.md): `make demo` runs accelgen on the embedded default model,
# `make test` installs everything the tests need and runs every tier.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test setup clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/accelgen build --board zcu102 --fps 30 --force

test: $(STAMP)
	bash scripts/system_deps.sh
	$(PY) -m pytest -q -n 2 --durations=15

clean:
	rm -rf $(VENV) build

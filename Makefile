# Two entry points (see README.md): `make demo` runs accelgen on the embedded default model,
# `make test` installs everything the tests need and runs every tier.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYNQ_VENV  ?= .venv-pynq
PYNQ_STAMP := $(PYNQ_VENV)/.installed

.PHONY: demo test setup clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $(STAMP)

# The real-pynq driver test's own environment (pynq needs numpy<2).
$(PYNQ_STAMP): scripts/pynq_venv.sh
	bash scripts/pynq_venv.sh $(PYNQ_VENV)
	touch $(PYNQ_STAMP)

setup: $(STAMP) $(PYNQ_STAMP)

demo: $(STAMP)
	$(VENV)/bin/accelgen build --board zcu102 --fps 30 --force

# One BLAS/OpenMP thread per pytest worker: two workers on two cores, no oversubscription.
test: $(STAMP) $(PYNQ_STAMP)
	bash scripts/system_deps.sh
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 --dist loadgroup --durations=20

clean:
	rm -rf $(VENV) $(PYNQ_VENV) build

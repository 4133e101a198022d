# The two set-up commands of the README: `make demo` and `make test`. Both create .venv on first use.
# torch is pinned here (the CPU wheel of this machine); pyproject.toml leaves it open for GPU users.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
EXTRAS ?= graphs,crystals,spectra,music,medical,dev

.PHONY: demo test install benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-$(EXTRAS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed-$(EXTRAS)

demo: install
	$(BIN)/morphogen demo

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=25

benchmark: install
	$(BIN)/python benchmarks/core_oracle.py

clean:
	rm -rf $(VENV) outputs

# Two-command quick start: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: setup demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[all,test]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/synsem-ephys demo --out demo_out

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/bench_sim.py

clean:
	rm -rf $(VENV) demo_out

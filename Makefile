# lobby-wall: `make demo` shows the wall on its demo content, `make test` runs every check.
# Both install what they need first (Debian packages through apt, Python packages in .venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export QT_API := pyside6

.PHONY: demo test bench lint run bytecode system-deps system-deps-test system-deps-bench clean

demo: system-deps bytecode
	$(BIN)/wall demo

test: system-deps-test lint
	bash scripts/install-synapse.sh
	bash scripts/install-axe.sh
	$(BIN)/pytest -q -n 2 --dist loadfile

bench: system-deps-bench bytecode
	$(BIN)/python -m bench

lint: bytecode
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy wall sources widgets bench tests

run: system-deps bytecode
	$(BIN)/wall run

# The wall's own modules compiled ahead: the kiosk's user cannot write under /opt/lobby-wall, so
# without this every start compiles ~80 modules from source (slower to the first frame, and ~2 MB of
# heap the compiler leaves fragmented). Only stale or missing files are compiled again, so this is
# quick after a `git pull`.
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q -j 0 wall widgets sources

system-deps:
	bash scripts/install-debian-deps.sh run

system-deps-test:
	bash scripts/install-debian-deps.sh test

system-deps-bench:
	bash scripts/install-debian-deps.sh bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) demo-out build *.egg-info

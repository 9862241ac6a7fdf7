# The commands CI runs (.ci/run calls `make test`), each usable on its own.
PYTHON ?= python3

.PHONY: test install install-test rust-test py-test lint bench bench-py

# Install the package with its test extras (one release build), then run every test.
test: install-test rust-test py-test

install:
	$(PYTHON) -m pip install --quiet .

install-test:
	$(PYTHON) -m pip install --quiet ".[test]"

# The core without Python: unit tests and proptest.
rust-test:
	cargo test --quiet

py-test:
	$(PYTHON) -m pytest -q

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --features python -- -D warnings

bench:
	cargo bench --bench treebitmap

bench-py:
	$(PYTHON) benches/compare.py

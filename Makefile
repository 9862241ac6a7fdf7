# The commands CI runs (.ci/run calls `make test`), each usable on its own.
PYTHON ?= python3

.PHONY: test install install-test rust-test py-test stubtest fuzz-smoke fuzz lint bench bench-py bench-db sample-db

# Install the package with its test extras (one release build), then run every test.
test: install-test rust-test py-test stubtest fuzz-smoke

install:
	$(PYTHON) -m pip install --quiet .

# mmdblookup (libmaxminddb's, Debian's mmdb-bin) reads the MMDB exports back in tests/test_mmdb.py.
install-test:
	$(PYTHON) -m pip install --quiet ".[test]"
	command -v mmdblookup >/dev/null || (apt-get update -q && apt-get install -y -q mmdb-bin)

# The core without Python: unit tests and proptest.
rust-test:
	cargo test --quiet

py-test:
	$(PYTHON) -m pytest -q

# The type stub against the installed extension, name for name and signature for
# signature; the allowlist holds only what stubtest cannot see, each with its reason.
stubtest:
	$(PYTHON) -m mypy.stubtest geoip_rs._geoip_rs --allowlist tests/stubtest-allowlist.txt

# Every fuzz target for 60 s on seeds from ../shared/data (fuzz/run.sh): a crash
# found again, or a new one near the seeds, fails CI.
fuzz-smoke:
	PYTHON=$(PYTHON) bash fuzz/run.sh 60

# Long runs (an hour each): make fuzz FUZZ_SECONDS=3600
FUZZ_SECONDS ?= 3600
fuzz:
	PYTHON=$(PYTHON) bash fuzz/run.sh $(FUZZ_SECONDS)

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --features python -- -D warnings

bench:
	cargo bench --bench treebitmap

bench-py:
	$(PYTHON) benches/compare.py

bench-db:
	cargo bench --bench database

# Rebuild the bundled sample database from ../shared/data (tests/test_sample.py
# checks that the committed file is what this makes).
sample-db:
	$(PYTHON) scripts/build_sample_db.py

"""Shared test machinery: the two PrefixTable implementations, the shared data
directory, a reader for pyasn ipasn files and the hypothesis profiles.

Every behavioural test takes the ``Table`` fixture and so runs twice: against the
Rust extension (``geoip_rs.PrefixTable``) and against the pure-Python reference
(``geoip_rs.reference.PrefixTable``), which must agree on everything.

Environment:
  CI=1                        failures instead of skips when shared data is missing,
                              and the thorough hypothesis profile.
  GEOIP_RS_SHARED_DATA=dir    where the public datasets live (default ../shared/data
                              next to the repository).
  GEOIP_RS_CACHE              always set here to an empty folder of the session's, so
                              that geoip_rs.open() and the CLI (child processes
                              inherit it) open the bundled sample, whatever
                              `geoip-rs update` has put in the user's cache.
  GEOIP_RS_REFERENCE_ONLY=1   developer aid, never set in CI: skip the Rust params (for
                              working on tests/reference before the extension is
                              built). The reference is then loaded from its file,
                              because geoip_rs/__init__.py imports the extension.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

IN_CI = bool(os.environ.get("CI"))
REFERENCE_ONLY = os.environ.get("GEOIP_RS_REFERENCE_ONLY") == "1"

settings.register_profile(
    "ci",
    max_examples=600,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))


def _extension_importable() -> bool:
    try:
        import geoip_rs  # noqa: F401
    except ImportError:
        return False
    return True


# The GeoIP databases built from the shared data, shared by tests/test_db_*.py: the
# fixtures of a plugin are registered once, so each database is built once per session.
# The plugin imports the extension: with REFERENCE_ONLY and no extension built, it is
# left out, so that only the files using these databases fail, not every test.
pytest_plugins = ["dbfixtures"] if not REFERENCE_ONLY or _extension_importable() else []


def pytest_configure(config):
    import tempfile

    os.environ["GEOIP_RS_CACHE"] = tempfile.mkdtemp(prefix="geoip_rs_cache_")
    for name in list(os.environ):
        if name.startswith("GEOIP_RS_URL_") or name == "GEOIP_RS_ACCEPT_CAIDA_AUA":
            del os.environ[name]
    if IN_CI and REFERENCE_ONLY:
        raise pytest.UsageError("GEOIP_RS_REFERENCE_ONLY must not be set in CI")


# ---- the implementations ----------------------------------------------------------

IMPLS = ("rust", "reference")
_loaded: dict[str, type] = {}


def _load_reference_from_file() -> type:
    path = Path(__file__).resolve().parents[1] / "python" / "geoip_rs" / "reference.py"
    spec = importlib.util.spec_from_file_location("geoip_rs_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pickle looks classes up in sys.modules
    spec.loader.exec_module(module)
    return module.PrefixTable


def load_impl(name: str) -> type:
    """The PrefixTable class of implementation ``name`` ("rust" or "reference")."""
    if name == "rust" and REFERENCE_ONLY:
        pytest.skip("GEOIP_RS_REFERENCE_ONLY=1: the Rust extension is not tested")
    if name not in _loaded:
        if name == "rust":
            import geoip_rs  # a missing extension is an error, not a skip

            _loaded[name] = geoip_rs.PrefixTable
        elif REFERENCE_ONLY:
            _loaded[name] = _load_reference_from_file()
        else:
            from geoip_rs.reference import PrefixTable

            _loaded[name] = PrefixTable
    return _loaded[name]


def available_impls() -> list[str]:
    return ["reference"] if REFERENCE_ONLY else list(IMPLS)


@pytest.fixture(params=IMPLS)
def Table(request) -> type:
    """The PrefixTable class under test; every test using it runs for both impls."""
    return load_impl(request.param)


@pytest.fixture
def RustTable() -> type:
    return load_impl("rust")


@pytest.fixture
def RefTable() -> type:
    return load_impl("reference")


# ---- shared public datasets -------------------------------------------------------


def shared_data_dir() -> Path:
    env = os.environ.get("GEOIP_RS_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_shared(*relpaths: str) -> Path:
    """The shared data directory, checking that ``relpaths`` exist in it.

    Missing data fails the test in CI (a silently skipped acceptance test would hide
    a broken setup) and skips it on a developer machine.
    """
    root = shared_data_dir()
    missing = [p for p in relpaths if not (root / p).is_file()]
    if not root.is_dir() or missing:
        msg = (
            f"shared test data not found in {root} (missing: {missing or 'directory'}); "
            "set GEOIP_RS_SHARED_DATA to the directory holding SOURCES.md"
        )
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared()


def read_ipasn(path: Path) -> list[tuple[str, int]]:
    """Read a pyasn ipasn file (``.dat.gz`` or plain): ``prefix<TAB>asn`` lines,
    ``;`` comment lines, into a list of ``(prefix, asn)``."""
    opener = gzip.open if str(path).endswith(".gz") else open
    rows = []
    with opener(path, "rt", encoding="ascii") as f:
        for line in f:
            if line.startswith(";") or not line.strip():
                continue
            prefix, asn = line.split("\t")
            rows.append((prefix, int(asn)))
    return rows


def read_expected_tsv(path: Path) -> list[tuple[str, int | None]]:
    """Read an ``ip<TAB>asn`` file of expected answers (``#`` comments, ``None``)."""
    rows = []
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            ip, asn = line.rstrip("\n").split("\t")
            rows.append((ip, None if asn == "None" else int(asn)))
    return rows


def parse_as2org_pipe(path: Path) -> tuple[dict[str, dict], dict[int, dict], int]:
    """A CAIDA as2org pipe file parsed independently of geoip_rs: ``(orgs, ases,
    duplicate AS lines)``, each a dict of the file's columns. An AS listed twice keeps
    the line with the latest ``changed`` date (a missing date is older than any; a tie
    keeps the first), as ``read_as2org`` documents."""
    orgs: dict[str, dict] = {}
    ases: dict[int, dict] = {}
    duplicates = 0
    columns: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# format:"):
                columns = line[len("# format:"):].split("|")
                continue
            if line.startswith("#") or not line.strip():
                continue
            row = dict(zip(columns, line.split("|"), strict=True))
            if columns[0] == "org_id":
                orgs[row["org_id"]] = row
                continue
            asn = int(row["aut"])
            if asn in ases:
                duplicates += 1
                if row["changed"] <= ases[asn]["changed"]:
                    continue
            ases[asn] = row
    return orgs, ases, duplicates

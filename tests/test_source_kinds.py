"""The one list of source kinds (``geoip_rs.SOURCE_KINDS``): ``build_database``'s
keyword arguments and ``geoip-rs build``'s options come from it, unknown kinds are
refused as Python refuses an unknown keyword, and a build keeps each file's load
summary."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import require_shared

import geoip_rs

IPASN = "ipasn/ipasn_20140513.dat.gz"
RIPE = "rir/delegated-ripencc-20140803.gz"
MRT = "mrt/rib.20140523.0600_firstMB.bz2"


def shared(rel: str) -> str:
    return str(require_shared(rel) / rel)


def test_the_list_names_every_kind_once_prefix_sources_first():
    kinds = geoip_rs.SOURCE_KINDS
    names = [name for name, _, _ in kinds]
    assert names == ["mrt", "ipasn", "pfx2as", "mmdb", "as2org", "delegated", "asnames"]
    assert all(isinstance(what, str) and what for _, what, _ in kinds)
    assert [prefix for _, _, prefix in kinds] == [True, True, True, True, False, False, False]


def test_an_unknown_kind_is_an_unexpected_keyword(tmp_path):
    with pytest.raises(TypeError, match=r"^build_database\(\) got an unexpected keyword argument 'rib'$"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", rib=shared(MRT))
    assert not (tmp_path / "x.geoipdb").exists()


def test_no_prefix_source_is_named_from_the_list(tmp_path):
    with pytest.raises(ValueError, match=r"^a database needs a prefix source: give mrt, ipasn, pfx2as or mmdb files$"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", delegated=shared(RIPE))


def test_a_build_keeps_each_files_load_summary(tmp_path):
    files = {"delegated": shared(RIPE), "ipasn": shared(IPASN), "mrt": [shared(MRT)]}
    with geoip_rs.build_database(tmp_path / "s.geoipdb", **files, on_error="skip") as db:
        summaries = db.load_summaries
        # Read in the list's order, whatever the keywords' order.
        assert list(summaries) == [shared(MRT), shared(IPASN), shared(RIPE)]
        assert summaries[shared(MRT)]["truncated"]  # the file is cut after 1 MB
        assert summaries[shared(RIPE)]["errors"] == []
        assert summaries[shared(IPASN)]["prefixes"] == 512_621
        # The provenance holds the same counts.
        by_name = {s["name"]: s for s in db.metadata["sources"]}
        for path, s in summaries.items():
            assert by_name[path.rsplit("/", 1)[1]]["records"] == s["records"]
    assert geoip_rs.open().load_summaries == {}


def test_the_cli_has_an_option_per_kind():
    help_text = subprocess.run(
        [sys.executable, "-m", "geoip_rs", "build", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout
    for name, what, _ in geoip_rs.SOURCE_KINDS:
        assert f"--{name} FILE" in help_text
        assert what.split(" (")[0] in " ".join(help_text.split())


def test_a_build_without_prefix_source_fails_before_any_progress(tmp_path, capfd):
    """The mistake is reported alone: no progress bar is drawn (tqdm writes to stderr)
    and no callback is called, however large the registry files."""
    calls = []
    with pytest.raises(ValueError, match="prefix source"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", delegated=[shared(RIPE)],
                                progress=lambda done, total: calls.append(done))
    with pytest.raises(ValueError, match="prefix source"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", delegated=[shared(RIPE)], progress=True)
    assert calls == [] and capfd.readouterr().err == ""
    assert not (tmp_path / "x.geoipdb").exists()

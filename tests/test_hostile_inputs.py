"""Every reader on damaged real files (see tests/hostile.py): seeded truncations,
bit flips and random runs, plain and compressed, read under a 1 GB address-space
limit with a time bound per file. Each file is read or refused with the reader's
own error; no crash, no hang, no runaway memory."""

from __future__ import annotations

import shutil

import hostile
import pytest
from conftest import require_shared

READERS = [*hostile.SOURCES, "database"]


@pytest.mark.parametrize("reader", READERS)
def test_damaged_files_are_read_or_refused(reader, tmp_path):
    if shutil.which("prlimit") is None:
        pytest.fail("prlimit (util-linux) is needed")
    for rel, _ in hostile.SOURCES.values():
        require_shared(rel)
    r = hostile.run(reader, hostile.cases(reader, tmp_path, 45, seed=2026))
    assert r["died_at"] is None and r["returncode"] == 0, (r["died_at"], r["stderr"])
    assert r["crashes"] == []
    assert r["read"] + r["refused"] == r["inputs"] == 45
    assert r["peak_rss_mb"] < 1024

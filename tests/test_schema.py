"""One schema of record fields (``_geoip_rs.RECORD_FIELDS``, from the core): the
``Record`` class, its ``to_dict``, the batch columns, ``to_pandas``, the command
line's CSV columns and the export's columns all follow it, in its order; and the
per-AS country of ``summary`` follows the same fallback chain as records, checked
against ``as_info``'s separate sources."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import geoip_rs
from geoip_rs import _geoip_rs

NAMES = [name for name, _, _ in _geoip_rs.RECORD_FIELDS]
BATCH = [name for name, kind, _ in _geoip_rs.RECORD_FIELDS if kind != "origins"]


def test_fields_are_described():
    kinds = {kind for _, kind, _ in _geoip_rs.RECORD_FIELDS}
    assert kinds == {"address", "network", "asn", "origins", "text", "code"}
    assert len(set(NAMES)) == len(NAMES) and all(doc for _, _, doc in _geoip_rs.RECORD_FIELDS)


def test_record_follows_the_schema():
    db = geoip_rs.open()
    r = db.lookup("8.8.8.8")
    assert list(r.to_dict()) == NAMES
    assert [getattr(r, n) for n in NAMES] == list(r.to_dict().values())
    assert r.__reduce__()[1] == tuple(r.to_dict().values())
    assert repr(r).startswith("Record(" + "=".join(["address", ""]))
    shown = [part.split("=", 1)[0] for part in repr(r)[len("Record("):-1].split(", ")]
    assert [n for n in shown if n in NAMES] == NAMES


def test_batch_and_frames_follow_the_schema():
    db = geoip_rs.open()
    cols = db.lookup_batch(["8.8.8.8", "192.0.2.1"], details=True)
    assert set(BATCH) - {"address"} <= set(cols)
    frame = db.to_pandas(["8.8.8.8", "192.0.2.1"])
    # Every field, with the prefix's length after the prefix.
    assert [c for c in frame.columns if c != "prefix_len"] == NAMES
    assert list(frame.columns).index("prefix_len") == NAMES.index("prefix") + 1
    record = db.lookup("8.8.8.8").to_dict()
    row = {n: None if n != "origins" and pd.isna(v) else v for n, v in frame.iloc[0].to_dict().items()}
    assert {n: str(row[n]) for n in BATCH} == {n: str(record[n]) for n in BATCH}
    assert tuple(row["origins"]) == record["origins"]


def run(*args: str) -> str:
    p = subprocess.run([sys.executable, "-m", "geoip_rs", *args], capture_output=True,
                       text=True, timeout=300, check=True)
    return p.stdout


def test_command_line_columns_follow_the_schema():
    header = next(csv.reader(io.StringIO(run("lookup", "-o", "csv", "8.8.8.8"))))
    assert header == BATCH
    text = run("export", "--format", "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == NAMES[1:]
    db = geoip_rs.open()
    first = db.lookup(next(iter(db))[0].network_address)
    assert len(rows) == len(db) + 1
    prefix, asn = next(iter(db))
    assert rows[1][:2] == [str(prefix), str(asn)]
    assert rows[1][2].split() == [str(o) for o in first.origins] or first.prefix != prefix


def test_as_country_is_the_record_chain_without_the_block():
    """Per AS: the organisation's country, else the AS number's RIR country, else the
    AS name's (the address block's step has no address to look at)."""
    db = geoip_rs.open()
    s = db.summary("asn", frame=False)
    assert len(s["asn"]) > 1000
    for asn, country in zip(s["asn"], s["country"]):
        info = db.as_info(asn) or {}
        want = info.get("org_country") or info.get("rir_country") or info.get("name_country")
        assert country == want, asn


def test_summary_by_is_checked():
    db = geoip_rs.open()
    with pytest.raises(ValueError, match="by must be 'asn' or 'country', not .org."):
        db.summary("org")
    assert np.sum(db.summary("country", frame=False)["ipv4_prefixes"]) == db.metadata["counts"]["ipv4_prefixes"]


def test_the_stub_documents_every_field():
    """The stub's ``Record`` has a property for each field of the schema, and its
    ``RECORD_FIELDS`` docstring names every field type."""
    import ast
    from pathlib import Path

    stub = Path(__file__).resolve().parents[1] / "python" / "geoip_rs" / "_geoip_rs.pyi"
    tree = ast.parse(stub.read_text())
    record = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Record")
    properties = {n.name for n in record.body if isinstance(n, ast.FunctionDef)
                  and any(getattr(d, "id", None) == "property" for d in n.decorator_list)}
    assert set(NAMES) <= properties, sorted(set(NAMES) - properties)
    text = stub.read_text()
    doc = text[text.index("RECORD_FIELDS:"):]
    assert all(f"``{kind}``" in doc[:600] for _, kind, _ in _geoip_rs.RECORD_FIELDS)

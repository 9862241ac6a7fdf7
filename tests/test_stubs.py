"""The type stub must describe the real classes: every public name in the stub exists
on both implementations, and every public method of the Rust class is in the stub."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import IMPLS, load_impl

STUB = Path(__file__).resolve().parents[1] / "python" / "geoip_rs" / "_geoip_rs.pyi"


def stub_members(class_name: str) -> set[str]:
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    raise AssertionError(f"{class_name} not in {STUB}")


@pytest.mark.parametrize("impl", IMPLS)
def test_every_stubbed_member_exists(impl):
    cls = load_impl(impl)
    missing = {m for m in stub_members("PrefixTable") if not hasattr(cls, m)}
    assert not missing, f"{impl} lacks {sorted(missing)}"


def test_every_public_rust_member_is_stubbed():
    cls = load_impl("rust")
    public = {m for m in vars(cls) if not m.startswith("_")}
    assert public <= stub_members("PrefixTable"), sorted(public - stub_members("PrefixTable"))


@pytest.mark.parametrize("name", ["Database", "Record"])
def test_database_classes_are_stubbed_both_ways(name):
    """The extension's Database and Record match their stubs, member for member."""
    from geoip_rs import _geoip_rs

    cls = getattr(_geoip_rs, name)
    stubbed = stub_members(name)  # methods and properties
    public = {m for m in vars(cls) if not m.startswith("__")}
    assert public <= stubbed, sorted(public - stubbed)
    assert {m for m in stubbed if not hasattr(cls, m)} == set()


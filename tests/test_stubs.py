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

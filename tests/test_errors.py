"""Every error path, on both implementations.

Messages are those of the ``ipaddress`` module wherever it has one, so each expected
message here is written out by hand and matched exactly (``re.escape`` + anchors).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network

import numpy as np
import pytest

TYPE_MSG = "expected an IP address or network as str, int, bytes or ipaddress object, got {}"
BATCH_ARRAY_MSG = (
    "lookup_batch: expected a 1-D uint32 array of IPv4 addresses or an (N, 16) uint8 "
    "array of IPv6 addresses, got {} array of shape {}"
)
BATCH_ITER_MSG = "lookup_batch: expected an array or an iterable of addresses, got {}"


def exactly(msg: str) -> str:
    return "^" + re.escape(msg) + "$"


BASE = {"10.0.0.0/8": 1, "10.1.0.0/16": 2, "::/0": 6}

# Methods taking a key (an address, or a network matched by longest match)...
KEY_METHODS = {
    "getitem": lambda t, k: t[k],
    "get": lambda t, k: t.get(k),
    "contains": lambda t, k: k in t,
    "lookup_with_prefix": lambda t, k: t.lookup_with_prefix(k),
    "covering": lambda t, k: t.covering(k),
}
# ...and methods taking a prefix (read like ipaddress.ip_network(x, strict=...)).
PREFIX_METHODS = {
    "insert": lambda t, p: t.insert(p, 0),
    "setitem": lambda t, p: t.__setitem__(p, 0),
    "update": lambda t, p: t.update([(p, 0)]),
    "init": lambda t, p: type(t)([(p, 0)]),
    "exact": lambda t, p: t.exact(p),
    "has_prefix": lambda t, p: t.has_prefix(p),
    "delitem": lambda t, p: t.__delitem__(p),
    "pop": lambda t, p: t.pop(p),
    "pop_default": lambda t, p: t.pop(p, None),
    "covered": lambda t, p: t.covered(p),
}
ALL_METHODS = {**KEY_METHODS, **PREFIX_METHODS}

BAD_TYPES = [[1, 2], 1.5, None, {}, True, False, bytearray(4), object(), {"10.0.0.0/8"}, 1j]


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("bad", BAD_TYPES, ids=lambda x: type(x).__name__ + repr(x)[:8])
def test_wrong_type(Table, method, bad):
    t = Table(BASE)
    with pytest.raises(TypeError, match=exactly(TYPE_MSG.format(type(bad).__name__))):
        ALL_METHODS[method](t, bad)
    assert t.items() == Table(BASE).items()  # nothing changed


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("bad", [("10.0.0.0", 8, 1), (), ("10.0.0.0", None), ("10.0.0.0", True),
                                 ("10.0.0.0", 8.0), ("10.0.0.0", "255.0.0.0"), ("10.0.0.0/8", 8)])
def test_malformed_tuple(Table, method, bad):
    # A tuple is a network form: a malformed one is a malformed network.
    with pytest.raises(ValueError, match=exactly(f"{bad!r} does not appear to be an IPv4 or IPv6 network")):
        ALL_METHODS[method](Table(BASE), bad)


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("bad", [(True, 8), (1.5, 8), (None, 0), ([10, 0, 0, 0], 8)])
def test_tuple_with_wrong_address_type(Table, method, bad):
    with pytest.raises(TypeError, match=exactly(TYPE_MSG.format(type(bad[0]).__name__))):
        ALL_METHODS[method](Table(BASE), bad)


@pytest.mark.parametrize("method", KEY_METHODS)
@pytest.mark.parametrize(
    ("bad", "msg"),
    [
        ("8.8.8.800", "'8.8.8.800' does not appear to be an IPv4 or IPv6 address"),
        ("2001:500g:88:200::8", "'2001:500g:88:200::8' does not appear to be an IPv4 or IPv6 address"),
        ("", "'' does not appear to be an IPv4 or IPv6 address"),
        ("1.2.3", "'1.2.3' does not appear to be an IPv4 or IPv6 address"),
        (-1, "-1 does not appear to be an IPv4 or IPv6 address"),
        (2**128, f"{2**128} does not appear to be an IPv4 or IPv6 address"),
        (b"abc", "b'abc' does not appear to be an IPv4 or IPv6 address"),
        (b"\x00" * 5, "b'\\x00\\x00\\x00\\x00\\x00' does not appear to be an IPv4 or IPv6 address"),
    ],
)
def test_malformed_address_key(Table, method, bad, msg):
    with pytest.raises(ValueError, match=exactly(msg)):
        KEY_METHODS[method](Table(BASE), bad)


@pytest.mark.parametrize("method", PREFIX_METHODS)
@pytest.mark.parametrize(
    ("bad", "msg"),
    [
        ("8.8.8.800", "'8.8.8.800' does not appear to be an IPv4 or IPv6 network"),
        (-1, "-1 does not appear to be an IPv4 or IPv6 network"),
        (b"abc", "b'abc' does not appear to be an IPv4 or IPv6 network"),
    ],
)
def test_malformed_address_as_prefix(Table, method, bad, msg):
    with pytest.raises(ValueError, match=exactly(msg)):
        PREFIX_METHODS[method](Table(BASE), bad)


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(
    ("bad", "msg"),
    [
        ("10.0.0.0/33", "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
        ("::/129", "'::/129' does not appear to be an IPv4 or IPv6 network"),
        ("10.0.0.0/-1", "'10.0.0.0/-1' does not appear to be an IPv4 or IPv6 network"),
        ("10.0.0.0/", "'10.0.0.0/' does not appear to be an IPv4 or IPv6 network"),
        ("/8", "'/8' does not appear to be an IPv4 or IPv6 network"),
        ("10.0.0.0/8/8", "'10.0.0.0/8/8' does not appear to be an IPv4 or IPv6 network"),
        ("10.0.0.256/8", "'10.0.0.256/8' does not appear to be an IPv4 or IPv6 network"),
        (("10.0.0.0", 33), "('10.0.0.0', 33) does not appear to be an IPv4 or IPv6 network"),
        (("10.0.0.0", -1), "('10.0.0.0', -1) does not appear to be an IPv4 or IPv6 network"),
        (("::", 129), "('::', 129) does not appear to be an IPv4 or IPv6 network"),
    ],
)
def test_malformed_network(Table, method, bad, msg):
    with pytest.raises(ValueError, match=exactly(msg)):
        ALL_METHODS[method](Table(BASE), bad)


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(
    ("bad", "msg"),
    [
        ("10.0.0.1/8", "10.0.0.1/8 has host bits set"),
        (("10.0.0.1", 8), "10.0.0.1/8 has host bits set"),
        ((IPv4Address("10.1.2.3"), 16), "10.1.2.3/16 has host bits set"),
        ("2001:db8::1/32", "2001:db8::1/32 has host bits set"),
        ("0.0.0.1/0", "0.0.0.1/0 has host bits set"),
    ],
)
def test_host_bits_set_when_strict(Table, method, bad, msg):
    t = Table(BASE)
    with pytest.raises(ValueError, match=exactly(msg)):
        ALL_METHODS[method](t, bad)
    loose = Table(BASE, strict=False)
    if method not in ("delitem", "pop", "getitem", "init"):  # these may raise KeyError
        ALL_METHODS[method](loose, bad)  # masked, no error


@pytest.mark.parametrize(
    "key", ["11.0.0.0", "11.0.0.0/8", ("11.0.0.0", 8), IPv4Network("11.0.0.0/8"), 2**31, b"\x0b\x00\x00\x00"]
)
def test_key_error_carries_the_argument(Table, key):
    t = Table({"10.0.0.0/8": 1})  # no IPv6 prefixes and nothing in 11/8
    with pytest.raises(KeyError) as e:
        t[key]
    assert e.value.args == (key,)
    for remove in (t.pop, t.__delitem__):
        with pytest.raises(KeyError) as e:
            remove(key)
        assert e.value.args == (key,)
    with pytest.raises(KeyError) as e:
        t["::1"]
    assert e.value.args == ("::1",)


def test_remove_is_exact_not_longest_match(Table):
    t = Table({"10.0.0.0/8": 1})
    for p in ("10.0.0.0/9", "10.0.0.0", "0.0.0.0/0"):
        with pytest.raises(KeyError):
            del t[p]
    assert len(t) == 1


def test_unhashable(Table):
    with pytest.raises(TypeError):
        hash(Table())
    with pytest.raises(TypeError):
        {Table(): 1}


def test_failed_write_changes_nothing(Table):
    t = Table(BASE)
    for bad in ("10.0.0.1/8", "10.0.0.0/33", None):
        with pytest.raises((ValueError, TypeError)):
            t.insert(bad, 5)
    assert t.items() == Table(BASE).items() and t.counts() == (2, 1)


# ---- lookup_batch ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "arr",
    [
        np.array([1, 2, 3], dtype=np.int64),
        np.array([1, 2, 3], dtype=np.int32),
        np.array([1, 2, 3], dtype=np.uint64),
        np.array([1.0, 2.0], dtype=np.float64),
        np.array([True]),
        np.zeros((3, 4), dtype=np.uint8),
        np.zeros(16, dtype=np.uint8),
        np.zeros((2, 16), dtype=np.int8),
        np.zeros((2, 17), dtype=np.uint8),
        np.zeros((2, 16, 1), dtype=np.uint8),
        np.zeros((2, 2), dtype=np.uint32),
        np.array(7, dtype=np.uint32),
    ],
    ids=lambda a: f"{a.dtype}{a.shape}",
)
def test_batch_wrong_array(Table, arr):
    msg = BATCH_ARRAY_MSG.format(arr.dtype, arr.shape)
    with pytest.raises(TypeError, match=exactly(msg)):
        Table(BASE).lookup_batch(arr)


def test_batch_wrong_array_message_example(Table):
    with pytest.raises(TypeError, match=re.escape("got int64 array of shape (3,)") + "$"):
        Table(BASE).lookup_batch(np.array([1, 2, 3], dtype=np.int64))


@pytest.mark.parametrize(("arg", "name"), [("10.0.0.1", "str"), (b"\x0a\x00\x00\x01", "bytes")])
def test_batch_bare_str_or_bytes(Table, arg, name):
    with pytest.raises(TypeError, match=exactly(BATCH_ITER_MSG.format(name))):
        Table(BASE).lookup_batch(arg)


@pytest.mark.parametrize("arg", [5, None, 1.5])
def test_batch_not_iterable(Table, arg):
    with pytest.raises(TypeError):
        Table(BASE).lookup_batch(arg)


@pytest.mark.parametrize(
    ("seq", "exc", "msg"),
    [
        (["10.0.0.1", "8.8.8.800"], ValueError,
         "'8.8.8.800' does not appear to be an IPv4 or IPv6 address (at index 1)"),
        (["10.0.0.0/8"], ValueError, "'10.0.0.0/8' does not appear to be an IPv4 or IPv6 address (at index 0)"),
        (["::1", "::2", -1], ValueError, "-1 does not appear to be an IPv4 or IPv6 address (at index 2)"),
        ([b"abc"], ValueError, "b'abc' does not appear to be an IPv4 or IPv6 address (at index 0)"),
        (["10.0.0.1", 1.5], TypeError, TYPE_MSG.format("float") + " (at index 1)"),
        (["::", True], TypeError, TYPE_MSG.format("bool") + " (at index 1)"),
        ([["10.0.0.1"]], TypeError, TYPE_MSG.format("list") + " (at index 0)"),
        ([IPv4Network("10.0.0.0/8")], TypeError, TYPE_MSG.format("IPv4Network") + " (at index 0)"),
        # the element's repr, as ipaddress shows it (np.str_('...') with numpy 2)
        (np.array(["10.0.0.1", "10.0.0.300"]), ValueError,
         f"{np.array(['10.0.0.300'])[0]!r} does not appear to be an IPv4 or IPv6 address (at index 1)"),
    ],
)
def test_batch_bad_element(Table, seq, exc, msg):
    with pytest.raises(exc, match=exactly(msg)):
        Table(BASE).lookup_batch(seq)
    with pytest.raises(exc, match=exactly(msg)):
        Table(BASE).lookup_batch(iter(list(seq)))  # a one-shot iterator too


def test_batch_none_and_malformed_as_misses(Table):
    """None is a row without an address (as a null in an Arrow column): a miss; with
    ``on_error="null"`` so is a malformed address, and without it the batch fails."""
    import numpy as np

    t = Table(BASE)
    seq = ["10.0.0.1", None, "8.8.8.800", "::1"]
    values, lens, found = t.lookup_batch(seq, on_error="null")
    want = [t.lookup_batch([a])[2][0] if a not in (None, "8.8.8.800") else False for a in seq]
    assert list(found) == want and want[0]
    assert lens[1] == lens[2] == -1
    for given in (seq[:2], np.array(seq[:2], dtype=object)):
        assert list(t.lookup_batch(given)[2]) == want[:2]
    with pytest.raises(ValueError, match=exactly("'8.8.8.800' does not appear to be an IPv4 or IPv6 address (at index 2)")):
        t.lookup_batch(seq)
    with pytest.raises(ValueError, match="on_error"):
        t.lookup_batch(seq, on_error="skip")


def test_numpy_integer_scalars_are_addresses(Table):
    """``arr[i]`` of an address array works as a key, as its ``int`` would."""
    import numpy as np

    t = Table(BASE)
    for n in (np.uint32(0x0A000001), np.int64(0x0A000001), np.uint64(0x0A000001)):
        assert t.get(n) == t.get(0x0A000001)
        assert t.lookup_with_prefix(n) == t.lookup_with_prefix(0x0A000001)
    with pytest.raises(TypeError):
        t.get(np.bool_(True))
    with pytest.raises(TypeError):
        t.get(np.float64(1.0))

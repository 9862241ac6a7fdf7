//! The one place where Python objects become addresses and prefixes, and back.
//!
//! Accepted like `ipaddress.ip_address` / `ip_network` read them: `str`, `int`, packed
//! `bytes` and `ipaddress` objects, plus `(address, prefixlen)` tuples for networks.
//! Errors carry `ipaddress`'s own wording; a wrong type is a `TypeError` (where
//! `ipaddress` would say `ValueError`), since passing, say, a float is a programming
//! error rather than bad data.

use super::objects::{self, ToObject};
use crate::ip::{parse_addr, parse_dotted_quad, parse_prefix, IpPrefix, PrefixError};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyInt, PyString, PyTuple, PyType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

static IPV4_ADDRESS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static IPV6_ADDRESS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static IPV4_NETWORK: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static IPV6_NETWORK: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn ipaddress_type<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "ipaddress", name)
}

/// An address or a prefix, for methods that take either.
pub(crate) enum Key {
    Addr(IpAddr),
    Net(IpPrefix),
}

fn type_error(obj: &Bound<'_, PyAny>) -> PyErr {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into());
    PyTypeError::new_err(format!(
        "expected an IP address or network as str, int, bytes or ipaddress object, got {name}"
    ))
}

fn not_an(obj: &Bound<'_, PyAny>, what: &str) -> PyErr {
    match obj.repr() {
        Ok(r) => PyValueError::new_err(format!("{r} does not appear to be an IPv4 or IPv6 {what}")),
        Err(e) => e,
    }
}

/// `ipaddress`'s text for a host-bits error: the normalised address, as Python
/// prints it (which differs from Rust for IPv4-mapped IPv6 addresses).
fn host_bits_error(py: Python<'_>, addr: IpAddr, len: u8) -> PyErr {
    let text = address_object(py, addr)
        .and_then(|a| a.str().map(|s| s.to_string()))
        .unwrap_or_else(|_| addr.to_string());
    PyValueError::new_err(format!("{text}/{len} has host bits set"))
}

/// An address from an int, as `ip_address(int)` reads it.
fn from_int(obj: &Bound<'_, PyAny>) -> PyResult<IpAddr> {
    match obj.extract::<u128>() {
        Ok(n) if n <= u32::MAX as u128 => Ok(IpAddr::V4(Ipv4Addr::from(n as u32))),
        Ok(n) => Ok(IpAddr::V6(Ipv6Addr::from(n))),
        Err(_) => Err(not_an(obj, "address")),
    }
}

fn from_bytes(obj: &Bound<'_, PyBytes>) -> Option<IpAddr> {
    let b = obj.as_bytes();
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))),
        _ => None,
    }
}

/// An address from a non-string object, or `None` if it is not of an address type.
fn address_of(obj: &Bound<'_, PyAny>) -> PyResult<Option<IpAddr>> {
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() {
        return Ok(None);
    }
    if obj.is_instance_of::<PyInt>() {
        return from_int(obj).map(Some);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return from_bytes(b)
            .map(Some)
            .ok_or_else(|| not_an(obj, "address"));
    }
    if obj.is_instance(ipaddress_type(py, &IPV4_ADDRESS, "IPv4Address")?)? {
        let n: u32 = obj.call_method0("__int__")?.extract()?;
        return Ok(Some(IpAddr::V4(Ipv4Addr::from(n))));
    }
    if obj.is_instance(ipaddress_type(py, &IPV6_ADDRESS, "IPv6Address")?)? {
        let n: u128 = obj.call_method0("__int__")?.extract()?;
        return Ok(Some(IpAddr::V6(Ipv6Addr::from(n))));
    }
    // Other integer types, such as numpy's scalars (`arr[0]` of a uint32 array):
    // what `operator.index` makes of them.
    if let Ok(i) = obj.call_method0("__index__") {
        if i.is_instance_of::<PyInt>() {
            return from_int(&i).map(Some);
        }
    }
    Ok(None)
}

/// The two common kinds of address, read inline: a dotted-quad `str` and an exact
/// `int` below 2^63. `None` for anything else, which [`address`] or [`key`] then read.
///
/// Single lookups from Python take this path first. Inlined, the address stays in
/// registers; returned from the general readers, it went through memory and the
/// read-back stalled (a store-to-load forwarding failure, about 4 ns a call).
#[inline(always)]
pub(crate) fn quick_address(obj: &Bound<'_, PyAny>) -> Option<IpAddr> {
    if let Ok(s) = obj.cast::<PyString>() {
        let a = parse_dotted_quad(s.to_str().ok()?.as_bytes())?;
        return Some(IpAddr::V4(Ipv4Addr::from(a)));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        // `ip_address(int)`: IPv4 below 2^32. One C call that reports a value past
        // 2^63 without raising (pyo3 reads a `u128` with several calls into Python
        // under the stable ABI, and a discarded OverflowError would cost IPv6 ints).
        let mut overflow = 0;
        // SAFETY: `obj` is an int, so the call sets no error.
        let n = unsafe { pyo3::ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
        let n = u64::try_from(n).ok().filter(|_| overflow == 0)?;
        return Some(match u32::try_from(n) {
            Ok(a) => IpAddr::V4(Ipv4Addr::from(a)),
            Err(_) => IpAddr::V6(Ipv6Addr::from(u128::from(n))),
        });
    }
    None
}

/// An address, as `ipaddress.ip_address` reads it.
pub(crate) fn address(obj: &Bound<'_, PyAny>) -> PyResult<IpAddr> {
    if let Some(a) = quick_address(obj) {
        return Ok(a);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_str()?;
        return parse_addr(text).ok_or_else(|| not_an(obj, "address"));
    }
    address_of(obj)?.ok_or_else(|| type_error(obj))
}

/// A prefix, as `ipaddress.ip_network(obj, strict)` reads it.
pub(crate) fn network(obj: &Bound<'_, PyAny>, strict: bool) -> PyResult<IpPrefix> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return parse_prefix(s.to_str()?, strict).map_err(|e| match e {
            PrefixError::Invalid => not_an(obj, "network"),
            PrefixError::HostBitsSet => {
                // Name the address as written (host bits and all), as ipaddress does.
                let text = s.to_str().unwrap_or_default();
                let p = parse_prefix(text, false).expect("valid when not strict");
                let written = text.split_once('/').and_then(|(a, _)| parse_addr(a));
                host_bits_error(py, written.unwrap_or(p.addr()), p.prefix_len())
            }
        });
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return tuple_network(t, strict);
    }
    if obj.is_instance(ipaddress_type(py, &IPV4_NETWORK, "IPv4Network")?)?
        || obj.is_instance(ipaddress_type(py, &IPV6_NETWORK, "IPv6Network")?)?
    {
        let addr = address(&obj.getattr("network_address")?)?;
        let len: u8 = obj.getattr("prefixlen")?.extract()?;
        return IpPrefix::new(addr, len, true).map_err(|_| not_an(obj, "network"));
    }
    match address_of(obj) {
        Ok(Some(addr)) => Ok(IpPrefix::host(addr)),
        Ok(None) => Err(type_error(obj)),
        // ip_network words a bad address as a bad network.
        Err(e) if e.is_instance_of::<PyValueError>(py) => Err(not_an(obj, "network")),
        Err(e) => Err(e),
    }
}

/// `(address, prefixlen)` or `(address,)`, as `ip_network` reads a tuple.
fn tuple_network(t: &Bound<'_, PyTuple>, strict: bool) -> PyResult<IpPrefix> {
    let bad = || not_an(t.as_any(), "network");
    if t.is_empty() || t.len() > 2 {
        return Err(bad());
    }
    let addr = match address(&t.get_item(0)?) {
        Ok(a) => a,
        Err(e) if e.is_instance_of::<PyTypeError>(t.py()) => return Err(e),
        Err(_) => return Err(bad()),
    };
    let len = match t.len() {
        1 => {
            if addr.is_ipv4() {
                32
            } else {
                128
            }
        }
        _ => {
            let item = t.get_item(1)?;
            let len = match item.cast::<PyString>() {
                Ok(s) => s.to_str()?.parse::<u8>().ok(),
                Err(_) if item.is_instance_of::<PyBool>() => None,
                Err(_) => item.extract::<u8>().ok(),
            };
            len.ok_or_else(bad)?
        }
    };
    IpPrefix::new(addr, len, strict).map_err(|e| match e {
        PrefixError::Invalid => bad(),
        PrefixError::HostBitsSet => host_bits_error(t.py(), addr, len),
    })
}

/// An address, or a prefix when the object is written as one (a `str` with a `/`,
/// an `ipaddress` network or a tuple).
#[inline]
pub(crate) fn key(obj: &Bound<'_, PyAny>, strict: bool) -> PyResult<Key> {
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_str()?;
        // An address is the common case: try it first.
        if let Some(a) = parse_addr(text) {
            return Ok(Key::Addr(a));
        }
        return match text.contains('/') {
            true => network(obj, strict).map(Key::Net),
            false => Err(not_an(obj, "address")),
        };
    }
    match address_of(obj)? {
        Some(addr) => Ok(Key::Addr(addr)),
        None => network(obj, strict).map(Key::Net),
    }
}

/// An origin as Python sees it: an int, or a frozenset for an AS_SET.
pub(crate) fn origin_object<'py>(
    py: Python<'py>,
    o: &crate::origin::Origin,
) -> PyResult<Bound<'py, PyAny>> {
    match o {
        crate::origin::Origin::Asn(a) => a.to_object(py),
        crate::origin::Origin::Set(s) => Ok(objects::frozenset(py, s)?.into_any()),
    }
}

/// An `ipaddress` address object.
pub(crate) fn address_object(py: Python<'_>, addr: IpAddr) -> PyResult<Bound<'_, PyAny>> {
    match addr {
        IpAddr::V4(a) => ipaddress_type(py, &IPV4_ADDRESS, "IPv4Address")?.call1((u32::from(a),)),
        IpAddr::V6(a) => ipaddress_type(py, &IPV6_ADDRESS, "IPv6Address")?.call1((u128::from(a),)),
    }
}

/// An `ipaddress` network object.
pub(crate) fn network_object<'py>(py: Python<'py>, p: &IpPrefix) -> PyResult<Bound<'py, PyAny>> {
    match p {
        IpPrefix::V4(q) => {
            ipaddress_type(py, &IPV4_NETWORK, "IPv4Network")?.call1(((q.addr(), q.prefix_len()),))
        }
        IpPrefix::V6(q) => {
            ipaddress_type(py, &IPV6_NETWORK, "IPv6Network")?.call1(((q.addr(), q.prefix_len()),))
        }
    }
}

/// The same exception with ` (at index i)` added, for batch inputs.
pub(crate) fn at_index(py: Python<'_>, err: PyErr, i: usize) -> PyErr {
    let msg = err
        .value(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    PyErr::from_type(err.get_type(py), format!("{msg} (at index {i})"))
}

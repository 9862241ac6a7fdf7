//! Addresses and prefixes of either family, parsed from text with errors worded like
//! Python's `ipaddress` module, so that the Python layer can pass them on unchanged.
//!
//! Addresses are parsed by `std::net` (which, like `ipaddress`, rejects IPv4 octets
//! with leading zeros). Prefixes are our own [`Prefix`] because the tree bitmap works
//! on integer keys.

use crate::key::{Key, Prefix};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A prefix of either family.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum IpPrefix {
    V4(Prefix<u32>),
    V6(Prefix<u128>),
}

impl IpPrefix {
    /// The prefix of `len` bits at `addr`; with `strict`, host bits are an error,
    /// otherwise they are cleared. `None` when the length is out of range.
    pub fn new(addr: IpAddr, len: u8, strict: bool) -> Result<Self, PrefixError> {
        fn make<K: Key>(a: K, len: u8, strict: bool) -> Result<Prefix<K>, PrefixError> {
            if len > K::BITS {
                return Err(PrefixError::Invalid);
            }
            match Prefix::new(a, len) {
                Some(p) => Ok(p),
                None if strict => Err(PrefixError::HostBitsSet),
                None => Ok(Prefix::new_masked(a, len).expect("len checked")),
            }
        }
        Ok(match addr {
            IpAddr::V4(a) => IpPrefix::V4(make(u32::from(a), len, strict)?),
            IpAddr::V6(a) => IpPrefix::V6(make(u128::from(a), len, strict)?),
        })
    }

    /// The host prefix (/32 or /128) of an address.
    pub fn host(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => IpPrefix::V4(Prefix::host(u32::from(a))),
            IpAddr::V6(a) => IpPrefix::V6(Prefix::host(u128::from(a))),
        }
    }

    pub fn addr(&self) -> IpAddr {
        match self {
            IpPrefix::V4(p) => IpAddr::V4(Ipv4Addr::from(p.addr())),
            IpPrefix::V6(p) => IpAddr::V6(Ipv6Addr::from(p.addr())),
        }
    }

    pub fn prefix_len(&self) -> u8 {
        match self {
            IpPrefix::V4(p) => p.prefix_len(),
            IpPrefix::V6(p) => p.prefix_len(),
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix_len())
    }
}

/// Why a text is not a prefix.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum PrefixError {
    /// Not an address, or the length is not a number in range.
    Invalid,
    /// The address has bits set past the prefix length (strict mode).
    HostBitsSet,
}

impl PrefixError {
    /// The message `ipaddress.ip_network` gives for `input`.
    pub fn message(&self, input: &str) -> String {
        match self {
            PrefixError::Invalid => format!(
                "{} does not appear to be an IPv4 or IPv6 network",
                py_repr(input)
            ),
            PrefixError::HostBitsSet => format!("{input} has host bits set"),
        }
    }
}

/// The message `ipaddress.ip_address` gives for a string that is not an address.
pub fn bad_address_message(input: &str) -> String {
    format!(
        "{} does not appear to be an IPv4 or IPv6 address",
        py_repr(input)
    )
}

/// Python's `repr` of a `str`, enough for error messages: quotes and escapes.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// An IPv4 or IPv6 address. An IPv6 scope (`fe80::1%eth0`) is accepted and ignored,
/// as `ipaddress` keeps it apart from the address.
#[inline]
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    if let Some(a) = parse_dotted_quad(s.as_bytes()) {
        return Some(IpAddr::V4(Ipv4Addr::from(a)));
    }
    if let Some(a) = parse_hex_groups(s.as_bytes()) {
        return Some(IpAddr::V6(Ipv6Addr::from(a)));
    }
    parse_any_addr(s)
}

#[inline(never)]
fn parse_any_addr(s: &str) -> Option<IpAddr> {
    if let Ok(a) = s.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(a));
    }
    let bare = match s.split_once('%') {
        // As `ipaddress`: one `%`, a scope after it, and no `/` anywhere.
        Some((addr, scope)) if !scope.is_empty() && !scope.contains(['/', '%']) => addr,
        Some(_) => return None,
        None => s,
    };
    bare.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// Appends an address's standard text (RFC 5952, as `std` prints it; `ipaddress`
/// prints the same but for IPv4-mapped IPv6 before Python 3.13) to `out`, written
/// digit by digit: formatting through `fmt` took several times as long, and a batch
/// of Arrow records writes one or two per row.
pub fn push_addr(out: &mut String, a: IpAddr) {
    match a {
        IpAddr::V4(a) => push_quad(out, a.octets()),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => {
                out.push_str("::ffff:");
                push_quad(out, v4.octets())
            }
            None => push_groups(out, a.segments()),
        },
    }
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, n: u8) {
    if n >= 100 {
        out.push((b'0' + n / 100) as char);
    }
    if n >= 10 {
        out.push((b'0' + n / 10 % 10) as char);
    }
    out.push((b'0' + n % 10) as char);
}

fn push_quad(out: &mut String, octets: [u8; 4]) {
    for (i, o) in octets.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(out, o);
    }
}

/// Hex groups, the longest run of two or more zero groups (the first of equal ones)
/// written `::`.
fn push_groups(out: &mut String, g: [u16; 8]) {
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, &x) in g.iter().enumerate() {
        run = if x == 0 {
            (run.0, run.1 + 1)
        } else {
            (i + 1, 0)
        };
        if run.1 > best.1 {
            best = run;
        }
    }
    let (zero_at, zeros) = if best.1 >= 2 { best } else { (8, 0) };
    let mut i = 0;
    while i < 8 {
        if i == zero_at {
            out.push_str("::");
            i += zeros;
            continue;
        }
        if i > 0 && i != zero_at + zeros {
            out.push(':');
        }
        let x = g[i];
        let digits = (16 - x.leading_zeros() as usize).div_ceil(4).max(1);
        for d in (0..digits).rev() {
            out.push(b"0123456789abcdef"[(x >> (4 * d) & 15) as usize] as char);
        }
        i += 1;
    }
}

/// The common case of [`parse_addr`], several times faster than `std::net`'s general
/// parser (single lookups from Python are dominated by such costs): four decimal
/// octets, each 0-255 without leading zeros, as `std` and `ipaddress` read them.
/// `None` for anything else, which the general parser then decides.
///
/// Without a branch on the text: the widths of random addresses' octets (1, 2 or 3
/// digits) are as good as random, and a loop per octet mispredicted about twice per
/// address. From Python, single lookups of random addresses took 0.91x the time
/// with this form; one address over and over (where the loop's branches were always
/// predicted) takes about 4 ns more.
#[inline(always)]
pub(crate) fn parse_dotted_quad(s: &[u8]) -> Option<u32> {
    if !(7..=15).contains(&s.len()) {
        return None;
    }
    // The text in 16 bytes, zeros after it: neither digits nor dots. An octet starts
    // at 12 at most, so its three digits and the byte after them are inside (`& 15`
    // only tells the compiler so, sparing the bounds checks).
    let b = padded(s).to_le_bytes();
    let (mut addr, mut at, mut ok) = (0u32, 0usize, true);
    for octet in 0..4 {
        let digit = |k: usize| u32::from(b[(at + k) & 15].wrapping_sub(b'0'));
        let (d0, d1, d2) = (digit(0), digit(1), digit(2));
        let two = d1 < 10;
        let three = two & (d2 < 10);
        let width = 1 + usize::from(two) + usize::from(three);
        let n = select(
            three,
            d0 * 100 + d1 * 10 + d2,
            select(two, d0 * 10 + d1, d0),
        );
        let ends = match octet {
            3 => at + width == s.len(),
            _ => b[(at + width) & 15] == b'.',
        };
        ok &= (d0 < 10) & (n <= 255) & ((d0 != 0) | (width == 1)) & ends;
        addr = addr << 8 | n;
        at += width + 1;
    }
    ok.then_some(addr)
}

/// 7 to 15 bytes as a little-endian number: two overlapping reads, not a call to
/// `memcpy` for a length known only at run time (which took 8% of a single lookup).
#[inline(always)]
fn padded(s: &[u8]) -> u128 {
    let n = s.len();
    let (lo, hi, shift) = match n {
        8.. => (read::<8>(s, 0), read::<8>(s, n - 8), n - 8),
        _ => (read::<4>(s, 0), read::<4>(s, n - 4), n - 4),
    };
    // The overlapping bytes are equal, so or-ing them keeps them.
    lo | hi << (8 * shift)
}

/// The `N` bytes of `s` at `at`, little-endian.
#[inline(always)]
fn read<const N: usize>(s: &[u8], at: usize) -> u128 {
    let mut b = [0u8; 16];
    b[..N].copy_from_slice(&s[at..at + N]);
    u128::from_le_bytes(b)
}

/// `a` if `cond`, else `b`, as a conditional move: `cond` is data the branch predictor
/// cannot learn.
#[inline(always)]
fn select(cond: bool, a: u32, b: u32) -> u32 {
    std::hint::select_unpredictable(cond, a, b)
}

/// The value of each ASCII hex digit, 255 for any other byte (a table: the parse's
/// inner loop runs once per digit, and a branch per kind of digit costs more).
const HEX_DIGIT: [u8; 256] = {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The common case of IPv6 text, as [`parse_dotted_quad`] is of IPv4 (`std`'s parser
/// takes several times as long): groups of 1-4 hex digits split by `:`, eight of
/// them or up to seven with one `::`. `None` for anything else (an IPv4 tail, a
/// scope, any error), which the general parser then decides.
#[inline]
fn parse_hex_groups(s: &[u8]) -> Option<u128> {
    if !(2..=39).contains(&s.len()) {
        return None;
    }
    // Groups before the `::` (all of them if there is none), then after it.
    let (mut groups, mut count, mut gap) = ([0u16; 8], 0, None);
    let mut i = 0;
    if s.starts_with(b"::") {
        (gap, i) = (Some(0), 2);
    }
    while i < s.len() {
        let start = i;
        let mut g = 0u16;
        while i < s.len() && i - start < 4 {
            let d = HEX_DIGIT[s[i] as usize];
            if d > 15 {
                break;
            }
            g = g << 4 | d as u16;
            i += 1;
        }
        if i == start || count == 8 {
            return None;
        }
        groups[count] = g;
        count += 1;
        if i == s.len() {
            break;
        }
        // A separator, and a group after it unless it is the one `::` at the end.
        if s[i] != b':' || i + 1 == s.len() {
            return None;
        }
        i += 1;
        if s[i] == b':' {
            if gap.is_some() {
                return None;
            }
            (gap, i) = (Some(count), i + 1);
        }
    }
    let mut addr = 0u128;
    match gap {
        None if count == 8 => groups.iter().for_each(|&g| addr = addr << 16 | g as u128),
        Some(at) if count <= 7 => {
            for (k, &g) in groups[..count].iter().enumerate() {
                // Groups after the gap end at the last group of the address.
                let slot = if k < at { k } else { 8 - (count - k) };
                addr |= (g as u128) << (16 * (7 - slot));
            }
        }
        _ => return None,
    }
    Some(addr)
}

/// A prefix as `ipaddress.ip_network(s, strict)` reads it: `addr/len`, or a bare
/// address as a host prefix.
pub fn parse_prefix(s: &str, strict: bool) -> Result<IpPrefix, PrefixError> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    // An IPv6 scope (`fe80::%eth0/64`) is dropped, as ip_network drops it.
    let addr = parse_addr(addr).ok_or(PrefixError::Invalid)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => parse_len(l)
            .or_else(|| netmask_len(addr, l))
            .ok_or(PrefixError::Invalid)?,
    };
    IpPrefix::new(addr, len, strict)
}

/// A decimal prefix length (ASCII digits only, as `ipaddress` requires).
fn parse_len(s: &str) -> Option<u8> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = s.parse().ok()?;
    u8::try_from(n).ok()
}

/// The length given as an IPv4 netmask (`255.255.0.0`) or hostmask (`0.0.255.255`),
/// which `ipaddress` also accepts after the slash.
fn netmask_len(addr: IpAddr, s: &str) -> Option<u8> {
    if !addr.is_ipv4() {
        return None;
    }
    let mask = u32::from(s.parse::<Ipv4Addr>().ok()?);
    let ones = mask.leading_ones();
    if mask.checked_shl(ones).unwrap_or(0) == 0 {
        return Some(ones as u8);
    }
    let zeros = mask.leading_zeros();
    (mask.checked_shl(zeros).unwrap_or(0) == u32::MAX.checked_shl(zeros).unwrap_or(0))
        .then_some(zeros as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_like_ipaddress() {
        assert_eq!(parse_addr("8.8.8.8"), Some("8.8.8.8".parse().unwrap()));
        assert_eq!(parse_addr("fe80::1%eth0"), Some("fe80::1".parse().unwrap()));
        assert_eq!(
            parse_addr("::ffff:1.2.3.4"),
            Some("::ffff:1.2.3.4".parse().unwrap())
        );
        for bad in [
            "8.8.8.800",
            "010.0.0.1",
            "2001:500g:88:200::8",
            "",
            "1.2.3",
            "fe80::1%",
            "fe80::1%1%2",
            "fe80::1%a/b",
            " 1.2.3.4",
        ] {
            assert_eq!(parse_addr(bad), None, "{bad}");
        }
    }

    #[test]
    fn dotted_quad_fast_path() {
        for ok in ["0.0.0.0", "255.255.255.255", "8.8.8.8", "192.168.100.10"] {
            assert_eq!(
                parse_dotted_quad(ok.as_bytes()).map(Ipv4Addr::from),
                Some(ok.parse().unwrap()),
                "{ok}"
            );
        }
        for bad in [
            "1.2.3.256",
            "01.2.3.4",
            "1.2.3.4.",
            "1.2.3.4 ",
            "1..2.3",
            "1.2.3.1000",
            "1.2.3.04",
            "1.2.3.",
            "1.2.3.4\0",
            "1.2.3.-1",
            "+1.2.3.4",
            "1.2.3.4/24",
            "1.2.3:4",
            "100.200.300.1",
        ] {
            assert_eq!(parse_dotted_quad(bad.as_bytes()), None, "{bad}");
        }
    }

    proptest::proptest! {
        /// Addresses are written as `std` prints them, for any address and for
        /// addresses with runs of zero groups.
        #[test]
        fn push_addr_agrees_with_std(a: u128, v4: u32, mask: u8, zeros in 0u32..128) {
            for a in [a, a & (u128::MAX << zeros) & !(u128::from(mask) << 64), u128::from(v4) | 0xffff << 32] {
                let mut s = String::new();
                push_addr(&mut s, IpAddr::V6(a.into()));
                proptest::prop_assert_eq!(&s, &Ipv6Addr::from(a).to_string());
            }
            let mut s = String::new();
            push_addr(&mut s, IpAddr::V4(v4.into()));
            proptest::prop_assert_eq!(s, Ipv4Addr::from(v4).to_string());
        }

        /// The fast path reads dotted text exactly as `std` does (so the general
        /// parser it falls back to never sees an IPv4 address); and it accepts every
        /// address as `std` prints it.
        #[test]
        fn dotted_quad_agrees_with_std(s in "[0-9.]{0,16}|[0-9./: +a-]{0,16}", a: u32) {
            let fast = parse_dotted_quad(s.as_bytes()).map(Ipv4Addr::from);
            proptest::prop_assert_eq!(fast, s.parse::<Ipv4Addr>().ok());
            let text = Ipv4Addr::from(a).to_string();
            proptest::prop_assert_eq!(parse_dotted_quad(text.as_bytes()), Some(a));
        }
    }

    #[test]
    fn hex_groups_fast_path() {
        for ok in [
            "::",
            "::1",
            "1::",
            "2001:db8::8:800:200c:417a",
            "2001:0db8:0000:0000:0008:0800:200C:417A",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "fe80::1:2",
        ] {
            let want: Ipv6Addr = ok.parse().unwrap();
            assert_eq!(
                parse_hex_groups(ok.as_bytes()),
                Some(u128::from(want)),
                "{ok}"
            );
        }
        for bad in [
            ":",
            ":::",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1::2::3",
            "1:",
            ":1::",
            "12345::",
            "g::",
            "::ffff:1.2.3.4",
            "fe80::1%eth0",
            "1:2:3:4:5:6:7:8:9",
        ] {
            assert_eq!(parse_hex_groups(bad.as_bytes()), None, "{bad}");
        }
    }

    proptest::proptest! {
        /// Whatever the fast path accepts, `std` reads the same; and it accepts every
        /// address as `std` prints it, and in full.
        #[test]
        fn hex_groups_agree_with_std(s in "[0-9a-fA-F:]{0,40}", a: u128) {
            if let Some(x) = parse_hex_groups(s.as_bytes()) {
                proptest::prop_assert_eq!(s.parse::<Ipv6Addr>().ok(), Some(Ipv6Addr::from(x)));
            }
            let ip = Ipv6Addr::from(a);
            let full = ip.segments().map(|g| format!("{g:x}")).join(":");
            for text in [ip.to_string(), full] {
                if !text.contains('.') {
                    proptest::prop_assert_eq!(parse_hex_groups(text.as_bytes()), Some(a));
                }
            }
        }
    }

    #[test]
    fn parses_prefixes_like_ip_network() {
        assert_eq!(
            parse_prefix("10.0.0.0/8", true).unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_prefix("10.0.0.1", true).unwrap().to_string(),
            "10.0.0.1/32"
        );
        assert_eq!(
            parse_prefix("2001:db8::/32", true).unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(
            parse_prefix("10.0.0.1/8", true),
            Err(PrefixError::HostBitsSet)
        );
        assert_eq!(
            parse_prefix("10.0.0.1/8", false).unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_prefix("10.0.0.0/08", true).unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_prefix("10.0.0.0/255.0.0.0", true)
                .unwrap()
                .to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_prefix("10.0.0.0/0.255.255.255", true)
                .unwrap()
                .to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_prefix("0.0.0.0/0.0.0.0", true).unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert_eq!(
            parse_prefix("10.0.0.0/255.0.255.0", true),
            Err(PrefixError::Invalid)
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "x/8",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(parse_prefix(bad, true), Err(PrefixError::Invalid), "{bad}");
        }
    }

    #[test]
    fn messages_match_ipaddress() {
        assert_eq!(
            bad_address_message("8.8.8.800"),
            "'8.8.8.800' does not appear to be an IPv4 or IPv6 address"
        );
        assert_eq!(
            PrefixError::Invalid.message("10.0.0.0/33"),
            "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"
        );
        assert_eq!(
            PrefixError::HostBitsSet.message("10.0.0.1/8"),
            "10.0.0.1/8 has host bits set"
        );
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\nb"), "'a\\nb'");
    }
}

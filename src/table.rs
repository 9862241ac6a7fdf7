//! [`IpTable`]: one IPv4 and one IPv6 tree bitmap behind a single interface.
//!
//! The families never mix: an IPv4 address is only looked up in the IPv4 tree, so it
//! cannot match an IPv6 prefix (unlike tries that store IPv4 in `::/96`). An
//! IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is an IPv6 address here, as it is in
//! Python's `ipaddress`.

use crate::ip::IpPrefix;
use crate::key::Prefix;
use crate::treebitmap::TreeBitmap;
use std::net::IpAddr;

/// A longest-prefix-match table for IPv4 and IPv6 prefixes.
///
/// ```
/// use geoip_rs::{parse_prefix, IpTable, PrefixError};
///
/// let mut t = IpTable::new();
/// t.insert(&parse_prefix("8.0.0.0/9", true).unwrap(), 3356u32);
/// t.insert(&parse_prefix("8.8.8.0/24", true).unwrap(), 15169);
/// assert_eq!(t.longest_match("8.8.8.8".parse().unwrap()), Some((24, 15169)));
/// assert_eq!(t.longest_match("9.9.9.9".parse().unwrap()), None);
/// // Host bits are an error unless the prefix is read with strict = false.
/// assert_eq!(parse_prefix("8.8.8.8/24", true), Err(PrefixError::HostBitsSet));
/// ```
pub struct IpTable<V: Copy + Default> {
    v4: TreeBitmap<u32, V>,
    v6: TreeBitmap<u128, V>,
}

impl<V: Copy + Default> Default for IpTable<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Copy + Default> IpTable<V> {
    pub fn new() -> Self {
        IpTable {
            v4: TreeBitmap::new(),
            v6: TreeBitmap::new(),
        }
    }

    /// The two trees, IPv4 and IPv6.
    pub fn into_parts(self) -> (TreeBitmap<u32, V>, TreeBitmap<u128, V>) {
        (self.v4, self.v6)
    }

    pub fn v4(&self) -> &TreeBitmap<u32, V> {
        &self.v4
    }

    pub fn v6(&self) -> &TreeBitmap<u128, V> {
        &self.v6
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by both trees.
    pub fn nbytes(&self) -> usize {
        self.v4.nbytes() + self.v6.nbytes()
    }

    pub fn clear(&mut self) {
        self.v4.clear();
        self.v6.clear();
    }

    /// Insert or replace; returns the value replaced.
    pub fn insert(&mut self, prefix: &IpPrefix, value: V) -> Option<V> {
        match prefix {
            IpPrefix::V4(p) => self.v4.insert(p, value),
            IpPrefix::V6(p) => self.v6.insert(p, value),
        }
    }

    /// Remove exactly `prefix`; returns its value.
    pub fn remove(&mut self, prefix: &IpPrefix) -> Option<V> {
        match prefix {
            IpPrefix::V4(p) => self.v4.remove(p),
            IpPrefix::V6(p) => self.v6.remove(p),
        }
    }

    /// The value of exactly `prefix`.
    pub fn exact(&self, prefix: &IpPrefix) -> Option<V> {
        match prefix {
            IpPrefix::V4(p) => self.v4.exact(p),
            IpPrefix::V6(p) => self.v6.exact(p),
        }
    }

    /// The longest prefix containing `addr`: its length and value.
    #[inline]
    pub fn longest_match(&self, addr: IpAddr) -> Option<(u8, V)> {
        match addr {
            IpAddr::V4(a) => self.v4.longest_match(u32::from(a)),
            IpAddr::V6(a) => self.v6.longest_match(u128::from(a)),
        }
    }

    /// The longest prefix containing `prefix` (itself included), with its value.
    pub fn longest_covering(&self, prefix: &IpPrefix) -> Option<(IpPrefix, V)> {
        match prefix {
            IpPrefix::V4(p) => self
                .v4
                .longest_covering(p)
                .map(|(p, v)| (IpPrefix::V4(p), v)),
            IpPrefix::V6(p) => self
                .v6
                .longest_covering(p)
                .map(|(p, v)| (IpPrefix::V6(p), v)),
        }
    }

    /// Every prefix containing `prefix` (itself included), shortest first.
    pub fn covering(&self, prefix: &IpPrefix) -> Vec<(IpPrefix, V)> {
        match prefix {
            IpPrefix::V4(p) => wrap(self.v4.covering(p), IpPrefix::V4),
            IpPrefix::V6(p) => wrap(self.v6.covering(p), IpPrefix::V6),
        }
    }

    /// Every prefix inside `prefix` (itself included), in address order.
    pub fn covered(&self, prefix: &IpPrefix) -> Vec<(IpPrefix, V)> {
        match prefix {
            IpPrefix::V4(p) => wrap(self.v4.covered(p), IpPrefix::V4),
            IpPrefix::V6(p) => wrap(self.v6.covered(p), IpPrefix::V6),
        }
    }

    /// Every prefix in address order: IPv4 first, as Python sorts networks.
    pub fn iter(&self) -> impl Iterator<Item = (IpPrefix, V)> + '_ {
        let v4 = self.v4.iter().map(|(p, v)| (IpPrefix::V4(p), v));
        v4.chain(self.v6.iter().map(|(p, v)| (IpPrefix::V6(p), v)))
    }
}

fn wrap<K: crate::key::Key, V>(
    items: impl IntoIterator<Item = (Prefix<K>, V)>,
    family: fn(Prefix<K>) -> IpPrefix,
) -> Vec<(IpPrefix, V)> {
    items.into_iter().map(|(p, v)| (family(p), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::parse_prefix;

    fn p(s: &str) -> IpPrefix {
        parse_prefix(s, true).unwrap()
    }

    #[test]
    fn families_never_collide() {
        let mut t = IpTable::new();
        t.insert(&p("::/0"), 6u32);
        t.insert(&p("::ffff:0:0/96"), 66);
        t.insert(&p("1.2.3.0/24"), 4);
        assert_eq!(t.longest_match("1.2.3.4".parse().unwrap()), Some((24, 4)));
        assert_eq!(
            t.longest_match("1.2.4.4".parse().unwrap()),
            None,
            "::/0 is IPv6 only"
        );
        assert_eq!(
            t.longest_match("::ffff:1.2.3.4".parse().unwrap()),
            Some((96, 66))
        );
        assert_eq!(t.longest_match("::1.2.3.4".parse().unwrap()), Some((0, 6)));
        let order: Vec<String> = t.iter().map(|(p, _)| p.to_string()).collect();
        // std prints IPv4-mapped addresses in dotted form.
        assert_eq!(order, ["1.2.3.0/24", "::/0", "::ffff:0.0.0.0/96"]);
        assert_eq!(t.len(), 3);
    }
}

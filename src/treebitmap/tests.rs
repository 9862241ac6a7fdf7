use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

impl<K: Key, V: Copy + Default> TreeBitmap<K, V> {
    /// True if the root holds nothing (every node below it was pruned).
    fn root_is_empty(&self) -> bool {
        let root = self.node(ROOT);
        root.internal == 0 && root.external == 0
    }
}

fn p4(s: &str) -> Prefix<u32> {
    let (a, l) = s.split_once('/').unwrap();
    let addr: std::net::Ipv4Addr = a.parse().unwrap();
    Prefix::new(u32::from(addr), l.parse().unwrap()).unwrap()
}

fn a4(s: &str) -> u32 {
    u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
}

fn p6(s: &str) -> Prefix<u128> {
    let (a, l) = s.split_once('/').unwrap();
    let addr: std::net::Ipv6Addr = a.parse().unwrap();
    Prefix::new(u128::from(addr), l.parse().unwrap()).unwrap()
}

#[test]
fn the_match_table_covers_each_chunk_once_per_length() {
    for (chunk, m) in MATCHES.iter().enumerate() {
        assert_eq!(m.count_ones(), 5, "chunk {chunk}");
        assert!(m & 1 != 0, "the /0 bit matches every chunk");
        assert!(
            m & (1 << (15 + chunk)) != 0,
            "the r=4 bit of the chunk itself"
        );
    }
    assert_eq!(up_to_r(0), 1);
    assert_eq!(up_to_r(1), 0b111);
    assert_eq!(up_to_r(4), 0x7FFF_FFFF);
    assert_eq!((0..31).map(r_of).filter(|&r| r == 4).count(), 16);
}

#[test]
fn nested_prefixes_longest_match() {
    // pyasn's ipasn.fake: nested /8, /9, /24, /30.
    let mut t = TreeBitmap::<u32, u32>::new();
    for (p, v) in [
        ("1.0.0.0/30", 1),
        ("1.0.0.0/24", 2),
        ("2.0.0.0/24", 3),
        ("3.0.0.0/8", 4),
        ("3.0.0.0/9", 5),
    ] {
        assert_eq!(t.insert(&p4(p), v), None);
    }
    assert_eq!(t.len(), 5);
    assert_eq!(t.longest_match(a4("1.0.0.3")), Some((30, 1)));
    assert_eq!(t.longest_match(a4("1.0.0.4")), Some((24, 2)));
    assert_eq!(t.longest_match(a4("2.0.0.255")), Some((24, 3)));
    assert_eq!(t.longest_match(a4("3.128.0.0")), Some((8, 4)));
    assert_eq!(t.longest_match(a4("3.127.255.255")), Some((9, 5)));
    assert_eq!(t.longest_match(a4("5.0.0.0")), None);
    assert_eq!(
        t.longest_match_prefix(a4("1.0.0.77")),
        Some((p4("1.0.0.0/24"), 2))
    );
}

#[test]
fn default_route_and_host_routes() {
    let mut t = TreeBitmap::<u32, u32>::new();
    t.insert(&p4("0.0.0.0/0"), 7);
    t.insert(&p4("255.255.255.255/32"), 9);
    t.insert(&p4("0.0.0.0/32"), 8);
    assert_eq!(t.longest_match(a4("0.0.0.0")), Some((32, 8)));
    assert_eq!(t.longest_match(a4("0.0.0.1")), Some((0, 7)));
    assert_eq!(t.longest_match(a4("255.255.255.255")), Some((32, 9)));
    assert_eq!(t.longest_match(a4("255.255.255.254")), Some((0, 7)));
    assert_eq!(t.remove(&p4("0.0.0.0/0")), Some(7));
    assert_eq!(t.longest_match(a4("0.0.0.1")), None);

    let mut t6 = TreeBitmap::<u128, u32>::new();
    t6.insert(&p6("::/0"), 1);
    t6.insert(&p6("2001:db8::1/128"), 2);
    t6.insert(&p6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 3);
    assert_eq!(t6.longest_match(0x2001_0db8u128 << 96 | 1), Some((128, 2)));
    assert_eq!(t6.longest_match(u128::MAX), Some((128, 3)));
    assert_eq!(t6.longest_match(u128::MAX - 1), Some((0, 1)));
}

#[test]
fn insert_replaces_and_remove_prunes_every_node() {
    let mut t = TreeBitmap::<u32, u32>::new();
    let prefixes = [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "10.1.2.3/32",
        "10.1.2.0/23",
    ];
    for (i, p) in prefixes.iter().enumerate() {
        assert_eq!(t.insert(&p4(p), i as u32), None);
    }
    assert_eq!(t.insert(&p4("10.1.0.0/16"), 99), Some(1));
    assert_eq!(t.exact(&p4("10.1.0.0/16")), Some(99));
    assert_eq!(t.exact(&p4("10.1.0.0/17")), None);
    assert_eq!(t.remove(&p4("10.1.0.0/17")), None);
    for p in prefixes {
        assert!(t.remove(&p4(p)).is_some(), "{p}");
    }
    assert!(t.is_empty());
    assert!(t.root_is_empty());
    assert_eq!(t.node_count(), 1, "only the root is left");
}

#[test]
fn covering_and_covered() {
    let mut t = TreeBitmap::<u32, u32>::new();
    for (i, p) in [
        "0.0.0.0/0",
        "10.0.0.0/8",
        "10.0.0.0/12",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "11.0.0.0/8",
    ]
    .iter()
    .enumerate()
    {
        t.insert(&p4(p), i as u32);
    }
    let cov: Vec<_> = t
        .covering(&p4("10.1.2.0/24"))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        cov,
        vec![
            p4("0.0.0.0/0"),
            p4("10.0.0.0/8"),
            p4("10.0.0.0/12"),
            p4("10.1.0.0/16"),
            p4("10.1.2.0/24")
        ]
    );
    assert_eq!(
        t.longest_covering(&p4("10.0.0.0/15")),
        Some((p4("10.0.0.0/12"), 2))
    );
    let inside: Vec<_> = t.covered(&p4("10.0.0.0/8")).map(|(p, _)| p).collect();
    assert_eq!(
        inside,
        vec![
            p4("10.0.0.0/8"),
            p4("10.0.0.0/12"),
            p4("10.1.0.0/16"),
            p4("10.1.2.0/24")
        ]
    );
    let inside: Vec<_> = t.covered(&p4("10.0.0.0/7")).map(|(p, _)| p).collect();
    assert_eq!(inside.len(), 5);
    assert_eq!(t.covered(&p4("12.0.0.0/8")).count(), 0);
    assert_eq!(t.iter().count(), 6);
}

/// A naive model: a map scanned linearly.
#[derive(Default)]
struct Model(BTreeMap<Prefix<u32>, u32>);

impl Model {
    fn longest_match(&self, addr: u32) -> Option<(u8, u32)> {
        self.0
            .iter()
            .filter(|(p, _)| p.contains_addr(addr))
            .map(|(p, v)| (p.prefix_len(), *v))
            .max_by_key(|x| x.0)
    }
}

/// Prefixes drawn from a few base addresses so that they nest and overlap.
fn prefix_strategy() -> impl Strategy<Value = Prefix<u32>> {
    let bases = prop::sample::select(vec![
        0u32,
        0x0A00_0000,
        0x0A01_0200,
        0xC0A8_0000,
        0xFFFF_FFFF,
    ]);
    (bases, any::<u32>(), 0u8..=32, 0u8..=32).prop_map(|(base, noise, len, keep)| {
        // Keep `keep` bits of the base and take the rest from the noise.
        let addr = base.masked(keep) | (noise & !u32::MAX.masked(keep));
        Prefix::new_masked(addr, len).unwrap()
    })
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Prefix<u32>, u32),
    Remove(Prefix<u32>),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (prefix_strategy(), any::<u32>()).prop_map(|(p, v)| Op::Insert(p, v)),
        1 => prefix_strategy().prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn agrees_with_a_linear_scan(ops in prop::collection::vec(op_strategy(), 1..200),
                                 probes in prop::collection::vec(any::<u32>(), 50)) {
        let mut t = TreeBitmap::<u32, u32>::new();
        let mut model = Model::default();
        for op in &ops {
            match *op {
                Op::Insert(p, v) => prop_assert_eq!(t.insert(&p, v), model.0.insert(p, v)),
                Op::Remove(p) => prop_assert_eq!(t.remove(&p), model.0.remove(&p)),
            }
        }
        prop_assert_eq!(t.len(), model.0.len());
        // Iteration is address order, which is the model's (address, length) order.
        let items: Vec<_> = t.iter().collect();
        let expected: Vec<_> = model.0.iter().map(|(p, v)| (*p, *v)).collect();
        prop_assert_eq!(items, expected);
        // Probe random addresses and the edges of every prefix.
        let edges = model.0.keys().flat_map(|p| [p.addr(), p.last(), p.last().wrapping_add(1)]);
        for addr in probes.iter().copied().chain(edges) {
            prop_assert_eq!(t.longest_match(addr), model.longest_match(addr), "addr {:#x}", addr);
        }
        for op in &ops {
            let (Op::Insert(p, _) | Op::Remove(p)) = op;
            prop_assert_eq!(t.exact(p), model.0.get(p).copied());
            let covering: Vec<_> = model.0.iter().filter(|(q, _)| q.contains(p)).map(|(q, v)| (*q, *v)).collect();
            prop_assert_eq!(t.covering(p), covering);
            let covered: Vec<_> = model.0.iter().filter(|(q, _)| p.contains(q)).map(|(q, v)| (*q, *v)).collect();
            prop_assert_eq!(t.covered(p).collect::<Vec<_>>(), covered);
        }
        // Removing everything frees every node but the root.
        for p in model.0.keys() {
            t.remove(p);
        }
        prop_assert!(t.is_empty());
        prop_assert_eq!(t.node_count(), 1);
    }
}

use super::*;
use crate::batch::Keys;
use proptest::prelude::*;

/// A value that is an integer or not, like a Python table's.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Int(i64),
    Text(String),
}

impl SlotValue for V {
    fn as_int(&self) -> Option<i64> {
        match self {
            V::Int(i) => Some(*i),
            V::Text(_) => None,
        }
    }
}

fn p(s: &str) -> IpPrefix {
    crate::ip::parse_prefix(s, true).unwrap()
}

/// Whether `q` contains `a` (by comparing masked addresses).
fn contains(q: &IpPrefix, a: IpAddr) -> bool {
    IpPrefix::new(a, q.prefix_len(), false).is_ok_and(|r| r == *q)
}

/// The brute-force answer: the longest of the prefixes that contain `a`.
fn naive(items: &[(IpPrefix, V)], a: IpAddr) -> Option<(u8, &V)> {
    items
        .iter()
        .filter(|(q, _)| contains(q, a))
        .max_by_key(|(q, _)| q.prefix_len())
        .map(|(q, v)| (q.prefix_len(), v))
}

fn value<'a>(f: Found<'a, V>) -> V {
    match f {
        Found::Int(i) => V::Int(i),
        Found::Value(v) => v.clone(),
    }
}

#[test]
fn compile_policy_single_lookups_batches_and_writes() {
    let mut t: LpmTable<V> = [(p("8.0.0.0/8"), V::Int(1))].into_iter().collect();
    let a: IpAddr = "8.8.8.8".parse().unwrap();
    for _ in 0..COMPILE_FOR_BATCH {
        assert_eq!(
            t.longest_match(a).map(|(l, v)| (l, value(v))),
            Some((8, V::Int(1)))
        );
    }
    assert!(
        !t.is_compiled(),
        "as many single lookups as the policy's floor"
    );
    t.longest_match(a);
    assert!(t.is_compiled(), "one more compiles");
    t.insert(&p("8.8.0.0/16"), V::Int(1));
    assert!(!t.is_compiled(), "a write drops the compiled form");
    t.lookup_ints(Keys::V4(&[0; COMPILE_FOR_BATCH - 1]), -1)
        .unwrap();
    assert!(!t.is_compiled(), "a small batch does not compile");
    t.lookup_ints(Keys::V4(&[0; COMPILE_FOR_BATCH]), -1)
        .unwrap();
    assert!(t.is_compiled(), "a large batch does");
    t.insert(&p("8.8.0.0/16"), V::Int(2));
    assert!(!t.is_compiled(), "so does a value replaced in place");
    assert!(t.compile() && t.is_compiled());
    assert_eq!(
        t.longest_match(a).map(|(l, v)| (l, value(v))),
        Some((16, V::Int(2)))
    );
}

#[test]
fn objects_and_ints_answer_alike() {
    let mut t: LpmTable<V> = LpmTable::new();
    t.insert(&p("10.0.0.0/8"), V::Int(7));
    t.insert(&p("10.1.0.0/16"), V::Text("x".into()));
    t.insert(&p("::/0"), V::Int(7));
    assert!(!t.is_int_table());
    assert_eq!(t.lookup_ints(Keys::V4(&[0x0A01_0000]), -1), Ok(None));
    t.compile();
    let (lens, values) = t
        .lookup_many(Keys::V4(&[0x0A01_0000, 0x0A02_0000, 0]))
        .unwrap();
    assert_eq!(lens, [16, 8, -1]);
    assert_eq!(values, [Some(&V::Text("x".into())), Some(&V::Int(7)), None]);
    assert_eq!(t.clear().len(), 3);
    assert!(t.is_empty() && t.is_int_table() && !t.is_compiled());
}

fn prefixes() -> impl Strategy<Value = Vec<(IpPrefix, V)>> {
    let v4 = (any::<u32>(), 0u8..=32)
        .prop_map(|(a, l)| IpPrefix::new(IpAddr::V4(a.into()), l, false).unwrap());
    let v6 = (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| IpPrefix::new(IpAddr::V6(a.into()), l, false).unwrap());
    let value = prop_oneof![(0i64..5).prop_map(V::Int), "[ab]".prop_map(V::Text)];
    prop::collection::vec((prop_oneof![v4, v6], value), 0..40)
}

/// Batches of one family (the compiled integer path) answer as mixed ones do.
fn same_by_family(t: &LpmTable<V>, addrs: &[IpAddr]) -> Result<(), TestCaseError> {
    let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = addrs.iter().partition(|a| a.is_ipv4());
    let keys4: Vec<u32> = v4
        .iter()
        .map(|a| match a {
            IpAddr::V4(x) => u32::from(*x),
            _ => 0,
        })
        .collect();
    let rows6: Vec<[u8; 16]> = v6
        .iter()
        .map(|a| match a {
            IpAddr::V6(x) => x.octets(),
            _ => [0; 16],
        })
        .collect();
    for (keys, mixed) in [(Keys::V4(&keys4), &v4), (Keys::V6(&rows6), &v6)] {
        prop_assert_eq!(
            t.lookup_many(keys).unwrap(),
            t.lookup_many(Keys::Mixed(mixed)).unwrap()
        );
        prop_assert_eq!(
            t.lookup_ints(keys, -9),
            t.lookup_ints(Keys::Mixed(mixed), -9)
        );
    }
    Ok(())
}

proptest! {
    /// Single lookups and batches, through the tree and the compiled form, agree with
    /// a brute-force model; so do they after removing half of the prefixes.
    #[test]
    fn agrees_with_brute_force(items in prefixes(), seeds in prop::collection::vec(any::<u128>(), 1..60)) {
        let mut model: Vec<(IpPrefix, V)> = Vec::new();
        for (q, v) in &items {
            model.retain(|(r, _)| r != q);
            model.push((*q, v.clone()));
        }
        let mut t: LpmTable<V> = items.into_iter().collect();
        // Addresses at prefix edges and at random.
        let mut addrs: Vec<IpAddr> = model.iter().map(|(q, _)| q.addr()).collect();
        addrs.extend(seeds.iter().map(|&s| IpAddr::V4((s as u32).into())));
        addrs.extend(seeds.iter().map(|&s| IpAddr::V6(s.into())));
        for round in 0..2 {
            for compiled in [false, true] {
                if compiled { t.compile(); }
                let (lens, values) = t.lookup_many(Keys::Mixed(&addrs)).unwrap();
                let ints = t.lookup_ints(Keys::Mixed(&addrs), -9).unwrap();
                for (i, &a) in addrs.iter().enumerate() {
                    let want = naive(&model, a);
                    let got = t.longest_match(a).map(|(l, v)| (l, value(v)));
                    prop_assert_eq!(got.clone(), want.map(|(l, v)| (l, v.clone())), "{} round {}", a, round);
                    prop_assert_eq!(lens[i], want.map_or(-1, |(l, _)| l as i16));
                    prop_assert_eq!(values[i], want.map(|(_, v)| v));
                    prop_assert_eq!(t.contains(a), want.is_some());
                    if let Some(ints) = &ints {
                        prop_assert_eq!(ints.values[i], want.map_or(-9, |(_, v)| v.as_int().unwrap()));
                        prop_assert_eq!(ints.found[i], want.is_some());
                    }
                }
                same_by_family(&t, &addrs)?;
            }
            let gone: Vec<IpPrefix> = model.iter().step_by(2).map(|(q, _)| *q).collect();
            for q in &gone {
                prop_assert!(t.remove(q).is_some());
            }
            model.retain(|(q, _)| !gone.contains(q));
            prop_assert_eq!(t.len(), model.len());
        }
    }
}

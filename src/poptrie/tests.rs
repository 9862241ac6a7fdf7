use super::*;
use crate::key::Prefix;
use crate::treebitmap::TreeBitmap;
use proptest::prelude::*;

/// The Poptrie of a tree bitmap's contents, with ids as values.
fn compile<K: Key>(t: &TreeBitmap<K, u32>, direct_bits: u8) -> Poptrie<K> {
    let items: Vec<(Prefix<K>, u32)> = t.iter().collect();
    Poptrie::build(&items, direct_bits).unwrap()
}

fn tree<K: Key>(prefixes: &[(K, u8)]) -> TreeBitmap<K, u32> {
    let mut t = TreeBitmap::new();
    for (i, &(a, len)) in prefixes.iter().enumerate() {
        t.insert(&Prefix::new_masked(a, len).unwrap(), i as u32);
    }
    t
}

fn agree<K: Key>(t: &TreeBitmap<K, u32>, p: &Poptrie<K>, keys: &[K]) -> Result<(), TestCaseError> {
    let mut many = vec![0; keys.len()];
    p.lookup_many(keys, &mut many);
    for (i, &k) in keys.iter().enumerate() {
        let want = t.longest_match(k);
        prop_assert_eq!(unpack(p.lookup(k)), want, "key {:?}", k);
        prop_assert_eq!(many[i], p.lookup(k));
    }
    Ok(())
}

#[test]
fn empty_default_and_host_routes() {
    let t = tree::<u32>(&[]);
    let p = compile(&t, 18);
    assert_eq!(p.lookup(0x0808_0808), MISS);
    let t = tree::<u32>(&[
        (0, 0),
        (0x0808_0808, 32),
        (0x0808_0800, 24),
        (0xFFFF_FFFF, 32),
    ]);
    let p = compile(&t, 18);
    assert_eq!(unpack(p.lookup(0x0808_0808)), Some((32, 1)));
    assert_eq!(unpack(p.lookup(0x0808_0809)), Some((24, 2)));
    assert_eq!(unpack(p.lookup(0x0909_0909)), Some((0, 0)));
    assert_eq!(unpack(p.lookup(u32::MAX)), Some((32, 3)));
}

#[test]
fn too_many_values_is_an_error() {
    let items = [(Prefix::new(0u32, 8).unwrap(), MAX_ID + 1)];
    assert_eq!(Poptrie::build(&items, 18).err(), Some(TooManyValues));
}

fn v4_prefix() -> impl Strategy<Value = (u32, u8)> {
    // A few base addresses so that prefixes nest; lengths across every level.
    let base = prop::sample::select(vec![
        0u32,
        0x0A00_0000,
        0x0A01_0200,
        0xC0A8_FF00,
        0xFFFF_FFFF,
    ]);
    (base, any::<u32>(), 0u8..=32, 0u8..=32)
        .prop_map(|(b, noise, keep, len)| (b.masked(keep) | (noise & !u32::MAX.masked(keep)), len))
}

fn v6_prefix() -> impl Strategy<Value = (u128, u8)> {
    let base = prop::sample::select(vec![
        0u128,
        0x2001_0db8 << 96,
        (0x2001_0db8 << 96) | 0xFFFF,
        u128::MAX,
    ]);
    (base, any::<u128>(), 0u8..=128, 0u8..=128)
        .prop_map(|(b, noise, keep, len)| (b.masked(keep) | (noise & !u128::MAX.masked(keep)), len))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ipv4_agrees_with_the_tree_bitmap(prefixes in prop::collection::vec(v4_prefix(), 0..150),
                                        direct_bits in prop::sample::select(vec![1u8, 4, 8, 16, 18]),
                                        probes in prop::collection::vec(any::<u32>(), 64)) {
        let t = tree(&prefixes);
        let p = compile(&t, direct_bits);
        let edges: Vec<u32> = t.iter().flat_map(|(q, _)| [q.addr(), q.last(), q.last().wrapping_add(1), q.addr().wrapping_sub(1)]).collect();
        agree(&t, &p, &[probes, edges].concat())?;
    }

    #[test]
    fn ipv6_agrees_with_the_tree_bitmap(prefixes in prop::collection::vec(v6_prefix(), 0..150),
                                        probes in prop::collection::vec(any::<u128>(), 64)) {
        let t = tree(&prefixes);
        let p = compile(&t, 16);
        let edges: Vec<u128> = t.iter().flat_map(|(q, _)| [q.addr(), q.last(), q.last().wrapping_add(1)]).collect();
        agree(&t, &p, &[probes, edges].concat())?;
    }
}

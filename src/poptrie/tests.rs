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
fn split_is_unpack_without_a_branch() {
    for leaf in [MISS, pack(0, 0), pack(7, 24), pack(MAX_ID, 128)] {
        let (hit, len, id) = split(leaf);
        assert_eq!(hit.then_some((len, id)), unpack(leaf));
    }
}

#[test]
fn too_many_values_is_an_error() {
    let items = [(Prefix::new(0u32, 8).unwrap(), MAX_ID + 1)];
    assert_eq!(Poptrie::build(&items, 18).err(), Some(TooBig));
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

    /// Ids past what 3 bytes hold take 4-byte leaves, with the same answers.
    #[test]
    fn wide_ids_take_four_byte_leaves(prefixes in prop::collection::vec(v4_prefix(), 1..100),
                                      probes in prop::collection::vec(any::<u32>(), 64)) {
        wide_ids_agree(&prefixes, probes, 8)?;
    }

    #[test]
    fn wide_ipv6_ids_take_four_byte_leaves(prefixes in prop::collection::vec(v6_prefix(), 1..100),
                                           probes in prop::collection::vec(any::<u128>(), 64)) {
        wide_ids_agree(&prefixes, probes, 12)?;
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

/// A table of `prefixes` whose value ids are too big for 3-byte leaves: it takes
/// 4-byte ones and answers like the tree bitmap.
fn wide_ids_agree<K: Key>(
    prefixes: &[(K, u8)],
    probes: Vec<K>,
    direct_bits: u8,
) -> Result<(), TestCaseError> {
    let mut t = TreeBitmap::new();
    for (i, &(a, len)) in prefixes.iter().enumerate() {
        t.insert(&Prefix::new_masked(a, len).unwrap(), MAX_ID - i as u32);
    }
    let p = compile(&t, direct_bits);
    prop_assert_eq!(p.leaf_bytes(), 4);
    let edges: Vec<K> = t.iter().flat_map(|(q, _)| [q.addr(), q.last()]).collect();
    agree(&t, &p, &[probes, edges].concat())
}

/// `bytes` copied to 8-byte aligned memory, as a mapped file section is.
fn aligned(bytes: &[u8]) -> Vec<u64> {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    words
}

fn as_bytes(words: &[u64], len: usize) -> &[u8] {
    &bytemuck::cast_slice::<u64, u8>(words)[..len]
}

#[test]
fn saved_bytes_answer_like_the_original() {
    let prefixes: Vec<(u32, u8)> = (0..2000u32)
        .map(|i| (i.wrapping_mul(0x9E37_79B9), 8 + (i % 25) as u8))
        .collect();
    let t = tree(&prefixes);
    let p = compile(&t, 18);
    let bytes = p.to_bytes();
    let words = aligned(&bytes);
    let view = PoptrieRef::<u32>::from_bytes(as_bytes(&words, bytes.len())).unwrap();
    for i in 0..20_000u32 {
        let k = i.wrapping_mul(0x85EB_CA6B);
        assert_eq!(view.lookup(k), p.lookup(k));
    }
    assert!(PoptrieRef::<u32>::from_bytes(as_bytes(&words, bytes.len() - 4)).is_err());
    assert!(PoptrieRef::<u128>::from_bytes(as_bytes(&words, 8)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Damaged bytes are refused, or else answer without panicking or looping.
    #[test]
    fn damaged_bytes_never_panic(prefixes in prop::collection::vec(v4_prefix(), 1..60),
                                 flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
                                 probes in prop::collection::vec(any::<u32>(), 32)) {
        let t = tree(&prefixes);
        let p = compile(&t, 8);
        let edges: Vec<u32> = t.iter().flat_map(|(q, _)| [q.addr(), q.last()]).collect();
        let mut bytes = p.to_bytes();
        for (at, bit) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        let words = aligned(&bytes);
        let bytes = as_bytes(&words, bytes.len());
        // Every direct slot, with random low bits, so that damage anywhere is met.
        let keys: Vec<u32> = (0..256u32)
            .flat_map(|slot| probes.iter().take(4).map(move |p| slot << 24 | p >> 8))
            .chain(edges)
            .collect();
        if let Ok(view) = PoptrieRef::<u32>::from_bytes(bytes) {
            for &k in &keys {
                let leaf = view.lookup(k);
                prop_assert!(leaf == MISS || unpack(leaf).unwrap().0 <= 32);
            }
        }
        // As the database uses them: not walked first. Answers may be wrong, but
        // single and batch lookups agree and neither panics.
        if let Ok(view) = PoptrieRef::<u32>::from_bytes_unwalked(bytes) {
            let mut many = vec![0; keys.len()];
            view.lookup_many(&keys, &mut many);
            for (&k, &got) in keys.iter().zip(&many) {
                prop_assert_eq!(got, view.lookup(k));
            }
        }
    }
}

#[test]
fn each_invariant_of_saved_bytes_is_checked() {
    // A table with nodes under the 8-bit direct level, with children and leaves.
    let prefixes: Vec<(u32, u8)> = (0..300u32)
        .map(|i| (0x0A00_0000 | i << 12, 20 + (i % 9) as u8))
        .collect();
    let p = compile(&tree(&prefixes), 8);
    assert_eq!(p.leaf_bytes(), 3);
    let good = p.to_bytes();
    let heap_at = 16 + 4 * 256;
    let entry = 16 + 4 * 0x0A;
    let root =
        heap_at + (u32::from_le_bytes(good[entry..entry + 4].try_into().unwrap()) & !NODE) as usize;
    let vector = u64::from_le_bytes(good[root..root + 8].try_into().unwrap());
    assert!(vector != 0, "the first node has children");
    let first_leaf = root + HEADER + 4 * vector.count_ones() as usize;
    let mut longer = good.clone();
    longer.push(0);
    longer[8..12].copy_from_slice(&(p.heap.len() as u32 + 1).to_le_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "direct entry 10 points to",
            patch(&good, entry, &(NODE | 7).to_le_bytes()),
        ),
        (
            "leaf runs do not start",
            patch(&good, root + 8, &0u64.to_le_bytes()),
        ),
        (
            "child 0 at",
            patch(&good, root + HEADER, &1u32.to_le_bytes()),
        ),
        // Length 33 with 6 length bits.
        ("is not a valid leaf", patch(&good, first_leaf, &[33, 0, 0])),
        ("nodes end at", longer),
        // Codes that a build never makes for IPv4: 7 or 8 length bits, 4 bytes with 6.
        (
            "bad leaf code",
            patch(&good, 12, &(3u32 | 7 << 8).to_le_bytes()),
        ),
        (
            "bad leaf code",
            patch(&good, 12, &(3u32 | 8 << 8).to_le_bytes()),
        ),
        (
            "bad leaf code",
            patch(&good, 12, &(4u32 | 6 << 8).to_le_bytes()),
        ),
    ];
    for (what, bytes) in cases {
        let words = aligned(&bytes);
        let err = PoptrieRef::<u32>::from_bytes(as_bytes(&words, bytes.len()))
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(err.contains(what), "{what}: {err}");
    }
}

fn patch(bytes: &[u8], at: usize, with: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + with.len()].copy_from_slice(with);
    out
}

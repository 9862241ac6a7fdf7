//! Folding peers into tallies gives the answers of keeping every route: random RIB
//! dumps and update files, written by `bgpkit-parser`'s encoder, read into a folding
//! [`Rib`] and into one that keeps every route, both against a brute-force model that
//! replays the generated routes as a list per prefix.

use super::*;
use crate::ip::IpPrefix;
use crate::key::Prefix;
use crate::loaders::{NoProgress, OnError};
use crate::origin::Origin;
use bgpkit_parser::models::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// What a generated route says about its origin; the AS path is made from it.
#[derive(Clone, Debug)]
enum Gen {
    Asn(u32),
    /// Ends in an AS_SET of these.
    Set(Vec<u32>),
    /// The origin, then a private ASN (so the origin is the AS before it).
    Private(u32),
    /// An empty path: no origin, so the peer's route goes away.
    Empty,
}

impl Gen {
    fn origin(&self) -> Option<Origin> {
        match self {
            Gen::Asn(a) | Gen::Private(a) => Some(Origin::Asn(*a)),
            Gen::Set(m) => Some(Origin::set(m.clone())),
            Gen::Empty => None,
        }
    }

    fn attributes(&self, peer_as: u32) -> Attributes {
        let mut seq = vec![peer_as, 7018];
        let mut segments = Vec::new();
        match self {
            Gen::Asn(a) => seq.push(*a),
            Gen::Private(a) => seq.extend([*a, 64512]),
            Gen::Set(m) => {
                segments.push(AsPathSegment::sequence(seq.clone()));
                segments.push(AsPathSegment::set(m.clone()));
            }
            Gen::Empty => seq.clear(),
        }
        if segments.is_empty() && !seq.is_empty() {
            segments.push(AsPathSegment::sequence(seq));
        }
        let path = AsPath::from_segments(segments);
        [
            AttributeValue::Origin(Origin_::IGP),
            AttributeValue::AsPath(path),
        ]
        .into_iter()
        .collect()
    }
}

use bgpkit_parser::models::Origin as Origin_;

fn gen() -> impl Strategy<Value = Gen> {
    prop_oneof![
        6 => (100u32..104).prop_map(Gen::Asn),
        1 => prop::collection::vec(100u32..104, 1..3).prop_map(Gen::Set),
        1 => (100u32..104).prop_map(Gen::Private),
        1 => Just(Gen::Empty),
    ]
}

const PEERS: u8 = 6;
const PREFIXES: u8 = 6;

fn peer_ip(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, i + 1))
}

fn prefix(i: u8) -> ipnet::IpNet {
    format!("10.{}.0.0/16", i + 1).parse().unwrap()
}

/// A RIB dump: a peer table (indexes into [`PEERS`]) and one record per prefix,
/// each with entries (peer table index, ADD-PATH id, route).
#[derive(Clone, Debug)]
struct Dump {
    peers: Vec<u8>,
    add_path: bool,
    records: BTreeMap<u8, Vec<(usize, u32, Gen)>>,
}

/// One BGP4MP update of a peer: announce `Some(route)` or withdraw (`None`).
type Update = (u8, Vec<u8>, Option<Gen>);

#[derive(Clone, Debug)]
enum File {
    Dump(Dump),
    Updates(Vec<Update>),
}

fn dump() -> impl Strategy<Value = File> {
    let peers = proptest::sample::subsequence((0..PEERS).collect::<Vec<_>>(), 1..=PEERS as usize)
        .prop_shuffle();
    (peers, any::<bool>()).prop_flat_map(|(peers, add_path)| {
        let n = peers.len();
        let entry = (0..n, 0u32..2, gen());
        let records = prop::collection::btree_map(
            0..PREFIXES,
            prop::collection::vec(entry, 0..7),
            0..=PREFIXES as usize,
        );
        records.prop_map(move |records| {
            File::Dump(Dump {
                peers: peers.clone(),
                add_path,
                records,
            })
        })
    })
}

fn updates() -> impl Strategy<Value = File> {
    let update = (
        0..PEERS,
        prop::collection::vec(0..PREFIXES, 1..3),
        prop::option::weighted(0.7, gen()),
    );
    prop::collection::vec(update, 1..8).prop_map(File::Updates)
}

fn mrt(message: MrtMessage, entry_type: EntryType, subtype: u16) -> Vec<u8> {
    let record = MrtRecord {
        common_header: CommonHeader {
            timestamp: 1_400_000_000,
            microsecond_timestamp: None,
            entry_type,
            entry_subtype: subtype,
            length: 0,
        },
        message,
    };
    record.encode().unwrap().to_vec()
}

fn encode_dump(d: &Dump) -> Vec<u8> {
    let mut table = PeerIndexTable::default();
    for &p in &d.peers {
        table
            .add_peer(Peer::new(
                Ipv4Addr::new(1, 1, 1, p),
                peer_ip(p),
                Asn::new_32bit(65000 + p as u32),
            ))
            .unwrap();
    }
    let v2 = |m| MrtMessage::TableDumpV2Message(m);
    let mut out = mrt(
        v2(TableDumpV2Message::PeerIndexTable(table)),
        EntryType::TABLE_DUMP_V2,
        TableDumpV2Type::PeerIndexTable as u16,
    );
    let rib_type = match d.add_path {
        true => TableDumpV2Type::RibIpv4UnicastAddPath,
        false => TableDumpV2Type::RibIpv4Unicast,
    };
    for (seq, (p, entries)) in d.records.iter().enumerate() {
        let rib_entries = entries
            .iter()
            .map(|(i, id, g)| RibEntry {
                peer_index: *i as u16,
                originated_time: 0,
                path_id: d.add_path.then_some(*id),
                attributes: g.attributes(65000 + d.peers[*i] as u32),
            })
            .collect();
        let rib = RibAfiEntries {
            rib_type,
            sequence_number: seq as u32,
            prefix: NetworkPrefix::new(prefix(*p), None),
            rib_entries,
        };
        out.extend(mrt(
            v2(TableDumpV2Message::RibAfi(rib)),
            EntryType::TABLE_DUMP_V2,
            rib_type as u16,
        ));
    }
    out
}

fn encode_updates(updates: &[Update]) -> Vec<u8> {
    let mut out = Vec::new();
    for (peer, prefixes, route) in updates {
        let nlri: Vec<NetworkPrefix> = prefixes
            .iter()
            .map(|&p| NetworkPrefix::new(prefix(p), None))
            .collect();
        let peer_as = 65000 + *peer as u32;
        let update = match route {
            Some(g) => BgpUpdateMessage {
                withdrawn_prefixes: vec![],
                attributes: g.attributes(peer_as),
                announced_prefixes: nlri,
            },
            None => BgpUpdateMessage {
                withdrawn_prefixes: nlri,
                attributes: Attributes::default(),
                announced_prefixes: vec![],
            },
        };
        let m = Bgp4MpMessage {
            msg_type: Bgp4MpType::MessageAs4,
            peer_asn: Asn::new_32bit(peer_as),
            local_asn: Asn::new_32bit(6447),
            interface_index: 0,
            peer_ip: peer_ip(*peer),
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            bgp_message: BgpMessage::Update(update),
        };
        out.extend(mrt(
            MrtMessage::Bgp4Mp(Bgp4MpEnum::Message(m)),
            EntryType::BGP4MP,
            Bgp4MpType::MessageAs4 as u16,
        ));
    }
    out
}

/// The model: per prefix, the routes (peer, ADD-PATH id, origin) in the order first
/// announced; a new route of a peer and id replaces its old one in place, a
/// withdrawal or a route without origin removes it.
#[derive(Default)]
struct Model(BTreeMap<u8, Vec<(u8, u32, Origin)>>);

impl Model {
    fn route(&mut self, prefix: u8, peer: u8, id: u32, g: Option<&Gen>) {
        let routes = self.0.entry(prefix).or_default();
        let at = routes.iter().position(|r| r.0 == peer && r.1 == id);
        match (g.and_then(Gen::origin), at) {
            (Some(o), Some(i)) => routes[i].2 = o,
            (Some(o), None) => routes.push((peer, id, o)),
            (None, Some(i)) => {
                routes.remove(i);
            }
            (None, None) => {}
        }
    }

    fn read(&mut self, file: &File) {
        match file {
            File::Dump(d) => {
                for (p, entries) in &d.records {
                    for (i, id, g) in entries {
                        let id = if d.add_path { *id } else { 0 };
                        self.route(*p, d.peers[*i], id, Some(g));
                    }
                }
            }
            File::Updates(us) => {
                for (peer, prefixes, g) in us {
                    for p in prefixes {
                        self.route(*p, *peer, 0, g.as_ref());
                    }
                }
            }
        }
    }

    /// Every prefix's answer under `policy`, by brute force.
    fn answers(&self, policy: OriginPolicy) -> BTreeMap<IpPrefix, Chosen> {
        let mut out = BTreeMap::new();
        for (p, routes) in self.0.iter().filter(|(_, r)| !r.is_empty()) {
            let mut pairs: Vec<(u8, &Origin)> = Vec::new();
            for (peer, _, o) in routes {
                if !pairs.contains(&(*peer, o)) {
                    pairs.push((*peer, o));
                }
            }
            let mut origins: Vec<&Origin> = Vec::new();
            for (_, o) in &pairs {
                if !origins.contains(o) {
                    origins.push(o);
                }
            }
            let mut all: Vec<(Origin, u32)> = origins
                .iter()
                .map(|o| {
                    (
                        (*o).clone(),
                        pairs.iter().filter(|(_, q)| q == o).count() as u32,
                    )
                })
                .collect();
            all.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
            let chosen = match policy {
                OriginPolicy::FirstPeer => Chosen::One(routes[0].2.clone()),
                OriginPolicy::Majority => Chosen::One(all[0].0.clone()),
                OriginPolicy::All => Chosen::All(all),
            };
            let net = prefix(*p);
            let key = IpPrefix::V4(
                Prefix::new_masked(
                    u32::from(match net.addr() {
                        IpAddr::V4(a) => a,
                        _ => unreachable!(),
                    }),
                    net.prefix_len(),
                )
                .unwrap(),
            );
            out.insert(key, chosen);
        }
        out
    }
}

fn write(files: &[File]) -> Vec<PathBuf> {
    static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let bytes = match f {
                File::Dump(d) => encode_dump(d),
                File::Updates(u) => encode_updates(u),
            };
            crate::testutil::temp_file("fold", &format!("{case}_{i}.mrt"), bytes)
        })
        .collect()
}

fn read_all(mut rib: Rib, paths: &[PathBuf], policy: OriginPolicy) -> BTreeMap<IpPrefix, Chosen> {
    for p in paths {
        let mut opts = ReadOptions {
            on_error: OnError::Raise,
            progress: &mut NoProgress,
        };
        rib.read_file(p, &mut opts).unwrap();
    }
    rib.origins(policy).collect()
}

fn files() -> impl Strategy<Value = Vec<File>> {
    let file = prop_oneof![3 => dump(), 2 => updates()];
    prop::collection::vec(file, 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn folded_rib_answers_as_every_route_kept(files in files()) {
        let paths = write(&files);
        let mut model = Model::default();
        files.iter().for_each(|f| model.read(f));
        for policy in OriginPolicy::ALL {
            let expected = model.answers(policy);
            prop_assert_eq!(&read_all(Rib::for_files(&paths, &mut NoProgress).unwrap(), &paths, policy), &expected, "folding, {:?}", policy);
            prop_assert_eq!(&read_all(Rib::new(), &paths, policy), &expected, "every route, {:?}", policy);
        }
        for p in paths {
            std::fs::remove_file(p).unwrap();
        }
    }
}

proptest! {
    /// A dump given twice in one file (two peer index tables): the folded peers'
    /// entries under the second table are left out, not counted again, so the
    /// answers are those of the dump read once with every route kept.
    #[test]
    fn a_dump_joined_to_itself_is_not_counted_twice(d in dump()) {
        let File::Dump(d) = d else { unreachable!() };
        let once = crate::testutil::temp_file("fold_twice", "once.mrt", encode_dump(&d));
        let twice = [encode_dump(&d), encode_dump(&d)].concat();
        let twice = crate::testutil::temp_file("fold_twice", "twice.mrt", twice);
        let (kept, _) = answers(Rib::new(), &[once]);
        let twice = [twice];
        let (folded, _) = answers(Rib::for_files(&twice, &mut NoProgress).unwrap(), &twice);
        prop_assert_eq!(kept, folded);
    }
}

/// Every prefix's answer under every policy, and the slots the RIB holds.
fn answers(mut rib: Rib, paths: &[PathBuf]) -> (Vec<BTreeMap<IpPrefix, Chosen>>, usize) {
    for p in paths {
        let mut opts = ReadOptions {
            on_error: OnError::Skip,
            progress: &mut NoProgress,
        };
        rib.read_file(p, &mut opts).unwrap();
    }
    let all = OriginPolicy::ALL
        .iter()
        .map(|&policy| rib.origins(policy).collect())
        .collect();
    (all, rib.slots())
}

#[test]
fn real_dumps_and_updates_answer_as_every_route_kept() {
    let mrt = |name: &str| crate::testutil::shared(&format!("mrt/{name}"));
    let jinx = mrt("libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2");
    let rib6 = mrt("rib6.20151101.0600_firstMB.bz2");
    // (files, whether some peer is folded). The full jinx RIB is read once, with its
    // updates (the RIB alone folds the same, and takes as long again).
    let cases = [
        (
            vec![
                jinx,
                mrt("libbgpstream/routeviews.route-views.jinx.updates.1401493500.bz2"),
            ],
            true,
        ),
        (vec![mrt("rib.20140523.0600_firstMB.bz2")], true),
        (vec![rib6.clone()], true),
        (vec![rib6.clone(), rib6], false),
        (
            vec![
                mrt("ripe-ris-bgpdump/bview.20020722.2337.gz"),
                mrt("ripe-ris-bgpdump/updates.20020722.2238.gz"),
            ],
            false,
        ),
    ];
    for (paths, folds) in cases {
        let plan = FoldPlan::scan(&paths, &mut NoProgress).unwrap();
        assert_eq!(!plan.is_empty(), folds, "{paths:?}");
        let (kept, routes) = answers(Rib::new(), &paths);
        let (folded, slots) = answers(Rib::folding(plan), &paths);
        assert!(!kept[0].is_empty(), "{paths:?}");
        for (policy, (k, f)) in OriginPolicy::ALL.iter().zip(kept.iter().zip(&folded)) {
            let diff = k.iter().zip(f).find(|(a, b)| a != b);
            assert_eq!(diff, None, "{paths:?} {policy:?}");
            assert_eq!(k.len(), f.len(), "{paths:?} {policy:?}");
        }
        assert_eq!(
            slots < routes,
            folds,
            "{paths:?}: {slots} slots, {routes} routes"
        );
        if folds && paths.len() == 1 {
            // A dump alone: about one slot per prefix and origin (two are inline).
            let prefixes = kept[0].len();
            assert!(
                slots < 3 * prefixes,
                "{paths:?}: {slots} slots, {prefixes} prefixes"
            );
        }
    }
}

#[test]
fn one_prefix_keeps_at_most_max_routes() {
    // One peer announcing one prefix under 20,000 ADD-PATH ids: the first
    // MAX_ROUTES are kept (the origin is theirs), the rest counted as skipped.
    let n = 20_000u32;
    let entries = (0..n)
        .map(|id| (0, id, Gen::Asn(if id < 10 { 1 } else { 2 })))
        .collect();
    let dump = Dump {
        peers: vec![0],
        add_path: true,
        records: BTreeMap::from([(0u8, entries)]),
    };
    let paths = write(&[File::Dump(dump)]);
    let mut rib = Rib::new();
    let mut opts = ReadOptions {
        on_error: OnError::Raise,
        progress: &mut NoProgress,
    };
    let s = rib.read_file(&paths[0], &mut opts).unwrap();
    let skipped = s.skipped["route beyond 16,384 for one prefix"];
    assert_eq!(skipped, u64::from(n) - super::rib::MAX_ROUTES as u64);
    let origins: Vec<_> = rib.origins(OriginPolicy::All).collect();
    assert_eq!(origins.len(), 1);
    let want = vec![(Origin::Asn(1), 1), (Origin::Asn(2), 1)];
    assert_eq!(origins[0].1, Chosen::All(want));
}

#[test]
fn the_scan_of_a_large_update_file_can_be_stopped() {
    // An update file is read through by the first pass: the progress that stops
    // the reading stops it too, where it asks (every few thousand records).
    struct StopAt(u32);
    impl crate::loaders::Progress for StopAt {
        fn update(&mut self, _: u64, _: u64) -> bool {
            self.0 = self.0.saturating_sub(1);
            self.0 > 0
        }
    }
    let updates = (0..10_000u32).map(|i| {
        let (peer, prefix) = (i % u32::from(PEERS), i % u32::from(PREFIXES));
        (peer as u8, vec![prefix as u8], Some(Gen::Asn(i + 1)))
    });
    let paths = write(&[File::Updates(updates.collect())]);
    assert!(
        FoldPlan::scan(&paths, &mut StopAt(3)).is_ok(),
        "2 questions, never stopped"
    );
    let stopped = FoldPlan::scan(&paths, &mut StopAt(2));
    assert!(
        matches!(stopped, Err(LoadError::Interrupted)),
        "{stopped:?}"
    );
}

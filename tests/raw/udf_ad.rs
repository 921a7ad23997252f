//! ECMA-167 4/14.14 allocation descriptors and 4/14.5 allocation extents: the encoders and
//! decoders of `glassmaster::raw::udf::ad`, through the public API.

use glassmaster::raw::udf::ad::*;
use glassmaster::raw::udf::MAX_EXTENT_LEN;

#[test]
fn chains_of_allocation_extents() {
    // Fits: no extent of descriptors.
    assert_eq!(chain_counts(114, 114, 16), (114, vec![]));
    // One more than fits: 113 in the entry, 2 in one block.
    assert_eq!(chain_counts(115, 114, 16), (113, vec![2]));
    // A block holds (2048 - 24) / 16 = 126 long_ads: 126 exactly, then a second block.
    assert_eq!(chain_counts(113 + 126, 114, 16), (113, vec![126]));
    assert_eq!(chain_counts(113 + 127, 114, 16), (113, vec![125, 2]));
    // Short: 253 per block.
    assert_eq!(chain_counts(1000, 229, 8), (228, vec![252, 252, 252, 16]));
    for n in 0..3000 {
        let (head, blocks) = chain_counts(n, 229, 8);
        assert_eq!(head + blocks.iter().sum::<usize>(), n, "{n}");
        assert!(head <= 229 && blocks.iter().all(|&b| b <= 253), "{n}");
    }
}

#[test]
fn extents_of_a_chosen_size() {
    assert_eq!(
        split_extent_max(10, 5000, 2048),
        vec![(10, 2048), (11, 2048), (12, 904)]
    );
    assert_eq!(
        split_extent_max(10, 5000, 3000),
        vec![(10, 2048), (11, 2048), (12, 904)]
    );
    assert_eq!(
        split_extent_max(10, 5000, 1),
        vec![(10, 2048), (11, 2048), (12, 904)]
    );
    assert_eq!(split_extent_max(0, 0, 2048), vec![]);
    assert_eq!(
        split_extent(7, 3 << 30),
        split_extent_max(7, 3 << 30, u32::MAX)
    );
    for (len, max) in [
        (0, 2048),
        (1, 2048),
        (5000, 2048),
        (5000, 1),
        (3 << 30, u32::MAX),
    ] {
        assert_eq!(
            extent_count_max(len, max),
            split_extent_max(0, len, max).len()
        );
    }
}

#[test]
fn short_ad_by_hand() {
    let a = ShortAd::recorded(0x11223344, 2049);
    assert_eq!(a.encode(), [0x01, 0x08, 0, 0, 0x44, 0x33, 0x22, 0x11]);
    assert_eq!(ShortAd::decode(&a.encode()), Some(a));
    let b = ShortAd {
        length: 0x800,
        kind: ExtentType::AllocatedNotRecorded,
        position: 5,
    };
    assert_eq!(&b.encode()[..4], &[0x00, 0x08, 0x00, 0x40]);
    assert_eq!(ShortAd::decode(&b.encode()), Some(b));
    assert_eq!(ShortAd::decode(&[0; 7]), None);
}

#[test]
fn long_ad_by_hand() {
    let a = LongAd::icb(7, 1, 0x1_0000_0010);
    assert_eq!(
        a.encode(),
        [0x00, 0x08, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0]
    );
    assert_eq!(a.udf_unique_id(), 0x10);
    assert_eq!(LongAd::decode(&a.encode()), Some(a));
    let n = LongAd {
        kind: ExtentType::NextExtent,
        ..LongAd::recorded(1, 0, 100)
    };
    assert_eq!(LongAd::decode(&n.encode()), Some(n));
    assert_eq!(LongAd::decode(&[0; 15]), None);
}

#[test]
fn extent_ad_round_trip() {
    let e = ExtentAd {
        length: 16 * 2048,
        location: 32,
    };
    assert_eq!(e.encode(), [0, 0x80, 0, 0, 32, 0, 0, 0]);
    assert_eq!(ExtentAd::decode(&e.encode()), Some(e));
}

#[test]
fn allocation_round_trips() {
    let cases = [
        Allocation::Short(vec![ShortAd::recorded(5, 4096), ShortAd::recorded(9, 1)]),
        Allocation::Long(vec![LongAd::recorded(3, 0, 2048 * 3 + 1)]),
        Allocation::Embedded(b"tiny".to_vec()),
        Allocation::Short(vec![]),
    ];
    for a in cases {
        assert_eq!(
            Allocation::decode(a.icb_type(), &a.encode()),
            Some(a.clone())
        );
        assert_eq!(a.encode().len(), a.len());
    }
    assert_eq!(
        Allocation::Short(vec![ShortAd::recorded(5, 4096), ShortAd::recorded(9, 1)])
            .recorded_blocks(),
        3
    );
    assert_eq!(
        Allocation::Long(vec![LongAd::recorded(3, 0, 2048 * 3 + 1)]).recorded_blocks(),
        4
    );
    assert_eq!(Allocation::Embedded(vec![1; 100]).recorded_blocks(), 0);
    // A zero length ends the list.
    let mut b = ShortAd::recorded(5, 4096).encode().to_vec();
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&ShortAd::recorded(7, 1).encode());
    assert_eq!(
        Allocation::decode(0, &b),
        Some(Allocation::Short(vec![ShortAd::recorded(5, 4096)]))
    );
    assert_eq!(Allocation::decode(0, &[0; 7]), None);
    assert_eq!(Allocation::decode(2, &[]), None);
    assert_eq!(AllocShape::Long(3).len(), 48);
}

#[test]
fn splitting() {
    assert_eq!(split_extent(10, 0), vec![]);
    assert_eq!(split_extent(10, 1), vec![(10, 1)]);
    let m = MAX_EXTENT_LEN as u64;
    assert_eq!(split_extent(10, m), vec![(10, MAX_EXTENT_LEN)]);
    // One byte more needs a second extent, 0x7FFFF blocks further on.
    assert_eq!(
        split_extent(10, m + 1),
        vec![(10, MAX_EXTENT_LEN), (10 + 0x7FFFF, 1)]
    );
    // 5 GiB: 0x3FFFF800 * 5 = 5 GiB - 10 KiB, so 6 extents, the last of 10 KiB.
    let five = 5u64 << 30;
    let v = split_extent(0, five);
    assert_eq!(v.len(), 6);
    assert_eq!(extent_count(five), 6);
    assert_eq!(v[5], (5 * 0x7FFFF, 10 * 1024));
    assert_eq!(v.iter().map(|e| e.1 as u64).sum::<u64>(), five);
    for w in v.windows(2) {
        assert_eq!(w[0].1 % 2048, 0);
        assert_eq!(w[1].0 - w[0].0, w[0].1 / 2048);
    }
}

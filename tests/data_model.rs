//! Property tests of the data model: bytes are a pure function of (seed, stream, params, offset).

use dgen::{GenParams, Generator};
use proptest::prelude::*;

fn params() -> impl Strategy<Value = GenParams> {
    (
        any::<u64>(),
        any::<u64>(),
        1.0f64..6.0,
        1.0f64..25.0,
        12u32..21,
    )
        .prop_map(|(seed, stream, d, c, unit_log)| GenParams {
            seed,
            stream_id: stream,
            dedup_ratio: d,
            compress_ratio: c,
            dedup_unit: 1 << unit_log,
            ..GenParams::new(seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split of a range, filled piece by piece in any order, gives the bytes of one fill.
    #[test]
    fn any_split_gives_identical_bytes(
        p in params(),
        offset in 0u64..(1u64 << 40),
        len in 1usize..300_000,
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        reverse in any::<bool>(),
    ) {
        let g = Generator::new(p).unwrap();
        let mut whole = vec![0u8; len];
        g.fill(offset, &mut whole);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(len)).collect();
        points.extend([0, len]);
        points.sort_unstable();
        points.dedup();
        let mut pieces = vec![0xAAu8; len];
        let mut spans: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
        if reverse {
            spans.reverse();
        }
        for (a, b) in spans {
            g.fill(offset + a as u64, &mut pieces[a..b]);
        }
        prop_assert!(whole == pieces);
        let mut parallel = vec![0u8; len];
        g.fill_parallel(offset, &mut parallel);
        prop_assert!(whole == parallel);
        prop_assert_eq!(g.first_mismatch(offset, &whole), None);
    }

    /// Same parameters give the same bytes (two generators, built apart); a different seed or
    /// stream gives different bytes in every 4 KiB unit.
    #[test]
    fn seed_and_stream_decide_the_bytes(p in params(), offset in 0u64..(1u64 << 36)) {
        let offset = offset & !4095;
        let mut a = vec![0u8; 64 << 10];
        let mut b = vec![0u8; 64 << 10];
        Generator::new(p.clone()).unwrap().fill(offset, &mut a);
        Generator::new(p.clone()).unwrap().fill(offset, &mut b);
        prop_assert!(a == b);
        for other in [
            GenParams { seed: p.seed.wrapping_add(1), ..p.clone() },
            GenParams { stream_id: p.stream_id ^ 1, ..p.clone() },
        ] {
            Generator::new(other).unwrap().fill(offset, &mut b);
            for (x, y) in a.chunks(4096).zip(b.chunks(4096)) {
                prop_assert!(x != y);
            }
        }
    }

    /// The verifier finds a flipped byte at its exact position.
    #[test]
    fn first_mismatch_finds_a_flipped_byte(p in params(), offset in 0u64..(1u64 << 30), len in 1usize..50_000, at in any::<prop::sample::Index>()) {
        let g = Generator::new(p).unwrap();
        let mut data = vec![0u8; len];
        g.fill(offset, &mut data);
        let i = at.index(len);
        data[i] ^= 0x40;
        prop_assert_eq!(g.first_mismatch(offset, &data), Some(i));
    }
}

//! The fuzz target's body on mutations of a valid archive: never a panic, and a damaged archive
//! never verifies with different content. (`fuzz/` runs the same body under libFuzzer.)

use orgpack_archive::store::zip_read::exercise;
use proptest::prelude::*;

use crate::fixtures;

fn valid() -> Vec<u8> {
    std::fs::read(fixtures().join("corrupt/valid.orgpack")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6)) {
        let mut bytes = valid();
        for (at, mask) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        exercise(bytes);
    }

    #[test]
    fn truncations_never_panic(keep in any::<prop::sample::Index>()) {
        let bytes = valid();
        let n = keep.index(bytes.len());
        exercise(bytes[..n].to_vec());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        exercise(bytes);
    }
}

//! The fuzz target's body on mutations of a valid archive: never a panic, and a damaged archive
//! never verifies with different content. (`fuzz/` runs the same body under libFuzzer.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use orgpack_archive::store::zip_read::{ZipStore, exercise};
use orgpack_archive::{Archive, Digest, VerifyOptions, verify};
use proptest::prelude::*;

use crate::fixtures;

fn valid() -> Vec<u8> {
    std::fs::read(fixtures().join("corrupt/valid.orgpack")).unwrap()
}

/// Every part of the valid archive's snapshots: content digest → bytes.
fn originals() -> &'static BTreeMap<Digest, Vec<u8>> {
    static PARTS: OnceLock<BTreeMap<Digest, Vec<u8>>> = OnceLock::new();
    PARTS.get_or_init(|| parts(&valid()).expect("the valid archive reads").1)
}

/// Open `bytes` as an archive and verify it with its data; when it verifies, read every part.
/// `None`: refused (by open or with a verify problem); else whether every part read back, and
/// what it read.
fn parts(bytes: &[u8]) -> Option<(bool, BTreeMap<Digest, Vec<u8>>)> {
    let store = ZipStore::from_source(PathBuf::from("m.orgpack"), Arc::new(bytes.to_vec())).ok()?;
    let archive = Archive::from_store(Box::new(store)).ok()?;
    let report = verify(
        &archive,
        VerifyOptions {
            read_data: true,
            threads: 1,
        },
    )
    .ok()?;
    if !report.problems.is_empty() {
        return None;
    }
    let mut out = BTreeMap::new();
    let mut all = true;
    for entry in &archive.index().snapshots {
        let Ok(snapshot) = archive.snapshot(&entry.id) else {
            all = false;
            continue;
        };
        for part in snapshot.parts() {
            match archive.read_part(part.descriptor) {
                Ok(b) => {
                    out.insert(part.descriptor.digest, b);
                }
                Err(_) => all = false,
            }
        }
    }
    Some((all, out))
}

/// The right answer for a damaged copy: refused, or (a flip in bytes no reader uses) every part
/// read back exactly as the valid archive holds it.
fn refused_or_intact(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Some((all, read)) = parts(bytes) {
        prop_assert!(all, "verified, but a part could not be read");
        for (digest, content) in &read {
            prop_assert_eq!(
                originals().get(digest),
                Some(content),
                "verified with content the valid archive does not hold"
            );
        }
        prop_assert_eq!(read.len(), originals().len(), "verified with parts missing");
    }
    Ok(())
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
        refused_or_intact(&bytes)?;
        let _ = exercise(bytes);
    }

    #[test]
    fn truncations_never_panic(keep in any::<prop::sample::Index>()) {
        let bytes = valid();
        let n = keep.index(bytes.len());
        refused_or_intact(&bytes[..n])?;
        let _ = exercise(bytes[..n].to_vec());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = exercise(bytes);
    }
}

/// The fuzz target's body reads every part of a valid archive, and nothing of bytes that are not
/// one: a body that read nothing would pass every property above.
#[test]
fn the_fuzz_body_reads_every_part_of_a_valid_archive() {
    let archive = Archive::open(&fixtures().join("corrupt/valid.orgpack")).unwrap();
    let parts: usize = archive
        .index()
        .snapshots
        .iter()
        .map(|e| archive.snapshot(&e.id).unwrap().parts().len())
        .sum();
    assert!(parts > 0);
    assert_eq!(exercise(valid()), parts);
    assert_eq!(exercise(b"PK\x05\x06 not an archive".to_vec()), 0);
}

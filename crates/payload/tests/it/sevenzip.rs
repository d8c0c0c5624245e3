//! Service definitions packed by 7-Zip itself at test time, in the ways ArcGIS and people pack
//! them (solid or not, LZMA2, LZMA, stored), and hostile ones. `scripts/test` installs 7-Zip.

use std::path::{Path, PathBuf};
use std::process::Command;

use orgpack_payload::Kind;

use crate::{inspect_file, payloads, shape};

fn seven() -> &'static str {
    for tool in ["7zz", "7z"] {
        if Command::new(tool).arg("i").output().is_ok() {
            return tool;
        }
    }
    panic!("7-Zip (7zz or 7z) is needed: scripts/test installs Debian's 7zip package");
}

/// Pack `dir`'s contents (`.`) or the given paths into `out` with 7-Zip `switches`.
fn pack(dir: &Path, out: &Path, switches: &[&str], paths: &[&str]) {
    let result = Command::new(seven())
        .current_dir(dir)
        .args(["a", "-t7z"])
        .args(switches)
        .arg(out)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// A staged service definition's tree: the configuration and, unless by reference, the data.
fn staged(dir: &Path, with_data: bool) -> PathBuf {
    let root = dir.join("staged");
    std::fs::create_dir_all(root.join("esriinfo")).unwrap();
    std::fs::write(
        root.join("esriinfo/serviceconfiguration.json"),
        r#"{"folderName": "Utilities", "service": {"serviceName": "Water_Network", "type": "FeatureServer"}}"#,
    )
    .unwrap();
    if with_data {
        let unzip = Command::new("unzip")
            .args(["-q"])
            .arg(payloads().join("City.gdb.zip"))
            .arg("-d")
            .arg(root.join("cd"))
            .output()
            .unwrap();
        assert!(unzip.status.success());
    }
    root
}

#[test]
fn service_definitions_as_7zip_packs_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = staged(dir.path(), true);
    let city = inspect_file(&payloads().join("City.gdb.zip")).unwrap();
    for (name, switches) in [
        ("solid-ultra.sd", &["-m0=lzma2", "-mx=9", "-ms=on"][..]),
        ("not-solid.sd", &["-m0=lzma2", "-ms=off"][..]),
        ("lzma.sd", &["-m0=lzma", "-mx=5"][..]),
        ("stored.sd", &["-mx=0"][..]),
    ] {
        let out = dir.path().join(name);
        pack(&root, &out, switches, &["."]);
        let s = inspect_file(&out).unwrap();
        assert_eq!(s.kind, Kind::ServiceDefinition, "{name}");
        let service = s.service.as_ref().unwrap();
        assert_eq!(service.name, "Water_Network", "{name}");
        assert_eq!(service.service_type, "FeatureServer", "{name}");
        assert_eq!(service.folder.as_deref(), Some("Utilities"), "{name}");
        assert_eq!(shape(&s), shape(&city), "{name}");
    }

    // By reference: no data inside, said rather than guessed.
    let by_reference = staged(&dir.path().join("ref"), false);
    let out = dir.path().join("by-reference.sd");
    pack(&by_reference, &out, &[], &["."]);
    let s = inspect_file(&out).unwrap();
    assert!(s.layers.is_empty());
    assert!(
        s.warnings.iter().any(|w| w.contains("references its data")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn hostile_service_definitions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("a");
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::write(inner.join("serviceconfiguration.json"), "{}").unwrap();
    // Names that would leave the extraction folder: 7-Zip keeps them with -spf.
    let absolute = dir.path().join("absolute.sd");
    pack(
        &inner,
        &absolute,
        &["-spf"],
        &[inner.join("serviceconfiguration.json").to_str().unwrap()],
    );
    let dotdot = dir.path().join("dotdot.sd");
    pack(
        &inner,
        &dotdot,
        &["-spf"],
        &["../a/serviceconfiguration.json"],
    );
    for path in [&absolute, &dotdot] {
        let e = inspect_file(path).unwrap_err().to_string();
        assert!(e.contains("refused") && e.contains("would escape"), "{e}");
    }
    // A configuration that is not what Esri's tools read.
    let plain = dir.path().join("plain.sd");
    pack(&inner, &plain, &[], &["serviceconfiguration.json"]);
    let e = inspect_file(&plain).unwrap_err().to_string();
    assert!(
        e.contains("serviceconfiguration.json") && e.contains("no `service` object"),
        "{e}"
    );
    // Truncated, and damaged after its signature.
    let good = std::fs::read(payloads().join("City.sd")).unwrap();
    for (case, bytes) in [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("damaged", {
            let mut b = good.clone();
            for x in &mut b[40..200] {
                *x ^= 0x5a;
            }
            b
        }),
    ] {
        let err = orgpack_payload::inspect(std::io::Cursor::new(bytes), "City.sd")
            .expect_err(case)
            .to_string();
        assert!(err.starts_with("City.sd"), "{case}: {err}");
    }
}

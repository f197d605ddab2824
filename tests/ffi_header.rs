//! The committed C header `include/jyqq_media.h` is what cbindgen (the pinned
//! dev-dependency, run as a library: no binary install needed) generates from
//! src/ffi/mod.rs with `cbindgen.toml`. A stale header fails here; `JYQQ_BLESS_HEADER=1` rewrites it.

use std::path::PathBuf;

fn generate() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        // Only the C ABI module (and the modules it declares), not the whole crate.
        .with_src(root.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/jyqq_media.h");
    let fresh = generate();
    if std::env::var("JYQQ_BLESS_HEADER").as_deref() == Ok("1") {
        std::fs::write(&path, &fresh).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed.lines().zip(fresh.lines()).position(|(a, b)| a != b).unwrap_or(0) + 1;
        panic!(
            "{} is stale (first difference at line {line}): run `JYQQ_BLESS_HEADER=1 cargo test --test ffi_header` \
             and commit it",
            path.display()
        );
    }
}

/// Every exported entry point is declared in the header, and nothing else is.
#[test]
fn header_declares_every_entry_point() {
    let header = generate();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut names = Vec::new();
    for e in std::fs::read_dir(&src).expect("src/ffi") {
        let text = std::fs::read_to_string(e.expect("entry").path()).expect("read");
        for l in text.lines() {
            if let Some(rest) = l
                .trim_start()
                .strip_prefix("pub unsafe extern \"C\" fn ")
                .or_else(|| l.trim_start().strip_prefix("pub extern \"C\" fn "))
            {
                names.push(rest.split('(').next().expect("name").to_string());
            }
        }
    }
    assert!(names.len() >= 40, "found {} entry points", names.len());
    for n in &names {
        assert!(n.starts_with("jyqq_"), "{n} lacks the jyqq_ prefix");
        assert!(
            header.contains(&format!(" {n}(")) || header.contains(&format!("*{n}(")),
            "{n} missing from the header"
        );
    }
    // Each function returns jyqq_result, except the two static-string getters.
    let decls: Vec<&str> = header
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) && !l.starts_with("typedef") && l.contains('('))
        .collect();
    assert_eq!(decls.len(), names.len(), "{decls:#?}");
    for d in decls {
        assert!(
            d.starts_with("jyqq_result jyqq_")
                || d.starts_with("const char *jyqq_version(")
                || d.starts_with("const char *jyqq_result_text("),
            "unexpected return type: {d}"
        );
    }
}

/// The pkg-config file names this version and the library.
#[test]
fn pkg_config_file_matches_the_crate() {
    let pc = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("jyqq_media.pc"))
        .expect("jyqq_media.pc");
    assert!(pc.lines().any(|l| l == format!("Version: {}", env!("CARGO_PKG_VERSION"))), "{pc}");
    assert!(pc.lines().any(|l| l.starts_with("Libs:") && l.contains("-ljyqq_media")), "{pc}");
    assert!(pc.lines().any(|l| l.starts_with("Cflags:") && l.contains("-I${includedir}")), "{pc}");
}

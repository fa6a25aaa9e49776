//! Embeds every vendored OCPP JSON schema: `SCHEMAS` lists (version, file stem, text).

use std::fmt::Write;

fn main() {
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let mut out = String::from("/// (OCPP version, schema file stem, schema text).\npub(crate) static SCHEMAS: &[(&str, &str, &str)] = &[\n");
    for (version, dir) in [("1.6", "v16"), ("2.0.1", "v201")] {
        let path = root.join("schemas").join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        let mut files: Vec<_> = std::fs::read_dir(&path)
            .expect("schemas directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let stem = f.file_stem().and_then(|s| s.to_str()).expect("file name");
            writeln!(
                out,
                "    ({version:?}, {stem:?}, include_str!({:?})),",
                f.display().to_string()
            )
            .expect("write");
        }
    }
    out.push_str("];\n");
    let dest =
        std::path::PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("schemas.rs");
    std::fs::write(dest, out).expect("write schemas.rs");
}

//! The adapters must not panic on host results: a panic in the Envoy filter
//! kills the VM for every request. Clippy denies unwrap/expect/panic/indexing
//! in non-test code (src/lib.rs); this test also reads the adapter sources.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn adapters_never_unwrap_host_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src/envoy", "src/web"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(!files.is_empty());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Only code before any test module counts.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or_default();
            for bad in [
                ".unwrap()",
                ".expect(",
                "panic!(",
                "unreachable!(",
                "todo!(",
                "unimplemented!(",
            ] {
                if line.contains(bad) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "panicking calls in adapters:\n{}",
        found.join("\n")
    );
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    for lint in [
        "clippy::unwrap_used",
        "clippy::expect_used",
        "clippy::panic",
        "clippy::indexing_slicing",
    ] {
        assert!(lib.contains(lint), "src/lib.rs no longer denies {lint}");
    }
}

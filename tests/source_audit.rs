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

/// The core's concepts, each importing only those before it: no import
/// circle, and a reader can take them in this order (docs/architecture.md).
const LAYERS: [&str; 8] = [
    "request",
    "jose",
    "policy",
    "authorize",
    "effect",
    "token_endpoint",
    "engine",
    "hosts",
];

/// The concept a source file belongs to (`src/<concept>/…` or `src/<concept>.rs`).
fn concept_of(root: &Path, file: &Path) -> Option<&'static str> {
    let rel = file.strip_prefix(root.join("src")).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    match name {
        "envoy" | "web" => Some("hosts"),
        // The facade and the test-only TypeScript generator stand above the layers.
        "lib" | "typescript" => None,
        _ => LAYERS.iter().copied().find(|l| *l == name),
    }
}

#[test]
fn concepts_import_only_the_layers_before_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for file in &files {
        if file.ends_with("src/lib.rs") || file.ends_with("src/typescript.rs") {
            continue;
        }
        let concept = concept_of(root, file)
            .unwrap_or_else(|| panic!("{} belongs to no concept of LAYERS", file.display()));
        let rank = LAYERS.iter().position(|l| *l == concept).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or_default();
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let Some(dep) = LAYERS.iter().position(|l| *l == name) else {
                    continue; // a facade name (crate::Policy) or a dependency
                };
                if dep > rank || (dep == rank && name != concept) {
                    found.push(format!(
                        "{}:{}: {concept} imports {name}",
                        file.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "imports against the layers:\n{}",
        found.join("\n")
    );
}

/// docs/architecture.md's "where is X decided" table names files and the
/// functions or types in them; each must still be there.
#[test]
fn the_architecture_table_names_real_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let table = doc
        .split("## Where is X decided")
        .nth(1)
        .and_then(|t| t.split("\n## ").next())
        .expect("docs/architecture.md has a 'Where is X decided' section");
    let mut missing = Vec::new();
    let mut checked = 0;
    for row in table.lines().filter(|l| l.starts_with('|')) {
        let Some(answer) = row.trim_end_matches('|').rsplit('|').next() else {
            continue;
        };
        let mut file: Option<String> = None;
        for (i, part) in answer.split('`').enumerate() {
            if i % 2 == 0 {
                continue; // outside backticks
            }
            if part.ends_with(".rs") {
                let text = std::fs::read_to_string(root.join("src").join(part));
                if text.is_err() {
                    missing.push(format!("src/{part} does not exist"));
                }
                file = Some(text.unwrap_or_default());
                continue;
            }
            let name = part.rsplit("::").next().unwrap_or(part);
            let Some(text) = &file else { continue };
            let defined = ["fn ", "struct ", "enum ", "trait "]
                .iter()
                .any(|kw| text.contains(&format!("{kw}{name}")));
            checked += 1;
            if !defined {
                missing.push(format!(
                    "{part} is not defined where the table says ({row})"
                ));
            }
        }
    }
    assert!(checked > 20, "the table names only {checked} items");
    assert!(
        missing.is_empty(),
        "docs/architecture.md:\n{}",
        missing.join("\n")
    );
}

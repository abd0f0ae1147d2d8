//! Wycheproof files, read in place from ../shared/vectors/wycheproof.

use serde_json::Value;

/// One Wycheproof file; a clear failure when ../shared is not beside the repository.
pub fn load(file: &str) -> Value {
    let path = super::repo_root()
        .join("../shared/vectors/wycheproof")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: the Wycheproof vectors live in ../shared beside the repository",
        path.display()
    );
    super::read_json(&path)
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// What is wrong when `accepted` contradicts the test's `result`
/// (`acceptable` cases may go either way).
pub fn mismatch(test: &Value, accepted: bool) -> Option<String> {
    let expected = test["result"].as_str().unwrap();
    ((expected == "valid" && !accepted) || (expected == "invalid" && accepted)).then(|| {
        format!(
            "tcId {} ({}, {}): expected {expected}, accepted={accepted}",
            test["tcId"], test["comment"], test["flags"]
        )
    })
}

//! Path canonicalisation: never panics; the canonical form is a fixed point
//! and never holds what the canonicaliser refuses.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = rolegate::testing::path_from_bytes(data);
    if let Ok(c) = rolegate::testing::canonicalize(&raw) {
        let again = rolegate::testing::canonicalize(&c.path).expect("canonical paths canonicalise");
        assert_eq!(again.path, c.path);
        assert!(c.path.starts_with('/'));
        for bad in [
            "//", "/./", "/../", "\\", ";", "%2F", "%2f", "%5C", "%5c", "#",
        ] {
            assert!(!c.path.contains(bad), "{raw:?} -> {} holds {bad}", c.path);
        }
        assert!(!c.path.ends_with("/.") && !c.path.ends_with("/.."));
    }
});

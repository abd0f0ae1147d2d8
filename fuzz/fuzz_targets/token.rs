//! Token parsing and validation: arbitrary tokens never panic and never
//! verify (no fuzzer finds a signature).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn policy() -> &'static rolegate::Policy {
    static POLICY: OnceLock<rolegate::Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        rolegate::Policy::from_json(include_str!("../seed_policy.json")).expect("seed policy")
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let _ = rolegate::testing::decode_unverified(&token);
    if let Ok(jws) = rolegate::testing::CompactJws::parse(&token) {
        if let Some((keys, algs)) = policy().issuer_keys("https://idp.test") {
            assert!(jws.verify(keys, algs).is_err(), "a fuzzed token verified");
        }
    }
    let request = rolegate::Request::new("GET", "/x", 1_800_000_000).bearer(&token);
    assert!(
        !policy().decide(&request).allowed,
        "a fuzzed token was allowed"
    );
});

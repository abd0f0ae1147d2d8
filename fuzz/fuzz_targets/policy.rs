//! Policy loading: arbitrary text never panics, and an accepted policy decides.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = rolegate::Policy::from_json(text) {
        let _ = policy.decide(&rolegate::Request::new("GET", "/", 0));
    }
});

//! Whole requests: method, path, headers from the fuzzer, decided by the
//! PingAccess-style seed policy. Never panics; nothing is allowed without a
//! valid token (the fuzzer has none); the hot path agrees with the full one,
//! and so does the request Envoy builds from the same headers as a header
//! block. The raw input, read as a header block, never panics either.
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
    // Fields separated by NUL: method, path, then header name/value pairs.
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\0');
    let method = fields.next().unwrap_or("GET");
    let path = fields.next().unwrap_or("/");
    let mut request = rolegate::Request::new(method, path, 1_800_000_000);
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        request = request.header(name, value);
    }
    let full = policy().decide(&request);
    assert!(
        !full.allowed || full.reason == rolegate::Reason::OutsidePrefix,
        "{request:?} -> {full:?}"
    );
    let mut cache = rolegate::TokenCache::new(8);
    let (quick, _) = policy().decide_cached(
        &request,
        rolegate::DecideOptions { explain: false },
        &mut cache,
    );
    assert_eq!(
        (quick.allowed, quick.status, quick.reason, quick.cause),
        (full.allowed, full.status, full.reason, full.cause)
    );
    let mut pairs = vec![
        (":method", request.method.as_str()),
        (":path", &request.path),
    ];
    // A proxy's pseudo-headers come only from the request line.
    let headers = request.headers.iter().filter(|(n, _)| !n.starts_with(':'));
    pairs.extend(headers.map(|(n, v)| (n.as_str(), v.as_str())));
    let block = rolegate::testing::header_block(&pairs);
    let proxied = policy()
        .request_from_header_map(&block, request.now)
        .expect("a serialized block reads back");
    assert_eq!(policy().decide(&proxied), full);
    // The Envoy adapter refills one request: refilling this one (used, with
    // claims) must give the same request as a fresh read.
    let mut reused = request.clone();
    reused.claims = Some(Default::default());
    policy()
        .refill_request_from_header_map(&mut reused, &block, request.now)
        .expect("a serialized block reads back");
    assert_eq!(reused, proxied);
    if let Ok(raw) = policy().request_from_header_map(data, request.now) {
        let _ = policy().decide(&raw);
    }
    let _ = full.audit_line();
    let _ = full.denial();
});

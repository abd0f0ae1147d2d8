//! A bounded cache of verified tokens. It saves the signature check; a
//! cached token that expires is refused on time.
//!
//! An entry is found by a keyed hash of the token's end (SipHash-1-3-128
//! with a random key over its length and last 32 bytes, which hold the
//! signature) and holds only if the whole token equals the one cached, compared
//! in constant time. Hashing every byte of a ~1 KiB token cost three times
//! what comparing it does; the hash only finds the entry, the comparison decides.
//!
//! With each token it also keeps the last few decisions made on it, by the
//! request parts a decision depends on besides the token and the time
//! (method, raw path, method-override headers). Only decisions whose token
//! passed its time checks are kept, and only until the token's `exp`: such a
//! token stays valid until then, so the same request gets the same decision.
//!
//! Two bounds hold together: a number of tokens and a number of bytes. Each
//! entry is weighed when it is stored and whenever a decision is kept with
//! it (the token, its claims, every kept decision and the request shape it
//! was kept for); the oldest entries go until the whole fits. Long paths
//! make heavy decisions, so a flood of distinct tokens on 8 KiB paths fills
//! the byte bound, not the memory of the VM.

use crate::authorize::authenticate::VerifiedToken;
use crate::authorize::decision::{Credential, Decision};
use crate::jose::token::{TokenError, TokenErrorKind};
use crate::request::method::OVERRIDE_HEADERS;
use crate::request::RequestView;
use siphasher::sip128::{Hasher128, SipHasher13};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

/// A token as the cache looks it up: the token and the keyed hash that finds its entry.
#[derive(Clone, Copy, Debug)]
pub struct TokenKey<'t> {
    slot: Slot,
    token: &'t [u8],
}

/// Bytes of a token's end that are hashed (a signature is at least 43).
const HASHED_TAIL: usize = 32;

/// The keyed hash of a token's length and end: where its entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot(u128);

impl Hash for Slot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already a keyed hash: its low half is as good a table index as any.
        state.write_u64(self.0 as u64);
    }
}

/// Whether two byte strings are equal, in time that depends only on their
/// lengths (a cached token must not leak through how fast a guess fails).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |w: &[u8]| u64::from_ne_bytes(w.try_into().unwrap_or_default());
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut diff = 0u64;
    for (x, y) in a_words.remainder().iter().zip(b_words.remainder()) {
        diff |= u64::from(x ^ y);
    }
    for (x, y) in a_words.zip(b_words) {
        diff |= word(x) ^ word(y);
    }
    // Keeps the compiler from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// Hands a [`Slot`]'s bits to the table unchanged (hashing them again
/// would only cost time on every request).
#[derive(Default)]
struct KeyBits(u64);

impl Hasher for KeyBits {
    fn write(&mut self, bytes: &[u8]) {
        // Only `Slot` is hashed here, through `write_u64`; fold anything
        // else so the hasher stays correct if that ever changes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Decisions kept per token; a token used on more paths decides afresh.
const DECISIONS_PER_TOKEN: usize = 8;

use crate::policy::DEFAULT_CACHE_BYTES;

/// What a JSON value holds on the heap, roughly (a `Value` is 32 bytes;
/// each map entry adds its key and some bookkeeping).
fn value_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    32 + match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(value_bytes).sum(),
        Value::Object(map) => map_bytes(map),
        _ => 0,
    }
}

/// What a JSON object's entries hold on the heap, roughly (a token's claims).
fn map_bytes(map: &serde_json::Map<String, serde_json::Value>) -> usize {
    map.iter().map(|(k, v)| 48 + k.len() + value_bytes(v)).sum()
}

/// What a kept decision holds on the heap, roughly: its strings.
fn decision_bytes(d: &Decision) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    std::mem::size_of::<Decision>()
        + text(&d.path)
        + text(&d.upstream_path)
        + text(&d.subject)
        + text(&d.client_id)
        + text(&d.issuer)
        + text(&d.www_authenticate)
        + d.roles
            .iter()
            .chain(&d.methods)
            .map(|s| 24 + s.len())
            .sum::<usize>()
        + d.rule.as_ref().map_or(0, |r| r.role.len())
}

struct Entry {
    /// The token itself: an entry holds only for exactly this token.
    raw: Box<[u8]>,
    token: Rc<VerifiedToken>,
    /// Removed at this time (the token's `exp`).
    expires_at: u64,
    /// Insertion number, to tell a live entry from a stale queue slot.
    seq: u64,
    /// Recent decisions on this token, oldest first, with the time each was
    /// made: it holds from then until `expires_at` (a clock that steps back
    /// could otherwise reuse a decision from before an `nbf` was reached).
    /// Each with its weight, counted in `bytes`.
    decisions: Vec<(Shape, u64, Rc<Decision>, usize)>,
    /// What this entry weighs, in bytes (see the module doc).
    bytes: usize,
}

impl Entry {
    /// Whether this entry is for exactly `key`'s token.
    fn holds(&self, key: &TokenKey) -> bool {
        same_bytes(&self.raw, key.token)
    }
}

/// What a decision on a verified token depends on besides the token and
/// the time: the method, the raw path (with its query) and the values of
/// the method-override headers, compared exactly. Kept from a built
/// request's text, so raw bytes that equal it are that text.
struct Shape {
    method: Box<[u8]>,
    path: Box<[u8]>,
    /// `(index in OVERRIDE_HEADERS, value)` in request order per header.
    overrides: Vec<(usize, Box<[u8]>)>,
    /// `RequestView::body_shape`: whether a body follows (GET and HEAD with
    /// one are refused), and whether it is a form (a POST with one is refused).
    body: (bool, bool),
}

impl Shape {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Shape>()
            + self.method.len()
            + self.path.len()
            + self
                .overrides
                .iter()
                .map(|(_, v)| 24 + v.len())
                .sum::<usize>()
    }

    fn of(request: &RequestView) -> Shape {
        let mut overrides = Vec::new();
        for (i, name) in OVERRIDE_HEADERS.iter().enumerate() {
            overrides.extend(request.header_values(name).map(|v| (i, v.into())));
        }
        Shape {
            method: request.method.into(),
            path: request.path.into(),
            overrides,
            body: request.body_shape(),
        }
    }

    fn matches(&self, request: &RequestView) -> bool {
        if *self.method != *request.method
            || *self.path != *request.path
            || self.body != request.body_shape()
        {
            return false;
        }
        let mut expected = self.overrides.iter();
        for (i, name) in OVERRIDE_HEADERS.iter().enumerate() {
            for value in request.header_values(name) {
                match expected.next() {
                    Some((j, v)) if *j == i && **v == *value => {}
                    _ => return false,
                }
            }
        }
        expected.next().is_none()
    }
}

/// How long a refused token is remembered as refused: long enough that a
/// flood of one forged or inactive token costs one signature check or one
/// introspection call, short enough that a token refused for a passing
/// reason is not refused for long (key changes forget them at once).
pub const REFUSED_SECONDS: u64 = 10;
/// The most refused tokens remembered (per cache, so per Envoy worker).
const REFUSED_CAPACITY: usize = 1024;

/// Tokens refused for what they are, each with why and until when, by a
/// keyed hash of the whole token (not the tail: a forgery may keep a real
/// token's signature), oldest first out.
#[derive(Default)]
struct Refused {
    entries: HashMap<u128, (TokenError, u64), BuildHasherDefault<KeyBits>>,
    order: VecDeque<u128>,
}

/// A first-in-first-out bounded map with expiry. `capacity` 0 disables it.
pub struct TokenCache {
    /// Tokens recently refused (see [`REFUSED_SECONDS`]).
    refused: Refused,
    hasher: SipHasher13,
    capacity: usize,
    /// The bound of the entries' total weight.
    max_bytes: usize,
    /// The entries' total weight.
    bytes: usize,
    entries: HashMap<Slot, Entry, BuildHasherDefault<KeyBits>>,
    order: VecDeque<(Slot, u64)>,
    next_seq: u64,
    /// When expired entries were last swept out (at most once a second).
    last_sweep: u64,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens weighing `DEFAULT_CACHE_BYTES` (32 MiB).
    pub fn new(capacity: usize) -> Self {
        TokenCache::bounded(capacity, DEFAULT_CACHE_BYTES)
    }

    /// A cache of at most `capacity` tokens weighing at most `max_bytes`.
    pub fn bounded(capacity: usize, max_bytes: usize) -> Self {
        // std's RandomState draws its keys from the system's randomness (as
        // every HashMap does); two of its outputs make a secret 128-bit key.
        let random = RandomState::new();
        TokenCache {
            hasher: SipHasher13::new_with_keys(random.hash_one(0u8), random.hash_one(1u8)),
            capacity,
            max_bytes,
            bytes: 0,
            entries: HashMap::with_capacity_and_hasher(capacity.min(1024), Default::default()),
            order: VecDeque::with_capacity(capacity.min(1024)),
            next_seq: 0,
            last_sweep: 0,
            refused: Refused::default(),
        }
    }

    /// The keyed hash of a whole token, for [`TokenCache::refused`].
    fn whole_hash(&self, token: &[u8]) -> u128 {
        let mut hasher = self.hasher;
        hasher.write(token);
        hasher.finish128().as_u128()
    }

    /// Why `key`'s token was refused, while that is remembered.
    pub fn refused(&self, key: &TokenKey, now: u64) -> Option<&TokenError> {
        if self.refused.entries.is_empty() {
            return None;
        }
        self.refused
            .entries
            .get(&self.whole_hash(key.token))
            .filter(|(_, until)| now < *until)
            .map(|(err, _)| err)
    }

    /// Remembers that `key`'s token was refused, with `err`, until `until`.
    /// Keys that could not be had are a passing state, never remembered.
    pub fn refuse(&mut self, key: &TokenKey, err: &TokenError, until: u64) {
        if self.capacity == 0 || err.kind == TokenErrorKind::KeysUnavailable {
            return;
        }
        let hash = self.whole_hash(key.token);
        if self
            .refused
            .entries
            .insert(hash, (err.clone(), until))
            .is_none()
        {
            self.refused.order.push_back(hash);
        }
        while self.refused.order.len() > REFUSED_CAPACITY {
            if let Some(oldest) = self.refused.order.pop_front() {
                self.refused.entries.remove(&oldest);
            }
        }
    }

    /// Forgets every refused token (an issuer's keys changed: a token
    /// refused for an unknown key may verify now).
    pub fn forget_refused(&mut self) {
        self.refused = Refused::default();
    }

    /// The key of `token` in this cache (keys differ between caches).
    pub fn key<'t>(&self, token: &'t [u8]) -> TokenKey<'t> {
        let mut hasher = self.hasher;
        hasher.write_usize(token.len());
        hasher.write(
            token
                .get(token.len().saturating_sub(HASHED_TAIL)..)
                .unwrap_or(token),
        );
        TokenKey {
            slot: Slot(hasher.finish128().as_u128()),
            token,
        }
    }

    /// The entry for exactly this token.
    fn entry(&self, key: &TokenKey) -> Option<&Entry> {
        self.entries.get(&key.slot).filter(|e| e.holds(key))
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most tokens held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The entries' total weight, in bytes (never above the bound).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Removes the entry in `slot`, keeping the weight in step.
    fn remove(&mut self, slot: &Slot) {
        if let Some(entry) = self.entries.remove(slot) {
            self.bytes = self.bytes.saturating_sub(entry.bytes);
        }
    }

    /// Evicts the oldest entries until `incoming` more bytes fit.
    fn make_room(&mut self, incoming: usize) {
        while self.bytes.saturating_add(incoming) > self.max_bytes {
            let Some((old, seq)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|e| e.seq == seq) {
                self.remove(&old);
            }
        }
    }

    /// The verified token, if cached and not past its `exp`.
    pub fn get(&mut self, key: &TokenKey, now: u64) -> Option<Rc<VerifiedToken>> {
        let entry = self.entry(key)?;
        if now >= entry.expires_at {
            self.remove(&key.slot);
            return None;
        }
        Some(Rc::clone(&entry.token))
    }

    /// The decision made earlier on this token for the same request, if the
    /// token is cached and not past its `exp`.
    pub fn decision(&self, key: &TokenKey, request: &RequestView) -> Option<Rc<Decision>> {
        let entry = self.entry(key)?;
        if request.now >= entry.expires_at || request.preview {
            return None;
        }
        entry
            .decisions
            .iter()
            .rev()
            .find(|(shape, since, _, _)| request.now >= *since && shape.matches(request))
            .map(|(_, _, d, _)| Rc::clone(d))
    }

    /// Keeps `decision` (made on the cached token `key` for `request`) for
    /// [`TokenCache::decision`]. Only a decision whose token passed its time
    /// checks, made without a trace, is kept: others are not reusable.
    pub fn remember(&mut self, key: &TokenKey, request: &RequestView, decision: &Rc<Decision>) {
        let Some(entry) = self.entries.get_mut(&key.slot).filter(|e| e.holds(key)) else {
            return;
        };
        // A bound token's decision rests on this request's proof or
        // connection: never the next request's.
        let reusable = decision
            .expires_at
            .is_some_and(|exp| exp >= entry.expires_at && request.now < entry.expires_at)
            && decision.binding.is_none()
            && decision.credential != Credential::Dpop
            && decision.trace.is_empty()
            && decision.role_checks.is_empty()
            && !request.preview;
        if !reusable {
            return;
        }
        let shape = Shape::of(request);
        let weight = shape.bytes() + decision_bytes(decision);
        if weight > self.max_bytes / 4 {
            return; // one decision may not crowd out the rest
        }
        let before = entry.bytes;
        entry.decisions.retain(|(s, _, _, w)| {
            let keep = !s.matches(request);
            if !keep {
                entry.bytes = entry.bytes.saturating_sub(*w);
            }
            keep
        });
        if entry.decisions.len() >= DECISIONS_PER_TOKEN {
            let (_, _, _, w) = entry.decisions.remove(0);
            entry.bytes = entry.bytes.saturating_sub(w);
        }
        entry
            .decisions
            .push((shape, request.now, Rc::clone(decision), weight));
        entry.bytes += weight;
        let after = entry.bytes;
        self.bytes = self.bytes.saturating_sub(before).saturating_add(after);
        // Over the bound: the oldest entries go (this one last of all).
        self.make_room(0);
    }

    /// Remembers a verified token until `expires_at`, evicting the oldest
    /// entries (expired ones first) when full.
    pub fn insert(&mut self, key: TokenKey, token: Rc<VerifiedToken>, expires_at: u64, now: u64) {
        let bytes = std::mem::size_of::<Entry>() + 2 * key.token.len() + map_bytes(&token.claims);
        if self.capacity == 0 || expires_at <= now || bytes > self.max_bytes / 4 {
            return;
        }
        let slot = key.slot;
        // A token stored again replaces its entry.
        self.remove(&slot);
        if !self.entries.contains_key(&slot) && self.entries.len() >= self.capacity {
            if self.last_sweep != now {
                self.last_sweep = now;
                let mut freed = 0;
                self.entries.retain(|_, e| {
                    let live = e.expires_at > now;
                    if !live {
                        freed += e.bytes;
                    }
                    live
                });
                self.bytes = self.bytes.saturating_sub(freed);
            }
            while self.entries.len() >= self.capacity {
                let Some((old, seq)) = self.order.pop_front() else {
                    break;
                };
                if self.entries.get(&old).is_some_and(|e| e.seq == seq) {
                    self.remove(&old);
                }
            }
        }
        self.make_room(bytes);
        let seq = self.next_seq;
        self.next_seq += 1;
        // Another verified token in the same slot (a 128-bit collision) is replaced.
        self.entries.insert(
            slot,
            Entry {
                raw: key.token.into(),
                token,
                expires_at,
                seq,
                decisions: Vec::new(),
                bytes,
            },
        );
        self.bytes += bytes;
        self.order.push_back((slot, seq));
        // Stale slots (replaced or expired entries) must not grow without bound.
        if self.order.len() > 2 * self.capacity + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    /// Forgets every token and decision.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
        self.forget_refused();
    }

    /// Slots in the eviction queue (for tests of the bound).
    pub fn queued(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn verified() -> Rc<VerifiedToken> {
        Rc::new(VerifiedToken {
            issuer: 0,
            claims: Map::new(),
        })
    }

    #[test]
    fn slots_are_per_cache_and_distinct() {
        let a = TokenCache::new(1);
        let b = TokenCache::new(1);
        assert_eq!(a.key(b"x.y.z").slot, a.key(b"x.y.z").slot);
        assert_ne!(a.key(b"x.y.z").slot, a.key(b"x.y.w").slot);
        assert_ne!(
            a.key(b"x.y.z").slot,
            b.key(b"x.y.z").slot,
            "random keys per cache"
        );
    }

    #[test]
    fn only_the_very_token_finds_its_entry() {
        let mut cache = TokenCache::new(10);
        let signature = "S".repeat(43);
        let token = format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.{signature}");
        cache.insert(cache.key(token.as_bytes()), verified(), 100, 0);
        assert!(cache.get(&cache.key(token.as_bytes()), 1).is_some());
        // Same length and end (so the same slot), another payload: a miss.
        let forged = format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiIn0.{signature}");
        assert_eq!(forged.len(), token.len());
        assert_eq!(
            cache.key(forged.as_bytes()).slot,
            cache.key(token.as_bytes()).slot
        );
        assert!(cache.get(&cache.key(forged.as_bytes()), 1).is_none());
        assert!(cache
            .decision(&cache.key(forged.as_bytes()), &RequestView::default())
            .is_none());
        // Short tokens are hashed whole.
        assert_ne!(cache.key(b"a.b.c").slot, cache.key(b"a.b.d").slot);
    }

    #[test]
    fn same_bytes_compares_every_byte() {
        let a: Vec<u8> = (0..=255).collect();
        for len in [0, 1, 7, 8, 9, 31, 64, 200] {
            let x = a.get(..len).unwrap();
            assert!(same_bytes(x, x));
            for i in 0..len {
                let mut y = x.to_vec();
                y[i] ^= 0x01;
                assert!(!same_bytes(x, &y), "len {len}, byte {i}");
            }
        }
        assert!(!same_bytes(b"abc", b"abcd"));
    }

    #[test]
    fn entries_expire_at_exp() {
        let mut cache = TokenCache::new(10);
        let k = cache.key(b"a.b.c");
        cache.insert(k, verified(), 100, 50);
        assert!(cache.get(&k, 99).is_some());
        assert!(cache.get(&k, 100).is_none());
        assert!(cache.is_empty());
        cache.insert(k, verified(), 100, 100);
        assert!(cache.is_empty(), "already expired tokens are not cached");
    }

    #[test]
    fn stays_bounded_under_many_distinct_tokens() {
        let mut cache = TokenCache::new(100);
        for i in 0..10_000u64 {
            let token = format!("t{i}");
            cache.insert(cache.key(token.as_bytes()), verified(), 1_000 + i % 7, 10);
            assert!(cache.len() <= 100);
            assert!(cache.queued() <= 2 * 100 + 16 + 1);
        }
        // The newest survive; the oldest were evicted first.
        let (newest, oldest) = (cache.key(b"t9999"), cache.key(b"t0"));
        assert!(cache.get(&newest, 10).is_some());
        assert!(cache.get(&oldest, 10).is_none());
    }

    #[test]
    fn expired_entries_go_before_live_ones() {
        let mut cache = TokenCache::new(2);
        let [old, short, new] = [&b"old-live"[..], b"short", b"new"].map(|t| cache.key(t));
        cache.insert(old, verified(), 1_000, 0);
        cache.insert(short, verified(), 20, 0);
        cache.insert(new, verified(), 1_000, 30);
        assert!(cache.get(&old, 30).is_some());
        assert!(cache.get(&new, 30).is_some());
    }

    #[test]
    fn replacing_a_key_keeps_one_entry() {
        let mut cache = TokenCache::new(3);
        let k = cache.key(b"same");
        for _ in 0..100 {
            cache.insert(k, verified(), 1_000, 0);
        }
        assert_eq!(cache.len(), 1);
        assert!(cache.queued() <= 3 * 2 + 16 + 1);
    }

    #[test]
    fn the_whole_cache_stays_within_its_bytes() {
        use crate::authorize::decision::{Credential, Reason};
        let max = 1_000_000;
        let mut cache = TokenCache::bounded(10_000, max);
        let long_path = format!("/{}", "p".repeat(7_000));
        for i in 0..2_000u64 {
            let token = format!("token-{i}-{}", "x".repeat(900));
            let key = cache.key(token.as_bytes());
            cache.insert(key, verified(), 1_000, 10);
            for j in 0..8 {
                let path = format!("{long_path}/{j}");
                let request = RequestView {
                    method: b"GET",
                    path: path.as_bytes(),
                    now: 10,
                    ..RequestView::default()
                };
                let decision = Rc::new(Decision {
                    allowed: true,
                    status: 200,
                    reason: Reason::Allowed,
                    cause: None,
                    www_authenticate: None,
                    credential: Credential::Bearer,
                    issuer: Some("https://idp".into()),
                    subject: Some("alice".into()),
                    client_id: None,
                    roles: vec!["admin".into()],
                    rule: None,
                    path: Some(path.clone()),
                    upstream_path: Some(path.clone()),
                    methods: vec!["GET".into()],
                    expires_at: Some(1_000),
                    binding: None,
                    dpop_nonce: None,
                    role_checks: Vec::new(),
                    trace: Vec::new(),
                    dry_run: false,
                });
                cache.remember(&key, &request, &decision);
                assert!(cache.bytes() <= max, "{} > {max}", cache.bytes());
            }
        }
        // The weight is the entries' own, and the newest are kept.
        let sum: usize = cache.entries.values().map(|e| e.bytes).sum();
        assert_eq!(sum, cache.bytes());
        assert!(cache.len() >= 2, "{}", cache.len());
        let newest = format!("token-1999-{}", "x".repeat(900));
        assert!(cache.get(&cache.key(newest.as_bytes()), 10).is_some());
        cache.clear();
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn refused_tokens_are_remembered_briefly_and_boundedly() {
        let mut cache = TokenCache::new(10);
        let err = TokenError {
            kind: TokenErrorKind::InvalidSignature,
            detail: "forged".to_owned(),
        };
        let forged = b"a.b.forged-signature-forged-signature-forged".as_slice();
        // The same tail (a real token's signature) on another token: not it.
        let twin = b"x.b.forged-signature-forged-signature-forged".as_slice();
        cache.refuse(&cache.key(forged), &err, 110);
        assert_eq!(cache.refused(&cache.key(forged), 100), Some(&err));
        assert_eq!(cache.refused(&cache.key(twin), 100), None);
        assert_eq!(
            cache.refused(&cache.key(forged), 110),
            None,
            "until is exclusive"
        );
        // Keys that could not be had are never remembered.
        let unavailable = TokenError {
            kind: TokenErrorKind::KeysUnavailable,
            detail: String::new(),
        };
        cache.refuse(&cache.key(twin), &unavailable, 110);
        assert_eq!(cache.refused(&cache.key(twin), 100), None);
        // Bounded: the oldest go first.
        for i in 0..REFUSED_CAPACITY + 10 {
            let token = format!("t.{i}");
            cache.refuse(&cache.key(token.as_bytes()), &err, 110);
        }
        assert_eq!(cache.refused.entries.len(), REFUSED_CAPACITY);
        assert_eq!(cache.refused(&cache.key(forged), 100), None);
        assert!(cache.refused(&cache.key(b"t.1033"), 100).is_some());
        cache.forget_refused();
        assert!(cache.refused(&cache.key(b"t.1033"), 100).is_none());
    }

    #[test]
    fn capacity_zero_disables() {
        let mut cache = TokenCache::new(0);
        let k = cache.key(b"x");
        cache.insert(k, verified(), 1_000, 0);
        assert!(cache.is_empty());
    }
}

//! Envoy counters: one per decision reason (`<prefix>_allowed`,
//! `<prefix>_denied_<reason>`, ...), dry-run pass-throughs and cache use.
//! They appear in Envoy's `/stats` as `wasmcustom.<name>`. Requests count
//! into local cells; the root context flushes them to Envoy once a second,
//! which keeps host calls off the request path.

use crate::authorize::decision::{Decision, Reason};
use crate::engine::remote::Purpose;
use crate::CacheUse;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::Cell;

pub(super) struct Metrics {
    /// Indexed like `Reason::ALL`.
    by_reason: Vec<Counter>,
    dry_run_let_through: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
    remote_fetch_ok: Counter,
    remote_fetch_failed: Counter,
    introspection_ok: Counter,
    introspection_failed: Counter,
    tokens_issued: Counter,
    token_requests_refused: Counter,
}

struct Counter {
    id: u32,
    pending: Cell<u64>,
}

impl Counter {
    fn add(&self) {
        self.pending.set(self.pending.get().saturating_add(1));
    }

    fn flush(&self) {
        let delta = self.pending.replace(0);
        if delta > 0 {
            // A failed counter update must never affect requests.
            let _ = hostcalls::increment_metric(self.id, i64::try_from(delta).unwrap_or(i64::MAX));
        }
    }
}

impl Metrics {
    /// Defines every counter (idempotent in Envoy: the same name gives the same id).
    pub fn define(prefix: &str) -> Result<Metrics, String> {
        let counter = |name: &str| {
            let full = format!("{prefix}_{name}");
            hostcalls::define_metric(MetricType::Counter, &full)
                .map(|id| Counter {
                    id,
                    pending: Cell::new(0),
                })
                .map_err(|s| format!("cannot define metric {full}: {s:?}"))
        };
        let mut by_reason = Vec::with_capacity(Reason::ALL.len());
        for reason in Reason::ALL {
            by_reason.push(counter(&reason.metric_name())?);
        }
        Ok(Metrics {
            by_reason,
            dry_run_let_through: counter("dry_run_let_through")?,
            cache_hits: counter("cache_hits")?,
            cache_misses: counter("cache_misses")?,
            remote_fetch_ok: counter("remote_fetch_ok")?,
            remote_fetch_failed: counter("remote_fetch_failed")?,
            introspection_ok: counter("introspection_ok")?,
            introspection_failed: counter("introspection_failed")?,
            tokens_issued: counter("tokens_issued")?,
            token_requests_refused: counter("token_requests_refused")?,
        })
    }

    pub fn count(&self, decision: &Decision, cache: CacheUse) {
        let reason = Reason::ALL.iter().position(|r| *r == decision.reason);
        if let Some(counter) = reason.and_then(|i| self.by_reason.get(i)) {
            counter.add();
        }
        if decision.dry_run && !decision.allowed {
            self.dry_run_let_through.add();
        }
        match cache {
            CacheUse::Hit => self.cache_hits.add(),
            CacheUse::Miss => self.cache_misses.add(),
            CacheUse::None => {}
        }
    }

    /// One remote call's outcome (JWKS and discovery, or introspection).
    pub fn count_call(&self, purpose: &Purpose, ok: bool) {
        match (purpose, ok) {
            (Purpose::Introspection, true) => self.introspection_ok.add(),
            (Purpose::Introspection, false) => self.introspection_failed.add(),
            (_, true) => self.remote_fetch_ok.add(),
            (_, false) => self.remote_fetch_failed.add(),
        }
    }

    /// One answer of the token endpoint.
    pub fn count_token(&self, issued: bool) {
        if issued {
            self.tokens_issued.add()
        } else {
            self.token_requests_refused.add()
        }
    }

    /// Hands the counts gathered since the last flush to Envoy.
    pub fn flush(&self) {
        for counter in self.by_reason.iter().chain([
            &self.dry_run_let_through,
            &self.cache_hits,
            &self.cache_misses,
            &self.remote_fetch_ok,
            &self.remote_fetch_failed,
            &self.introspection_ok,
            &self.introspection_failed,
            &self.tokens_issued,
            &self.token_requests_refused,
        ]) {
            counter.flush();
        }
    }
}

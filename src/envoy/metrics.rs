//! Envoy counters: one per decision reason (`<prefix>_allowed`,
//! `<prefix>_denied_<reason>`, ...), dry-run pass-throughs and cache use.
//! They appear in Envoy's `/stats` as `wasmcustom.<name>`.

use crate::decision::{Decision, Reason};
use crate::CacheUse;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

pub(super) struct Metrics {
    /// Indexed like `Reason::ALL`.
    by_reason: Vec<u32>,
    dry_run_let_through: u32,
    cache_hits: u32,
    cache_misses: u32,
}

impl Metrics {
    /// Defines every counter (idempotent in Envoy: the same name gives the same id).
    pub fn define(prefix: &str) -> Result<Metrics, String> {
        let counter = |name: &str| {
            let full = format!("{prefix}_{name}");
            hostcalls::define_metric(MetricType::Counter, &full)
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
        })
    }

    pub fn count(&self, decision: &Decision, cache: CacheUse) {
        let reason = Reason::ALL.iter().position(|r| *r == decision.reason);
        if let Some(&id) = reason.and_then(|i| self.by_reason.get(i)) {
            increment(id);
        }
        if decision.dry_run && !decision.allowed {
            increment(self.dry_run_let_through);
        }
        match cache {
            CacheUse::Hit => increment(self.cache_hits),
            CacheUse::Miss => increment(self.cache_misses),
            CacheUse::None => {}
        }
    }
}

fn increment(id: u32) {
    // A failed counter update must never affect the request.
    let _ = hostcalls::increment_metric(id, 1);
}

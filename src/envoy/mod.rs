//! The proxy-wasm adapter: Envoy headers -> `Request` -> `Policy::decide_cached`
//! -> the decision's own header edits, denial response, audit line and metric.
//!
//! Only `proxy_wasm::hostcalls` functions are used: they return errors where
//! the SDK's context methods would panic, and a panic here kills the VM for
//! every request.

mod metrics;

use crate::cache::TokenCache;
use crate::decision::Decision;
use crate::host::HeaderChanges;
use crate::policy::Policy;
use crate::{CacheUse, DecideOptions, Request};
use metrics::Metrics;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// How often counters reach Envoy's stats.
const METRICS_FLUSH: Duration = Duration::from_secs(1);

fn log(level: LogLevel, message: &str) {
    // Nothing sensible is left to do if logging itself fails.
    let _ = hostcalls::log(level, message);
}

/// What every HTTP context of this VM shares: the compiled policy, its
/// verified-token cache and the metric ids. Replaced whole on reconfiguration.
struct Shared {
    policy: Policy,
    cache: RefCell<TokenCache>,
    metrics: Metrics,
}

#[derive(Default)]
struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                log(
                    LogLevel::Critical,
                    "rolegate: no plugin configuration; set `configuration` to the policy JSON",
                );
                return false;
            }
            Err(status) => {
                log(
                    LogLevel::Critical,
                    &format!("rolegate: cannot read the plugin configuration: {status:?}"),
                );
                return false;
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                log(
                    LogLevel::Critical,
                    &format!("rolegate: the configuration is not UTF-8: {e}"),
                );
                return false;
            }
        };
        let policy = match Policy::from_json(text) {
            Ok(policy) => policy,
            Err(e) => {
                log(
                    LogLevel::Critical,
                    &format!("rolegate: invalid configuration: {e} [{}]", e.code.as_str()),
                );
                return false;
            }
        };
        let settings = policy.envoy_settings();
        let metrics = match Metrics::define(&settings.stat_prefix) {
            Ok(metrics) => metrics,
            Err(e) => {
                log(LogLevel::Critical, &format!("rolegate: {e}"));
                return false;
            }
        };
        log(
            LogLevel::Info,
            &format!(
                "rolegate: policy loaded ({} roles, mode {:?}, cache {} tokens)",
                policy.role_names().count(),
                policy.mode(),
                settings.cache_size
            ),
        );
        if let Some(old) = &self.shared {
            old.metrics.flush();
        }
        if let Err(status) = hostcalls::set_tick_period(METRICS_FLUSH) {
            log(
                LogLevel::Warn,
                &format!("rolegate: no timer ({status:?}); counters will lag"),
            );
        }
        // A new policy means a new cache: nothing verified under the old keys survives.
        self.shared = Some(Rc::new(Shared {
            cache: RefCell::new(TokenCache::new(settings.cache_size)),
            policy,
            metrics,
        }));
        true
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            shared.metrics.flush();
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            shared: self.shared.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    shared: Option<Rc<Shared>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Envoy does not start a plugin whose on_configure failed; be safe anyway.
            return refuse("rolegate: no policy is loaded");
        };
        let request = match read_request() {
            Ok(request) => request,
            Err(message) => return refuse(&message),
        };
        let options = DecideOptions { explain: false };
        let (decision, cache_use) = match shared.cache.try_borrow_mut() {
            Ok(mut cache) => shared.policy.decide_cached(&request, options, &mut cache),
            // Unreachable in a single-threaded VM; decide without the cache rather than fail.
            Err(_) => (shared.policy.decide(&request), CacheUse::None),
        };
        shared.metrics.count(&decision, cache_use);
        if shared.policy.envoy_settings().audit_log {
            log(LogLevel::Info, &decision.audit_line());
        }
        if decision.forward() {
            forward(&decision.upstream_headers(shared.policy.envoy_settings(), &request))
        } else {
            deny(&decision)
        }
    }
}

/// The request as the core sees it. Header values that are not UTF-8 are
/// passed on losslessly where it matters (the path) and lossily elsewhere
/// (where such bytes make the value invalid anyway).
fn read_request() -> Result<Request, String> {
    let headers = hostcalls::get_map_bytes(MapType::HttpRequestHeaders)
        .map_err(|s| format!("rolegate: cannot read the request headers: {s:?}"))?;
    let now = hostcalls::get_current_time()
        .map_err(|s| format!("rolegate: cannot read the clock: {s:?}"))?
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut request = Request {
        now,
        ..Request::default()
    };
    request.headers.reserve(headers.len());
    for (name, value) in headers {
        match name.as_str() {
            ":method" => request.method = text(value),
            ":path" => request.path = crate::path::from_bytes(&value),
            _ => request.headers.push((name, text(value))),
        }
    }
    Ok(request)
}

/// Header bytes as text without copying when they are UTF-8 (almost always).
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn forward(changes: &HeaderChanges) -> Action {
    for name in &changes.remove {
        if let Err(status) = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name) {
            return refuse(&format!("rolegate: cannot remove {name}: {status:?}"));
        }
    }
    for (name, value) in &changes.set {
        if let Err(status) =
            hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
        {
            return refuse(&format!("rolegate: cannot set {name}: {status:?}"));
        }
    }
    Action::Continue
}

fn deny(decision: &Decision) -> Action {
    let denial = decision.denial();
    let headers: Vec<(&str, &str)> = denial
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    if let Err(status) = hostcalls::send_http_response(
        u32::from(denial.status),
        headers,
        Some(denial.body.as_bytes()),
    ) {
        log(
            LogLevel::Error,
            &format!(
                "rolegate: cannot send the {} response: {status:?}",
                denial.status
            ),
        );
        let _ = hostcalls::reset_http_request();
    }
    Action::Pause
}

/// Fails closed when the host itself misbehaves: log, answer, never forward.
fn refuse(message: &str) -> Action {
    log(LogLevel::Error, message);
    let body = br#"{"status":503,"reason":"unavailable"}"#;
    if hostcalls::send_http_response(
        503,
        vec![
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ],
        Some(body),
    )
    .is_err()
    {
        let _ = hostcalls::reset_http_request();
    }
    Action::Pause
}

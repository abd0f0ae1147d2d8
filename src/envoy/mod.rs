//! The proxy-wasm adapter: Envoy headers -> `Request` -> `Policy::decide_step`
//! -> the decision's own header edits, denial response, audit line and metric.
//! Most requests repeat one already decided: the core finds its decision
//! from the header block read in place (`Policy::kept_decision`), and the
//! request is built only when there is something to decide.
//! When the core asks for an HTTP call (remote JWKS, discovery,
//! introspection) the adapter makes it with `dispatch_http_call`, pauses the
//! request, and hands the answer back to the core.
//!
//! Only `proxy_wasm::hostcalls` functions are used (and two raw host calls,
//! in `headers` and `clock`): they return errors where the SDK's context
//! methods would panic, and a panic here kills the VM for every request.

mod clock;
mod headers;
mod metrics;
mod store;

use crate::authorize::decision::Decision;
use crate::effect::{HeaderChanges, Response};
use crate::engine::decide::Parked;
use crate::engine::exchange::{BodyStep, Handling};
use crate::engine::remote::{HttpCall, HttpResult, Purpose};
use crate::policy::Policy;
use crate::{CacheUse, DecideOptions, Request, RequestView, State, Step};
use metrics::Metrics;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use store::{SharedDataProofs, SharedDataStore};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|id| -> Box<dyn RootContext> { Box::new(Root { id, shared: None }) });
}}

/// How often counters reach Envoy's stats and due key refreshes start.
const TICK: Duration = Duration::from_secs(1);
const OPTIONS: DecideOptions = DecideOptions { explain: false };

fn log(level: LogLevel, message: &str) {
    // Nothing sensible is left to do if logging itself fails.
    let _ = hostcalls::log(level, message);
}

/// What every context of this VM shares: the compiled policy, its state
/// (verified tokens, remote keys), metric ids, and the calls and requests in
/// flight. Replaced whole on reconfiguration.
struct Shared {
    policy: Policy,
    state: RefCell<State>,
    metrics: Metrics,
    /// Dispatched calls by token, with the request paused on each (none for
    /// the root's refreshes).
    calls: RefCell<HashMap<u32, (HttpCall, Option<Parked>)>>,
    /// The request being decided, refilled from each request's headers so
    /// its buffers are allocated once, not per request.
    scratch: RefCell<Request>,
}

struct Root {
    id: u32,
    shared: Option<Rc<Shared>>,
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, _trailers: usize) {
        if let Some(shared) = &self.shared {
            on_call_response(shared, self.id, token, headers, body);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let policy = match load_policy() {
            Ok(policy) => policy,
            Err(message) => {
                log(LogLevel::Critical, &message);
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
                "rolegate: policy loaded ({} roles, mode {:?}, cache {} tokens / {} bytes)",
                policy.role_names().count(),
                policy.mode(),
                settings.cache_size,
                settings.cache_bytes
            ),
        );
        for notice in policy.notices() {
            log(LogLevel::Info, &format!("rolegate: note: {notice}"));
        }
        if let Some(old) = &self.shared {
            old.metrics.flush();
        }
        if let Err(status) = hostcalls::set_tick_period(TICK) {
            log(
                LogLevel::Warn,
                &format!(
                    "rolegate: no timer ({status:?}); counters lag and keys refresh only on demand"
                ),
            );
        }
        // A new policy means a new state: nothing verified under the old keys survives.
        let mut state = policy.new_state();
        // Every worker sees every used DPoP proof.
        state.remember_proofs_in(Box::new(SharedDataProofs));
        let shared = Rc::new(Shared {
            state: RefCell::new(state),
            policy,
            metrics,
            calls: RefCell::new(HashMap::new()),
            scratch: RefCell::new(Request::default()),
        });
        self.shared = Some(Rc::clone(&shared));
        start_due_calls(&shared);
        true
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            shared.metrics.flush();
            start_due_calls(shared);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            id: context_id,
            shared: self.shared.clone(),
            token_request: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

fn load_policy() -> Result<Policy, String> {
    let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(
                "rolegate: no plugin configuration; set `configuration` to the policy JSON"
                    .to_owned(),
            )
        }
        Err(status) => {
            return Err(format!(
                "rolegate: cannot read the plugin configuration: {status:?}"
            ))
        }
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| format!("rolegate: the configuration is not UTF-8: {e}"))?;
    Policy::from_json(text).map_err(|e| {
        let at = e
            .location
            .as_ref()
            .map(|l| format!(" (line {}, column {})", l.line, l.column))
            .unwrap_or_default();
        format!(
            "rolegate: invalid configuration{at}: {e} [{}]",
            e.code.as_str()
        )
    })
}

/// Starts the key loads and refreshes that are due (from the root context).
fn start_due_calls(shared: &Rc<Shared>) {
    let Some(now) = clock::now_seconds() else {
        log(
            LogLevel::Error,
            "rolegate: the host clock failed; no key refresh is started",
        );
        return;
    };
    let calls = {
        let Ok(mut state) = shared.state.try_borrow_mut() else {
            return;
        };
        shared.policy.due_calls(&mut state, now)
    };
    for call in calls {
        dispatch(shared, call, None);
    }
}

struct Filter {
    id: u32,
    shared: Option<Rc<Shared>>,
    /// A token request waiting for its body.
    token_request: Option<Request>,
}

impl Context for Filter {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, _trailers: usize) {
        if let Some(shared) = &self.shared {
            on_call_response(shared, self.id, token, headers, body);
        }
    }
}

impl Filter {
    /// Carries out what the core says of a request by its route.
    fn serve(
        &mut self,
        shared: &Rc<Shared>,
        view: &RequestView,
        request: &Request,
        end_of_stream: bool,
    ) -> Action {
        let mut store = SharedDataStore::for_policy(&shared.policy);
        // The cluster Envoy's route picked (none for a direct_response), for
        // the core's checks of token requests. A failed read is an error,
        // never "no cluster".
        let route_cluster = || match hostcalls::get_property(vec!["xds", "cluster_name"]) {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| "xds.cluster_name is not UTF-8".to_owned()),
            Err(status) => Err(format!("xds.cluster_name: {status:?}")),
        };
        match shared
            .policy
            .handle(view, request, end_of_stream, &mut store, &route_cluster)
        {
            Handling::Decide => step(shared, self.id, request, false),
            Handling::Forward(changes) => {
                if shared.policy.envoy_settings().audit_log {
                    log(
                        LogLevel::Info,
                        r#"{"rolegate":"forward","to":"token_endpoint.forward_to_cluster"}"#,
                    );
                }
                forward(&changes)
            }
            Handling::Reply { endpoint, reply } => send_reply(shared, endpoint, &reply),
            Handling::ReadBody(changes) => {
                // Proxy-wasm delivers a body only after the headers continue
                // (a paused header stops the body too); the generated config
                // buffers it after rolegate and answers this path directly.
                if let Action::Pause = forward(&changes) {
                    return Action::Pause;
                }
                self.token_request = Some(request.clone());
                Action::Continue
            }
        }
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Envoy does not start a plugin whose on_configure failed; be safe anyway.
            return refuse("rolegate: no policy is loaded");
        };
        let block = match headers::request_header_block() {
            Ok(block) => block,
            Err(status) => {
                return refuse(&format!(
                    "rolegate: cannot read the request headers: status {status}"
                ))
            }
        };
        // Without a time no lifetime can be judged: fail closed.
        let Some(now) = clock::now_seconds() else {
            return refuse("rolegate: the host clock failed");
        };
        let mut view = match shared.policy.view_header_map(&block, now) {
            Ok(view) => view,
            Err(e) => return refuse(&format!("rolegate: {e}")),
        };
        // Over HTTP/2 a body may follow without any header announcing it.
        view.body = !end_of_stream;
        // Most requests repeat one decided before: applied from the block as
        // it is, without building the request.
        let kept = match shared.state.try_borrow() {
            Ok(state) => shared.policy.kept_decision(&state, &view),
            Err(_) => None,
        };
        if let Some(decision) = kept {
            return apply(&shared, &view, &decision, CacheUse::Hit, false);
        }
        // Taken rather than borrowed across host calls: nothing can find it busy.
        let mut request = shared
            .scratch
            .try_borrow_mut()
            .map(|mut scratch| std::mem::take(&mut *scratch))
            .unwrap_or_default();
        request.refill_from_view(&view);
        if shared.policy.verifies_bound_tokens() {
            request.client_certificate = client_certificate();
        }
        let action = self.serve(&shared, &view, &request, end_of_stream);
        if let Ok(mut scratch) = shared.scratch.try_borrow_mut() {
            *scratch = request;
        }
        action
    }
    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // The headers went on already: a failure resets the stream.
        let trailers = match hostcalls::get_map(MapType::HttpRequestTrailers) {
            Ok(trailers) => trailers,
            Err(status) => {
                return reset(&format!("rolegate: cannot read the trailers: {status:?}"))
            }
        };
        let names = trailers.iter().map(|(name, _)| name.as_str());
        for name in crate::trailers_to_remove(names) {
            if let Err(status) = hostcalls::remove_map_value(MapType::HttpRequestTrailers, name) {
                return reset(&format!(
                    "rolegate: cannot remove trailer {name}: {status:?}"
                ));
            }
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let (Some(shared), Some(request)) = (self.shared.clone(), self.token_request.as_ref())
        else {
            return Action::Continue;
        };
        let read = |size| {
            hostcalls::get_buffer(BufferType::HttpRequestBody, 0, size)
                .map(Option::unwrap_or_default)
                .map_err(|status| format!("{status:?}"))
        };
        let mut store = SharedDataStore::for_policy(&shared.policy);
        match shared
            .policy
            .token_body(request, body_size, end_of_stream, read, &mut store)
        {
            BodyStep::Wait => Action::Pause,
            BodyStep::Reply(reply) => {
                self.token_request = None;
                send_reply(&shared, "token", &reply)
            }
        }
    }
}

/// The connection's client certificate as a certificate-bound token names
/// it. Unreadable is none: a certificate-bound token is then refused, never
/// taken for another.
fn client_certificate() -> Option<String> {
    let digest = hostcalls::get_property(vec!["connection", "sha256_peer_certificate_digest"])
        .ok()
        .flatten()?;
    crate::request::certificate_thumbprint_from_hex(std::str::from_utf8(&digest).ok()?)
}

/// Sends an endpoint's answer, counted, with one audit line (never a token).
fn send_reply(shared: &Shared, endpoint: &str, reply: &crate::token_endpoint::Reply) -> Action {
    if endpoint == "token" {
        shared.metrics.count_token(reply.response.status == 200);
    }
    if shared.policy.envoy_settings().audit_log {
        log(LogLevel::Info, &reply.audit_line(endpoint));
    }
    respond(&reply.response)
}

/// Decides `request` of context `context`, or starts the call it needs.
/// `resumed`: the request was paused, so forwarding means resuming it.
fn step(shared: &Rc<Shared>, context: u32, request: &Request, resumed: bool) -> Action {
    let next = match shared.state.try_borrow_mut() {
        Ok(mut state) => shared.policy.decide_step(&mut state, request, OPTIONS),
        // Unreachable in a single-threaded VM; never forward undecided.
        Err(_) => return refuse("rolegate: state busy"),
    };
    match next {
        Step::Done(decision, cache_use) => {
            apply(shared, &request.view(), &decision, cache_use, resumed)
        }
        Step::Call(call) => {
            let request = request.clone();
            dispatch(
                shared,
                call,
                Some(Parked {
                    id: context,
                    request,
                }),
            );
            Action::Pause
        }
        Step::Wait(issuer) => {
            let parked = Parked {
                id: context,
                request: request.clone(),
            };
            let parked = match shared.state.try_borrow_mut() {
                Ok(mut state) => state.park(issuer, parked),
                Err(_) => return refuse("rolegate: state busy"),
            };
            if !parked {
                return refuse(&format!(
                    "rolegate: {} requests already wait for the keys of issuer {issuer}",
                    crate::engine::decide::MAX_PARKED
                ));
            }
            Action::Pause
        }
    }
}

/// Makes an HTTP call for the core. A call that cannot even start is
/// answered at once as a failure, so nothing waits forever.
fn dispatch(shared: &Rc<Shared>, call: HttpCall, waiter: Option<Parked>) {
    let headers: Vec<(&str, &str)> = call
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let started = hostcalls::dispatch_http_call(
        &call.cluster,
        headers,
        call.body.as_deref(),
        vec![],
        Duration::from_millis(call.timeout_ms),
    );
    match started {
        Ok(token) => {
            if let Ok(mut calls) = shared.calls.try_borrow_mut() {
                calls.insert(token, (call, waiter));
            }
        }
        Err(status) => {
            let why = format!("cannot call cluster {}: {status:?}", call.cluster);
            complete(shared, call, waiter, Err(why));
        }
    }
}

fn on_call_response(
    shared: &Rc<Shared>,
    own_context: u32,
    token: u32,
    headers: usize,
    body_size: usize,
) {
    let entry = shared
        .calls
        .try_borrow_mut()
        .ok()
        .and_then(|mut calls| calls.remove(&token));
    let Some((call, waiter)) = entry else { return };
    let result = read_call_response(headers, body_size, call.max_response_bytes);
    complete(shared, call, waiter, result);
    // Acting for other contexts moved the host's attention; give it back.
    let _ = hostcalls::set_effective_context(own_context);
}

fn read_call_response(headers: usize, body_size: usize, max: usize) -> HttpResult {
    if headers == 0 {
        return Err("no answer (timeout or connection failure)".to_owned());
    }
    let status = hostcalls::get_map(MapType::HttpCallResponseHeaders)
        .map_err(|s| format!("cannot read the answer's headers: {s:?}"))?
        .into_iter()
        .find(|(name, _)| name == ":status")
        .and_then(|(_, value)| value.parse::<u16>().ok())
        .ok_or("the answer has no status")?;
    if body_size > max {
        return Err(format!(
            "the answer is {body_size} bytes; at most {max} are read"
        ));
    }
    let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
        .map_err(|s| format!("cannot read the answer's body: {s:?}"))?
        .unwrap_or_default();
    Ok((status, body))
}

/// Hands an answer to the core and continues whatever was waiting on it.
fn complete(shared: &Rc<Shared>, call: HttpCall, waiter: Option<Parked>, result: HttpResult) {
    if let Err(why) = &result {
        log(
            LogLevel::Warn,
            &format!("rolegate: {:?} call failed: {why}", call.purpose),
        );
    }
    match call.purpose {
        Purpose::Introspection => {
            let Some(Parked {
                id: context,
                request,
            }) = waiter
            else {
                return;
            };
            if hostcalls::set_effective_context(context).is_err() {
                return; // the request is gone
            }
            let failed_call = result.is_err(); // logged above
            let answered = match shared.state.try_borrow_mut() {
                Ok(mut state) => shared
                    .policy
                    .decide_introspected(&mut state, &request, OPTIONS, &call, result),
                Err(_) => {
                    refuse("rolegate: state busy");
                    return;
                }
            };
            if let (Some(why), false) = (&answered.problem, failed_call) {
                log(
                    LogLevel::Warn,
                    &format!("rolegate: introspection of issuer {}: {why}", call.issuer),
                );
            }
            let decision = answered.decision;
            // Usable answers count as ok, whatever they said of the token.
            let usable =
                decision.reason != crate::authorize::decision::Reason::IntrospectionUnavailable;
            shared.metrics.count_call(&call.purpose, usable);
            apply(shared, &request.view(), &decision, CacheUse::Miss, true);
        }
        Purpose::Discovery | Purpose::Jwks => {
            // Without a time the answer cannot be kept: taken as a failed
            // call (at time 0, so it is due again at once), which refuses
            // the requests waiting on it with 503 rather than guess.
            let (now, result) = match clock::now_seconds() {
                Some(now) => (now, result),
                None => (0, Err("the host clock failed".to_owned())),
            };
            let follow = match shared.state.try_borrow_mut() {
                Ok(mut state) => {
                    let follow = shared.policy.complete_call(&mut state, &call, result, now);
                    let failure = state
                        .keys
                        .issuer(call.issuer)
                        .and_then(|k| k.last_error.clone());
                    if let Some(why) = &failure {
                        log(
                            LogLevel::Warn,
                            &format!(
                                "rolegate: {:?} of issuer {}: {why}",
                                call.purpose, call.issuer
                            ),
                        );
                    }
                    shared.metrics.count_call(&call.purpose, failure.is_none());
                    follow
                }
                Err(_) => Vec::new(),
            };
            // Discovery leads to the JWKS; the waiting request follows it.
            let mut waiter = waiter;
            for next in follow {
                dispatch(shared, next, waiter.take());
            }
            // The core says which paused requests may be decided again.
            let mut woken = match shared.state.try_borrow_mut() {
                Ok(mut state) => state.release(call.issuer),
                Err(_) => Vec::new(),
            };
            woken.extend(waiter);
            for Parked { id, request } in woken {
                if hostcalls::set_effective_context(id).is_ok() {
                    if let Action::Continue = step(shared, id, &request, true) {
                        let _ = hostcalls::resume_http_request();
                    }
                }
            }
        }
    }
}

/// Counts, logs and carries out a decision. Returns what a synchronous
/// caller should return; a resumed request is resumed here when forwarded.
fn apply(
    shared: &Shared,
    request: &RequestView,
    decision: &Decision,
    cache_use: CacheUse,
    resumed: bool,
) -> Action {
    shared.metrics.count(decision, cache_use);
    let settings = shared.policy.envoy_settings();
    if settings.audit_log || settings.access_log_state {
        let line = decision.audit_line();
        if settings.audit_log {
            log(LogLevel::Info, &line);
        }
        // One filter-state value for Envoy's access log,
        // %FILTER_STATE(wasm.rolegate:PLAIN)%: each property write costs
        // Envoy about 4 500 instructions, so one, not one per field.
        if settings.access_log_state {
            let _ = hostcalls::set_property(vec!["rolegate"], Some(line.as_bytes()));
        }
    }
    if !decision.forward() {
        return respond(&decision.denial());
    }
    let action = forward(&decision.upstream_headers(settings, request));
    if resumed && matches!(action, Action::Continue) {
        let _ = hostcalls::resume_http_request();
        return Action::Pause;
    }
    action
}

fn forward(changes: &HeaderChanges) -> Action {
    for name in &changes.remove {
        if let Err(status) = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name) {
            return refuse(&format!("rolegate: cannot remove {name}: {status:?}"));
        }
    }
    for (name, value) in &changes.replace {
        if let Err(status) =
            hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
        {
            return refuse(&format!("rolegate: cannot set {name}: {status:?}"));
        }
    }
    for (name, value) in &changes.add {
        if let Err(status) = hostcalls::add_map_value(MapType::HttpRequestHeaders, name, value) {
            return refuse(&format!("rolegate: cannot add {name}: {status:?}"));
        }
    }
    Action::Continue
}

/// Sends a response instead of forwarding; a response that cannot be sent
/// resets the stream (never forwards).
fn respond(response: &Response) -> Action {
    let headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    if let Err(status) = hostcalls::send_http_response(
        u32::from(response.status),
        headers,
        Some(response.body.as_bytes()),
    ) {
        log(
            LogLevel::Error,
            &format!(
                "rolegate: cannot send the {} response: {status:?}",
                response.status
            ),
        );
        let _ = hostcalls::reset_http_request();
    }
    Action::Pause
}

/// Fails closed once the headers have gone on: log, and reset the stream.
fn reset(message: &str) -> Action {
    log(LogLevel::Error, message);
    let _ = hostcalls::reset_http_request();
    Action::Pause
}

/// Fails closed when the host itself misbehaves: log, answer 503, never forward.
fn refuse(message: &str) -> Action {
    log(LogLevel::Error, message);
    respond(&Response::unavailable())
}

//! How a proxy handles a request by its route: decided (then
//! [`Policy::decide_step`]), answered at once by one of rolegate's endpoints,
//! or, for a token request, answered once its body has arrived. Said here so
//! that every host routes, buffers and refuses alike; a host only moves bytes.

use crate::authorize::route::Route;
use crate::effect::HeaderChanges;
use crate::policy::Policy;
use crate::request::{Request, RequestView};
use crate::token_endpoint::{self, Reply, TokenStore};

/// What a host does with a request whose headers it has read.
#[derive(Debug)]
pub enum Handling<'a> {
    /// Decide it with [`Policy::decide_step`].
    Decide,
    /// Send this answer instead of forwarding; `endpoint` names it in the
    /// audit line (`token`, `list_tokens`, `metadata`, `jwks`).
    Reply {
        /// Which endpoint answers, for the audit line.
        endpoint: &'static str,
        /// The answer.
        reply: Reply,
    },
    /// This proxy is not the token instance (`token_endpoint.forward_to_cluster`):
    /// make these header edits (the identity headers go) and let Envoy's route
    /// send the request to that cluster, whose rolegate answers it. Checked
    /// first: the route goes to that cluster, or the host got a `Reply`.
    Forward(HeaderChanges<'a>),
    /// A token request whose body is still to come: make these header edits
    /// (the identity headers go, as on every path), let the body arrive, and
    /// hand it to [`Policy::token_body`]. Given only where the host's route
    /// leads to no upstream cluster (the generated Envoy config answers the
    /// path directly), so the request itself never reaches an upstream.
    ReadBody(HeaderChanges<'a>),
}

/// What a host does with a token request's body as it arrives.
#[derive(Debug)]
pub enum BodyStep {
    /// Not all there yet: keep buffering.
    Wait,
    /// Send this answer (the token, a refusal, or 413 for a body too large).
    Reply(Reply),
}

impl Policy {
    /// How to handle `request` (whose headers `view` borrows): `store` holds
    /// the token endpoint's records for the endpoints that read them;
    /// `route_cluster` says which upstream cluster the host's route sends
    /// the request to (asked only of token requests: one forwarded to the
    /// token instance, or one whose body is still to come, which must not
    /// be on a route to any upstream).
    pub fn handle<'a>(
        &'a self,
        view: &RequestView,
        request: &Request,
        end_of_stream: bool,
        store: &mut dyn TokenStore,
        route_cluster: &dyn Fn() -> Result<Option<String>, String>,
    ) -> Handling<'a> {
        let reply = |endpoint, reply| Handling::Reply { endpoint, reply };
        // What any token request that goes on loses: the identity headers.
        let stripped = || {
            let mut changes = HeaderChanges::default();
            self.envoy_settings().strip_identity(view, &mut changes);
            changes
        };
        let route = self.route(view);
        let forward_to = self
            .token_endpoint()
            .and_then(|e| e.forward_to_cluster.as_deref());
        if let (Some(cluster), Route::IssueToken | Route::ListTokens) = (forward_to, route) {
            // Forwarded undecided, so only to the token instance: a route to
            // any other cluster (the admin API) is refused, never followed.
            return match route_cluster() {
                Err(why) => reply("forward", token_endpoint::route_unknown(&why)),
                Ok(Some(routed)) if routed == cluster => Handling::Forward(stripped()),
                Ok(routed) => reply(
                    "forward",
                    token_endpoint::misrouted(cluster, routed.as_deref()),
                ),
            };
        }
        match route {
            Route::Decide => Handling::Decide,
            Route::ListTokens => reply("list_tokens", self.list_tokens(request, store)),
            Route::Metadata => reply("metadata", self.endpoint_metadata(request)),
            Route::Jwks => reply("jwks", self.endpoint_jwks(request)),
            Route::IssueToken if end_of_stream => {
                reply("token", self.issue_token(request, &[], store))
            }
            // The body arrives only after the headers go on: only where
            // the route leads to no upstream (rolegate's generated
            // direct_response) do they go nowhere.
            Route::IssueToken => match route_cluster() {
                // Unknown is not "none": fail closed.
                Err(why) => reply("token", token_endpoint::route_unknown(&why)),
                Ok(Some(cluster)) if !cluster.is_empty() => reply(
                    "token",
                    token_endpoint::body_would_reach_upstream(&request.path, &cluster),
                ),
                Ok(_) => Handling::ReadBody(stripped()),
            },
        }
    }

    /// The next step for a token request's body: `body_size` bytes have
    /// arrived so far; `read` fetches them once they are all there. Over
    /// `MAX_BODY_BYTES` (16 KiB) the answer is 413 at once.
    pub fn token_body(
        &self,
        request: &Request,
        body_size: usize,
        end_of_stream: bool,
        read: impl FnOnce(usize) -> Result<Vec<u8>, String>,
        store: &mut dyn TokenStore,
    ) -> BodyStep {
        if body_size > token_endpoint::MAX_BODY_BYTES {
            return BodyStep::Reply(token_endpoint::body_too_large());
        }
        if !end_of_stream {
            return BodyStep::Wait;
        }
        match read(body_size) {
            Ok(body) => BodyStep::Reply(self.issue_token(request, &body, store)),
            Err(why) => BodyStep::Reply(token_endpoint::unavailable(format!(
                "the request body could not be read: {why}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_endpoint::MemoryTokenStore;

    /// The Pexip preset with a token endpoint (the test key's private half).
    fn pexip() -> Policy {
        pexip_with(serde_json::json!({}))
    }

    /// As `pexip`, with more token endpoint members.
    fn pexip_with(extra: serde_json::Value) -> Policy {
        Policy::from_json(&pexip_document(extra)).unwrap()
    }

    /// The Pexip preset's text with a token endpoint and these members in it.
    fn pexip_document(extra: serde_json::Value) -> String {
        let keys: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/keys.json")).unwrap();
        let mut doc: serde_json::Value =
            serde_json::from_str(include_str!("../../examples/pexip.json")).unwrap();
        doc["issuers"] = serde_json::json!([]);
        doc["token_endpoint"] = serde_json::json!({"issuer": "https://pexip-manager.test",
            "audience": "pexip-management-api", "signing_key": keys["keys"]["pexip-node"],
            "active_tokens_role": "administrator"});
        for (k, v) in extra.as_object().unwrap() {
            doc["token_endpoint"][k] = v.clone();
        }
        doc.to_string()
    }

    /// A handling in a word, with the status of an answer.
    fn said(handling: Handling) -> String {
        match handling {
            Handling::Decide => "decide".to_owned(),
            Handling::Reply { endpoint, reply } => format!("{endpoint} {}", reply.response.status),
            Handling::ReadBody(_) => "read body".to_owned(),
            Handling::Forward(_) => "forward".to_owned(),
        }
    }

    #[test]
    fn routes_become_handlings() {
        let policy = pexip();
        let mut store = MemoryTokenStore::default();
        let mut handle = |method: &str, path: &str, end: bool| {
            let request = Request::new(method, path, 1_800_000_000);
            let view = request.view();
            // The generated config's direct_response route: no cluster.
            let direct = || -> Result<Option<String>, String> { Ok(None) };
            said(policy.handle(&view, &request, end, &mut store, &direct))
        };
        assert_eq!(handle("GET", "/api/admin/status/v1/", true), "decide");
        assert_eq!(handle("POST", "/oauth/token/", false), "read body");
        assert_eq!(handle("POST", "/oauth/token/", true), "token 400");
        assert_eq!(handle("GET", "/oauth/token/", true), "token 405");
        assert_eq!(handle("GET", "//oauth/token/", true), "decide");
        assert_eq!(
            handle("GET", "/.well-known/oauth-authorization-server", true),
            "metadata 200"
        );
    }

    #[test]
    fn a_token_request_with_a_body_to_come_is_refused_on_a_route_to_an_upstream() {
        // An Istio sidecar's chain: every route goes to the application's
        // cluster, so headers let through to read the body would reach it.
        let policy = pexip();
        let mut store = MemoryTokenStore::default();
        let request = Request::new("POST", "/oauth/token/", 1_800_000_000);
        let view = request.view();
        let routed = || Ok(Some("inbound|8080||".to_owned()));
        match policy.handle(&view, &request, false, &mut store, &routed) {
            Handling::Reply { endpoint, reply } => {
                assert_eq!((endpoint, reply.response.status), ("token", 503));
                let reason = reply.audit.reason.unwrap();
                assert!(reason.contains("inbound|8080||"), "{reason}");
            }
            other => panic!("{}", said(other)),
        }
        // An empty cluster name is no cluster (a direct_response route).
        let empty = || Ok(Some(String::new()));
        let handling = policy.handle(&view, &request, false, &mut store, &empty);
        assert_eq!(said(handling), "read body");
        // A host that cannot say where the route goes: 503, never read on.
        let failing = || Err("property xds.cluster_name: BadArgument".to_owned());
        let handling = policy.handle(&view, &request, false, &mut store, &failing);
        assert_eq!(said(handling), "token 503");
        // A whole request (no body to come) is answered at once, on any route.
        let handling = policy.handle(&view, &request, true, &mut store, &routed);
        assert_eq!(said(handling), "token 400");
    }

    #[test]
    fn a_proxy_that_is_not_the_token_instance_forwards_only_to_its_cluster() {
        let policy = pexip_with(serde_json::json!({"forward_to_cluster": "token_instance"}));
        let mut store = MemoryTokenStore::default();
        let mut handle = |method: &str, path: &str, routed: Option<&str>| {
            let request =
                Request::new(method, path, 1_800_000_000).header("x-rolegate-subject", "spoofed");
            let view = request.view();
            let cluster = || Ok(routed.map(str::to_owned));
            let handling = policy.handle(&view, &request, false, &mut store, &cluster);
            if let Handling::Forward(changes) = &handling {
                assert!(changes.remove.iter().any(|h| h == "x-rolegate-subject"));
            }
            said(handling)
        };
        assert_eq!(
            handle("POST", "/oauth/token/", Some("token_instance")),
            "forward"
        );
        assert_eq!(
            handle("GET", "/oauth/tokens/", Some("token_instance")),
            "forward"
        );
        // Misrouted: refused, never forwarded undecided.
        assert_eq!(
            handle("POST", "/oauth/token/", Some("admin_api")),
            "forward 503"
        );
        assert_eq!(handle("POST", "/oauth/token/", None), "forward 503");
        // Stateless answers stay local; every other path is decided.
        assert_eq!(
            handle("GET", "/oauth/jwks/", Some("token_instance")),
            "jwks 200"
        );
        assert_eq!(
            handle("POST", "//oauth/token/", Some("token_instance")),
            "decide"
        );
    }

    #[test]
    fn a_forward_cluster_is_an_envoy_cluster_name() {
        let text = pexip_document(serde_json::json!({"forward_to_cluster": "a b"}));
        let e = Policy::from_json(&text).unwrap_err();
        assert_eq!(e.path, "token_endpoint.forward_to_cluster");
    }

    #[test]
    fn token_bodies_wait_are_capped_and_are_answered() {
        let policy = pexip();
        let mut store = MemoryTokenStore::default();
        let request = Request::new("POST", "/oauth/token/", 1_800_000_000);
        let never = |_: usize| -> Result<Vec<u8>, String> { panic!("read before the end") };
        assert!(matches!(
            policy.token_body(&request, 10, false, never, &mut store),
            BodyStep::Wait
        ));
        let too_large = token_endpoint::MAX_BODY_BYTES + 1;
        match policy.token_body(&request, too_large, false, never, &mut store) {
            BodyStep::Reply(reply) => assert_eq!(reply.response.status, 413),
            BodyStep::Wait => panic!("a body over the cap waits"),
        }
        let read = |_: usize| Ok(b"grant_type=client_credentials".to_vec());
        match policy.token_body(&request, 29, true, read, &mut store) {
            BodyStep::Reply(reply) => assert_eq!(reply.response.status, 400),
            BodyStep::Wait => panic!("a whole body waits"),
        }
        let broken = |_: usize| Err("host said no".to_owned());
        match policy.token_body(&request, 29, true, broken, &mut store) {
            BodyStep::Reply(reply) => assert_eq!(reply.response.status, 503),
            BodyStep::Wait => panic!("an unreadable body waits"),
        }
    }
}

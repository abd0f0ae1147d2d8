//! The floor under rolegate's hot path in Envoy, for `scripts/bench-envoy.sh`
//! (not a filter to deploy): a proxy-wasm filter that talks to the host
//! exactly as rolegate does for an allowed, cached token (one read of all
//! request headers, kept as the host's block as rolegate keeps it, one clock
//! read, the Authorization header removed, the subject and roles headers
//! added) and decides nothing. What rolegate costs above this is its own
//! work; what this costs above no filter is the price of proxy-wasm itself.
//! With the plugin configuration `forward_identity off` it makes the calls
//! of rolegate with `forward_identity` off instead: no identity headers added.

// Rolegate's own header and clock reads, compiled in from its source files: linking
// rolegate itself would bring rolegate's filter entry points along.
#[path = "../src/envoy/clock.rs"]
mod clock;
#[path = "../src/envoy/headers.rs"]
mod headers;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Floor { forward_identity: true })
    });
}}

struct Floor {
    forward_identity: bool,
}

impl Context for Floor {}

impl RootContext for Floor {
    fn on_configure(&mut self, _: usize) -> bool {
        let configuration = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX);
        self.forward_identity =
            !matches!(configuration, Ok(Some(bytes)) if bytes == b"forward_identity off");
        true
    }

    fn create_http_context(&self, _: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Floor {
            forward_identity: self.forward_identity,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

impl HttpContext for Floor {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let headers = headers::request_header_block().unwrap_or_default();
        let now = clock::now_seconds();
        std::hint::black_box((&headers, now));
        let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, "authorization");
        if !self.forward_identity {
            return Action::Continue;
        }
        let _ =
            hostcalls::add_map_value(MapType::HttpRequestHeaders, "x-rolegate-subject", "bench");
        let _ =
            hostcalls::add_map_value(MapType::HttpRequestHeaders, "x-rolegate-roles", "auditor");
        Action::Continue
    }
}

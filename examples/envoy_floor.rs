//! The floor under rolegate's hot path in Envoy, for `scripts/bench-envoy.sh`
//! (not a filter to deploy): a proxy-wasm filter that talks to the host
//! exactly as rolegate does for an allowed, cached token (one read of all
//! request headers, kept as the host's block as rolegate keeps it, one clock
//! read, the Authorization header removed, the subject and roles headers
//! added) and decides nothing. What rolegate costs above this is its own
//! work; what this costs above no filter is the price of proxy-wasm itself.
//! (It cannot call rolegate's own header read: linking rolegate would bring
//! rolegate's filter entry points along.)

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Floor) });
}}

struct Floor;

impl Context for Floor {}

impl RootContext for Floor {
    fn create_http_context(&self, _: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Floor))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

impl HttpContext for Floor {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let headers = request_header_block();
        let now = hostcalls::get_current_time().ok();
        std::hint::black_box((&headers, now));
        let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, "authorization");
        let _ =
            hostcalls::add_map_value(MapType::HttpRequestHeaders, "x-rolegate-subject", "bench");
        let _ =
            hostcalls::add_map_value(MapType::HttpRequestHeaders, "x-rolegate-roles", "auditor");
        Action::Continue
    }
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
}

/// The request headers as the host serializes them (as `src/envoy/headers.rs`).
fn request_header_block() -> Vec<u8> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: a plain host call writing two out-parameters we own.
    let status = unsafe {
        proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size)
    };
    if status != 0 || data.is_null() {
        return Vec::new();
    }
    // SAFETY: the host allocated the block through the SDK's
    // `proxy_on_memory_allocate` and hands it over, as for rolegate.
    unsafe { Vec::from_raw_parts(data, size, size) }
}

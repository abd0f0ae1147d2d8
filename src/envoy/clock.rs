//! The host's clock in whole seconds, read with the raw host call: the SDK's
//! `get_current_time` builds a `SystemTime` that is taken apart again, on
//! every request.

#[link(wasm_import_module = "env")]
extern "C" {
    // The ABI's own types: the time in nanoseconds, and a status (u32).
    fn proxy_get_current_time_nanoseconds(nanos: *mut u64) -> u32;
}

/// Seconds since the Unix epoch, or 0 when the host has no clock (then no
/// token is within its lifetime).
pub fn now_seconds() -> u64 {
    let mut nanos = 0u64;
    // SAFETY: a plain host call writing one out-parameter we own.
    let status = unsafe { proxy_get_current_time_nanoseconds(&mut nanos) };
    if status == 0 {
        nanos / 1_000_000_000
    } else {
        0
    }
}

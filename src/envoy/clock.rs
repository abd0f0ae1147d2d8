//! The host's clock in whole seconds, read with the raw host call: the SDK's
//! `get_current_time` builds a `SystemTime` that is taken apart again, on
//! every request.

#[link(wasm_import_module = "env")]
extern "C" {
    // The ABI's own types: the time in nanoseconds, and a status (u32).
    fn proxy_get_current_time_nanoseconds(nanos: *mut u64) -> u32;
}

/// Seconds since the Unix epoch, or `None` when the host's clock fails.
/// There is no safe stand-in: at time 0 an expired token without `iat`
/// would be within its lifetime, so a caller fails closed instead.
pub fn now_seconds() -> Option<u64> {
    let mut nanos = 0u64;
    // SAFETY: a plain host call writing one out-parameter we own.
    let status = unsafe { proxy_get_current_time_nanoseconds(&mut nanos) };
    seconds(status, nanos)
}

/// The host call's answer as seconds: only a successful call (status 0)
/// with a time after the epoch is a time.
fn seconds(status: u32, nanos: u64) -> Option<u64> {
    (status == 0 && nanos > 0).then_some(nanos / 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn a_failing_clock_is_no_time_at_all() {
        assert_eq!(seconds(0, 1_800_000_000_500_000_000), Some(1_800_000_000));
        // Any failure status, or a clock at the epoch: no time, never 0.
        for status in [1, 2, 10, u32::MAX] {
            assert_eq!(seconds(status, 1_800_000_000_000_000_000), None);
        }
        assert_eq!(seconds(0, 0), None);
    }
}

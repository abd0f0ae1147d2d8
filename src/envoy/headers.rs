//! The request's header block, read in place. The SDK's `get_map_bytes`
//! copies every header name and value into allocations of their own (and
//! panics on a status it does not expect); rolegate keeps the block as the
//! host wrote it and lets the core take only the headers its policy reads
//! (`crate::request::header_map`, `Policy::request_from_header_map`).

use proxy_wasm::types::MapType;

#[link(wasm_import_module = "env")]
extern "C" {
    // The ABI's own types: a map type and a status, both u32.
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
}

/// The request headers as the host serializes them, or the host's status.
pub fn request_header_block() -> Result<Vec<u8>, u32> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: a plain host call writing two out-parameters we own.
    let status = unsafe {
        proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size)
    };
    if status != 0 {
        return Err(status);
    }
    if data.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: the host allocated the block through the SDK's
    // `proxy_on_memory_allocate` (a boxed slice of exactly `size` bytes,
    // all written by the host) and hands it over; the SDK's own
    // `get_map_bytes` takes ownership the same way.
    Ok(unsafe { Vec::from_raw_parts(data, size, size) })
}

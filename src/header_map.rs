//! A header block in the byte format proxy-wasm hosts hand over
//! (`proxy_get_header_map_pairs`): a little-endian u32 count, a pair of u32
//! lengths (name, value) per header, then each name and each value followed
//! by a NUL byte. Reading it in place saves the two allocations per header
//! that a list of owned pairs costs on every request.
//!
//! Only the format lives here; the core imports nothing of proxy-wasm.

use std::fmt;

/// A block that does not follow the format (a host bug, never a client's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMapError(&'static str);

impl fmt::Display for HeaderMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed header block from the host: {}", self.0)
    }
}

impl std::error::Error for HeaderMapError {}

/// A header's name and value, as bytes.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// The (name, value) pairs of `block`, in order, borrowed from it. An empty
/// block is an empty map.
pub fn pairs(block: &[u8]) -> Result<Vec<Pair<'_>>, HeaderMapError> {
    if block.is_empty() {
        return Ok(Vec::new());
    }
    let (count, rest) = read_u32(block).ok_or(HeaderMapError("no header count"))?;
    let sizes_len = count
        .checked_mul(8)
        .filter(|&n| n <= rest.len())
        .ok_or(HeaderMapError("the header count exceeds the block"))?;
    let (mut sizes, mut data) = rest.split_at(sizes_len);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (name_len, after_name) = read_u32(sizes).ok_or(HeaderMapError("sizes cut short"))?;
        let (value_len, after_value) =
            read_u32(after_name).ok_or(HeaderMapError("sizes cut short"))?;
        sizes = after_value;
        let (name, after) = take_terminated(data, name_len)?;
        let (value, after) = take_terminated(after, value_len)?;
        data = after;
        out.push((name, value));
    }
    Ok(out)
}

/// Serializes pairs in the same format (for tests and benchmarks, and the
/// inverse `pairs` is checked against).
pub fn serialize<N: AsRef<[u8]>, V: AsRef<[u8]>>(headers: &[(N, V)]) -> Vec<u8> {
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    let mut out = Vec::new();
    out.extend(len32(headers.len()));
    for (name, value) in headers {
        out.extend(len32(name.as_ref().len()));
        out.extend(len32(value.as_ref().len()));
    }
    for (name, value) in headers {
        for part in [name.as_ref(), value.as_ref()] {
            out.extend_from_slice(part);
            out.push(0);
        }
    }
    out
}

fn read_u32(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((usize::try_from(u32::from_le_bytes(*head)).ok()?, rest))
}

/// `len` bytes and the NUL after them.
fn take_terminated(data: &[u8], len: usize) -> Result<(&[u8], &[u8]), HeaderMapError> {
    let (part, rest) = data
        .split_at_checked(len)
        .ok_or(HeaderMapError("a header runs past the block"))?;
    match rest.split_first() {
        Some((0, rest)) => Ok((part, rest)),
        _ => Err(HeaderMapError("a header is not NUL-terminated")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serialize_writes() {
        let headers: [(&[u8], &[u8]); 4] = [
            (b":method", b"GET"),
            (b":path", b"/a?b"),
            (b"x-empty", b""),
            (b"x-bin", b"\xff\x00\x01"),
        ];
        let block = serialize(&headers);
        assert_eq!(pairs(&block).unwrap(), headers);
        assert_eq!(pairs(&serialize::<&[u8], &[u8]>(&[])).unwrap(), []);
        assert_eq!(pairs(&[]).unwrap(), []);
    }

    #[test]
    fn matches_the_sdks_layout() {
        // Two headers as the proxy-wasm SDK's own tests lay them out.
        let block = b"\x02\0\0\0\x07\0\0\0\x03\0\0\0\x05\0\0\0\x02\0\0\0:method\0GET\0:path\0/x\0";
        assert_eq!(
            pairs(block).unwrap(),
            [(&b":method"[..], &b"GET"[..]), (b":path", b"/x")]
        );
    }

    #[test]
    fn refuses_every_truncation_and_bad_terminator() {
        let block = serialize(&[("a", "1"), ("bb", "22")]);
        for cut in 1..block.len() {
            assert!(pairs(&block[..cut]).is_err(), "cut at {cut}");
        }
        let mut unterminated = block.clone();
        *unterminated.last_mut().unwrap() = b'x';
        assert!(pairs(&unterminated).is_err());
        let huge = [0xff, 0xff, 0xff, 0xff, 0, 0];
        assert!(pairs(&huge).is_err());
        let lying_size = serialize(&[("a", "1")]);
        let mut lying = lying_size.clone();
        lying[4] = 200;
        assert!(pairs(&lying).is_err());
    }
}

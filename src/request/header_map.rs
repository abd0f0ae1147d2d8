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

/// The (name, value) pairs of a block, in order, borrowed from it. Each
/// pair is checked as it is reached; after an error the iteration ends.
#[derive(Clone)]
pub struct Pairs<'a> {
    left: usize,
    sizes: &'a [u8],
    data: &'a [u8],
}

impl<'a> Pairs<'a> {
    /// The pairs of `block` (an empty block is an empty map).
    pub fn new(block: &'a [u8]) -> Result<Self, HeaderMapError> {
        if block.is_empty() {
            return Ok(Pairs {
                left: 0,
                sizes: &[],
                data: &[],
            });
        }
        let (count, rest) = read_u32(block).ok_or(HeaderMapError("no header count"))?;
        let sizes_len = count
            .checked_mul(8)
            .filter(|&n| n <= rest.len())
            .ok_or(HeaderMapError("the header count exceeds the block"))?;
        let (sizes, data) = rest.split_at(sizes_len);
        Ok(Pairs {
            left: count,
            sizes,
            data,
        })
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<Pair<'a>, HeaderMapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut read = || {
            let (name_len, rest) = read_u32(self.sizes).ok_or(HeaderMapError("sizes cut short"))?;
            let (value_len, rest) = read_u32(rest).ok_or(HeaderMapError("sizes cut short"))?;
            self.sizes = rest;
            let (name, rest) = take_terminated(self.data, name_len)?;
            let (value, rest) = take_terminated(rest, value_len)?;
            self.data = rest;
            Ok((name, value))
        };
        let pair = read();
        if pair.is_err() {
            self.left = 0;
        }
        Some(pair)
    }
}

/// Serializes pairs in the same format (for tests and benchmarks, and the
/// inverse `Pairs` is checked against).
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

    fn read(block: &[u8]) -> Result<Vec<Pair<'_>>, HeaderMapError> {
        Pairs::new(block)?.collect()
    }

    #[test]
    fn reads_what_serialize_writes() {
        let headers: [(&[u8], &[u8]); 4] = [
            (b":method", b"GET"),
            (b":path", b"/a?b"),
            (b"x-empty", b""),
            (b"x-bin", b"\xff\x00\x01"),
        ];
        let block = serialize(&headers);
        assert_eq!(read(&block).unwrap(), headers);
        assert_eq!(read(&serialize::<&[u8], &[u8]>(&[])).unwrap(), []);
        assert_eq!(read(&[]).unwrap(), []);
    }

    #[test]
    fn matches_the_sdks_layout() {
        // Two headers as the proxy-wasm SDK's own tests lay them out.
        let block = b"\x02\0\0\0\x07\0\0\0\x03\0\0\0\x05\0\0\0\x02\0\0\0:method\0GET\0:path\0/x\0";
        assert_eq!(
            read(block).unwrap(),
            [(&b":method"[..], &b"GET"[..]), (b":path", b"/x")]
        );
    }

    #[test]
    fn refuses_every_truncation_and_bad_terminator() {
        let block = serialize(&[("a", "1"), ("bb", "22")]);
        for cut in 1..block.len() {
            assert!(read(&block[..cut]).is_err(), "cut at {cut}");
        }
        let mut unterminated = block.clone();
        *unterminated.last_mut().unwrap() = b'x';
        assert!(read(&unterminated).is_err());
        let huge = [0xff, 0xff, 0xff, 0xff, 0, 0];
        assert!(read(&huge).is_err());
        let lying_size = serialize(&[("a", "1")]);
        let mut lying = lying_size.clone();
        lying[4] = 200;
        assert!(read(&lying).is_err());
    }
}

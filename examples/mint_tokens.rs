//! Mints many tokens fast (natively), for the cold-path benchmark:
//! `cargo run --release --example mint_tokens -- <private-jwk.json> <claims.json> <count>`
//! prints one token per line; each differs in `jti`.

use rolegate::testing::{mint, MintRequest, SigningKey};
use serde_json::{Map, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, key_file, claims_file, count] = args.as_slice() else {
        return Err("usage: mint_tokens <private-jwk.json> <claims.json> <count>".into());
    };
    let key = SigningKey::from_jwk(&serde_json::from_str::<Value>(&std::fs::read_to_string(
        key_file,
    )?)?)?;
    let claims: Map<String, Value> = serde_json::from_str(&std::fs::read_to_string(claims_file)?)?;
    let count: usize = count.parse()?;
    let mut out = String::with_capacity(count * 700);
    for i in 0..count {
        let mut claims = claims.clone();
        claims.insert("jti".into(), Value::String(format!("bench-{i}")));
        out.push_str(&mint(&MintRequest {
            key: Some(&key),
            claims,
            ..MintRequest::default()
        })?);
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

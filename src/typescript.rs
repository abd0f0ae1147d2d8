//! The TypeScript declarations of what the npm package returns, derived from
//! the Rust types themselves (ts-rs, in tests only): `pkg/generated.d.ts`
//! must be what this test writes, so the package's types cannot drift from
//! the core. `ROLEGATE_WRITE_TYPES=1 cargo test --lib typescript` rewrites it.

#[cfg(test)]
mod tests {
    use ts_rs::TS;

    /// One declaration, exported, with its doc comment.
    fn declaration<T: TS>() -> String {
        let docs = T::docs().unwrap_or_default();
        format!("{docs}export {}\n", T::decl())
    }

    fn generated() -> String {
        let mut out = String::from(
            "// Generated from the Rust types by src/typescript.rs; do not edit.\n\
             // ROLEGATE_WRITE_TYPES=1 cargo test --lib typescript rewrites it.\n\n\
             export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;\n\n",
        );
        for decl in [
            declaration::<crate::authorize::decision::Decision>(),
            declaration::<crate::authorize::decision::Reason>(),
            declaration::<crate::authorize::decision::Credential>(),
            declaration::<crate::authorize::decision::Binding>(),
            declaration::<crate::policy::remote::RemoteCluster>(),
            declaration::<crate::policy::remote::ClusterTls>(),
            declaration::<crate::authorize::decision::RuleRef>(),
            declaration::<crate::policy::document::Effect>(),
            declaration::<crate::authorize::decision::RoleCheck>(),
            declaration::<crate::authorize::decision::AttributeCheck>(),
            declaration::<crate::authorize::decision::TraceStep>(),
            declaration::<crate::authorize::matrix::Matrix>(),
            declaration::<crate::authorize::matrix::MatrixRow>(),
            declaration::<crate::authorize::matrix::MatrixCell>(),
            declaration::<crate::authorize::diff::MatrixDiff>(),
            declaration::<crate::authorize::diff::DiffRow>(),
            declaration::<crate::authorize::diff::DiffCell>(),
            declaration::<crate::authorize::diff::Change>(),
            declaration::<crate::authorize::diff::Presence>(),
            declaration::<crate::policy::RoleSummary>(),
            declaration::<crate::policy::document::Mode>(),
            declaration::<crate::token_endpoint::EndpointSummary>(),
            declaration::<crate::token_endpoint::ClientSummary>(),
            declaration::<crate::jose::token::DecodedToken>(),
        ] {
            out.push_str(&decl);
            out.push('\n');
        }
        out
    }

    #[test]
    fn typescript_declarations_match_the_rust_types() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/pkg/generated.d.ts");
        let want = generated();
        if std::env::var_os("ROLEGATE_WRITE_TYPES").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "pkg/generated.d.ts is not what the Rust types say; run \
             ROLEGATE_WRITE_TYPES=1 cargo test --lib typescript and review the diff"
        );
    }
}

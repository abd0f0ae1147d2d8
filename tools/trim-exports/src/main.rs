//! Drops every export of a wasm module except the ones named, and checks
//! that the result is still a valid module.
//!
//! Why rolegate needs it: the proxy-wasm Rust SDK exports every callback of
//! the ABI, and Envoy's host calls each exported callback on every request
//! (response headers, body, trailers, log, done...) while it skips the ones a
//! module does not export. Those calls cross into the VM and back for
//! nothing, so `scripts/build-filter.sh` keeps only the callbacks rolegate
//! implements. Only the export section changes: functions, their indices and
//! every other section are copied byte for byte.
//!
//!     trim-exports IN.wasm OUT.wasm --keep name,name,...

use std::process::ExitCode;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{ExportSection, Module, RawSection};
use wasmparser::{Parser, Payload};

/// Returns `module` with only the exports named in `keep`. Every name in
/// `keep` must be exported by `module`: a name that is not is a stale or
/// misspelt list, which would otherwise drop a callback unnoticed.
fn trim(module: &[u8], keep: &[&str]) -> Result<Vec<u8>, String> {
    let mut out = Module::new();
    let mut exported = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|e| format!("not a valid wasm module: {e}"))?;
        match payload {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err("a component, not a core wasm module".to_owned());
            }
            Payload::ExportSection(reader) => {
                let mut exports = ExportSection::new();
                for export in reader {
                    let export = export.map_err(|e| format!("export section: {e}"))?;
                    exported.push(export.name.to_owned());
                    if keep.contains(&export.name) {
                        RoundtripReencoder
                            .parse_export(&mut exports, export)
                            .map_err(|e| format!("export {}: {e}", export.name))?;
                    }
                }
                out.section(&exports);
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    out.section(&RawSection {
                        id,
                        data: &module[range],
                    });
                }
            }
        }
    }
    let missing: Vec<&str> = keep
        .iter()
        .copied()
        .filter(|name| !exported.iter().any(|e| e == name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the module does not export {} (it exports {})",
            missing.join(", "),
            exported.join(", ")
        ));
    }
    let bytes = out.finish();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .map_err(|e| format!("the trimmed module is not valid: {e}"))?;
    Ok(bytes)
}

fn run(args: &[String]) -> Result<(), String> {
    let [input, output, flag, keep] = args else {
        return Err("usage: trim-exports IN.wasm OUT.wasm --keep name,name,...".to_owned());
    };
    if flag != "--keep" {
        return Err(format!("expected --keep, found {flag}"));
    }
    let keep: Vec<&str> = keep
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let module = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let trimmed = trim(&module, &keep).map_err(|e| format!("{input}: {e}"))?;
    std::fs::write(output, trimmed).map_err(|e| format!("{output}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("trim-exports: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, CustomSection, ExportKind, Function, FunctionSection, Instruction,
        MemorySection, MemoryType, TypeSection,
    };

    /// A module exporting three functions and a memory, with a name section.
    fn module() -> Vec<u8> {
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        let mut functions = FunctionSection::new();
        for _ in 0..3 {
            functions.function(0);
        }
        module.section(&functions);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        module.section(&memories);
        let mut exports = ExportSection::new();
        exports.export("memory", ExportKind::Memory, 0);
        exports.export("a", ExportKind::Func, 0);
        exports.export("b", ExportKind::Func, 1);
        exports.export("c", ExportKind::Func, 2);
        module.section(&exports);
        let mut code = CodeSection::new();
        for _ in 0..3 {
            let mut body = Function::new([]);
            body.instruction(&Instruction::End);
            code.function(&body);
        }
        module.section(&code);
        module.section(&CustomSection {
            name: "producers".into(),
            data: b"kept".as_slice().into(),
        });
        module.finish()
    }

    fn exports(module: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        for payload in Parser::new(0).parse_all(module) {
            if let Ok(Payload::ExportSection(reader)) = payload {
                names.extend(reader.into_iter().map(|e| e.unwrap().name.to_owned()));
            }
        }
        names
    }

    #[test]
    fn keeps_only_the_named_exports_and_everything_else() {
        let original = module();
        let trimmed = trim(&original, &["memory", "c"]).unwrap();
        assert_eq!(exports(&trimmed), ["memory", "c"]);
        // Only the export section shrank: code and custom sections are intact.
        assert!(trimmed.windows(4).any(|w| w == b"kept"));
        assert_eq!(
            original.len() - trimmed.len(),
            ["a", "b"].iter().map(|n| 1 + n.len() + 2).sum::<usize>()
        );
    }

    #[test]
    fn keeping_everything_changes_nothing() {
        let original = module();
        assert_eq!(
            trim(&original, &["memory", "a", "b", "c"]).unwrap(),
            original
        );
    }

    #[test]
    fn a_name_the_module_does_not_export_is_an_error() {
        let error = trim(&module(), &["memory", "proxy_on_tick"]).unwrap_err();
        assert_eq!(
            error,
            "the module does not export proxy_on_tick (it exports memory, a, b, c)"
        );
    }

    #[test]
    fn bytes_that_are_not_wasm_are_an_error() {
        let error = trim(b"\0asmgarbage", &[]).unwrap_err();
        assert!(error.starts_with("not a valid wasm module"), "{error}");
    }

    #[test]
    fn arguments_are_checked() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(run(&args(&["in.wasm"])).unwrap_err().starts_with("usage"));
        assert_eq!(
            run(&args(&["in.wasm", "out.wasm", "--drop", "a"])).unwrap_err(),
            "expected --keep, found --drop"
        );
    }
}

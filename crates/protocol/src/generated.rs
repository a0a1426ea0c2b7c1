//! The files generated from this crate's types, for the JavaScript side:
//! `web/src/protocol.d.ts` (TypeScript declarations of the requests, answers and Worker
//! messages, through `ts-rs`) and `web/src/sampling.js` ([`crate::sampling::FIELDS`]).
//! `cargo test -p hearth-protocol` fails when either differs from what the types give;
//! `HEARTH_BLESS=1 cargo test -p hearth-protocol` rewrites them.

/// Where the TypeScript declarations go, from the repository's root.
pub const PROTOCOL_DTS: &str = "web/src/protocol.d.ts";
/// Where the sampling table goes, from the repository's root.
pub const SAMPLING_JS: &str = "web/src/sampling.js";

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ts_rs::{Config, TS};

    use super::{PROTOCOL_DTS, SAMPLING_JS};
    use crate::openai::*;
    use crate::tabs::*;
    use crate::worker::*;
    use crate::*;

    fn decl<T: TS>(cfg: &Config) -> String {
        let mut s = String::new();
        if let Some(d) = T::docs() {
            s += &d;
        }
        s += "export ";
        s += &T::decl(cfg);
        s += "\n\n";
        s
    }

    fn protocol_dts() -> String {
        let cfg = Config::new().with_large_int("number");
        let mut s = String::from(
            "// protocol.d.ts: GENERATED from crates/protocol (Rust, ts-rs): the requests, answers\n\
             // Worker messages and tab messages of hearth. `cargo test -p hearth-protocol` checks it;\n\
             // HEARTH_BLESS=1 cargo test -p hearth-protocol rewrites it. Do not edit.\n\n\
             import type { ResponseFormat, Tool, ToolChoice, ToolCall, TokenLogprob } from \"./hearth\";\n\n",
        );
        s += "/** Why an answer ended: \"stop\": end of generation (or a constrained answer\n * complete); \"length\": max_tokens or the context's end; \"abort\": signal;\n * \"no_legal_token\": the response_format left no token; \"tool_calls\": the answer\n * called tools (`message.tool_calls`). */\nexport type FinishReason = ";
        s += &FINISH_REASONS.map(|r| format!("\"{r}\"")).join(" | ");
        s += ";\n\n";
        s += &decl::<Message>(&cfg);
        s += &decl::<Request>(&cfg);
        s += &decl::<Stops>(&cfg);
        s += &decl::<Prompt>(&cfg);
        s += &decl::<Usage>(&cfg);
        s += &decl::<PromptTokensDetails>(&cfg);
        s += &decl::<ChatCompletion>(&cfg);
        s += &decl::<ChatChoice>(&cfg);
        s += &decl::<AssistantMessage>(&cfg);
        s += &decl::<ChatCompletionChunk>(&cfg);
        s += &decl::<ChunkChoice>(&cfg);
        s += &decl::<Delta>(&cfg);
        s += &decl::<TextCompletion>(&cfg);
        s += &decl::<TextChoice>(&cfg);
        s += &decl::<LoadOptions>(&cfg);
        s += &decl::<Progress>(&cfg);
        s += &decl::<EngineInfo>(&cfg);
        s += &decl::<ToWorker>(&cfg);
        s += &decl::<FromWorker>(&cfg);
        s += &decl::<TabMessage>(&cfg);
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    }

    /// Compares (or, with HEARTH_BLESS=1, writes) one generated file.
    fn check(path: &str, want: &str) {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path);
        if std::env::var_os("HEARTH_BLESS").is_some() {
            std::fs::write(&file, want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            have == want,
            "{path} is out of date: run HEARTH_BLESS=1 cargo test -p hearth-protocol"
        );
    }

    #[test]
    fn generated_files_are_current() {
        check(PROTOCOL_DTS, &protocol_dts());
        check(SAMPLING_JS, &sampling::js_module());
    }
}

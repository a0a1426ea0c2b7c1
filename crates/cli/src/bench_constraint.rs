//! `hearth bench --json-schema FILE`: what constrained decoding costs. On a real chat
//! prompt, greedy, the same backend, side by side: the answer held to the schema, then
//! the same number of tokens unconstrained; the mask's own cost per token (the
//! constraint's step and accept replayed over the answer's ids, the work the decode loop
//! did), the schema's compile time and the tokenizer bridge's (once per model).

use std::path::Path;
use std::time::Instant;

use hearth_model::chat_template::{ChatTemplate, Message, encode_chat};
use hearth_model::constraint::{Format, Grammars};
use hearth_model::sampler::{Sampler, SamplerConfig};
use hearth_model::tokenizer::Tokenizer;
use hearth_model::{Config, StopRule};

use crate::engine::{Backend, Engine, Kv};
use crate::model_file;

/// The question the benchmark asks, answered in the schema's shape.
const PROMPT: &str = "Describe a person who lives in France, as JSON.";

/// Runs the constrained benchmark on `backend` and prints its figures.
pub fn run(
    model: &Path,
    schema_file: &Path,
    backend: Backend,
    kv: Kv,
    threads: usize,
    json: bool,
) -> Result<(), String> {
    let err = |e: hearth_model::ModelError| e.to_string();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(schema_file)
            .map_err(|e| format!("{}: {e}", schema_file.display()))?,
    )
    .map_err(|e| format!("{}: not JSON: {e}", schema_file.display()))?;
    let format = Format::JsonSchema(schema);
    let (gguf, bytes) = model_file::read_model(model)?;
    Config::from_gguf(&gguf).map_err(|e| e.to_string())?;
    let tok = Tokenizer::from_gguf(&gguf.metadata).map_err(err)?;
    let engine = Engine::load(backend, kv, threads, &gguf, &bytes)?;
    drop(bytes);

    let t = Instant::now();
    let grammars = Grammars::new(&tok).map_err(err)?;
    let bridge_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut constraint = grammars.compile(&format).map_err(err)?;
    let compile_s = t.elapsed().as_secs_f64();

    let template = ChatTemplate::from_gguf(&gguf.metadata).map_err(err)?;
    let messages = [Message::user(PROMPT)];
    let prompt = encode_chat(&template, &tok, &messages).map_err(err)?;
    let greedy = || Sampler::new(SamplerConfig::default());
    let max_tokens = 256;
    let n_ctx = prompt.len() + max_tokens + 1;
    let stop = StopRule {
        max_tokens,
        eog: tok.eog_ids().to_vec(),
        ignore_eos: false,
    };
    // a decode's speed: tokens after the first over the time since the first
    let timed = |constraint: Option<&mut hearth_model::constraint::Constraint>,
                 stop: &StopRule|
     -> Result<(Vec<u32>, f64), String> {
        let mut times = Vec::new();
        let answer = engine.generate(
            &prompt,
            &mut greedy().map_err(err)?,
            stop,
            n_ctx,
            hearth_model::Guide {
                constraint,
                logprobs: None,
            },
            |_| {
                times.push(Instant::now());
                Ok(true)
            },
        )?;
        let span = match (times.first(), times.last()) {
            (Some(a), Some(b)) => (*b - *a).as_secs_f64(),
            _ => 0.0,
        };
        Ok((answer.ids, (times.len().max(1) - 1) as f64 / span.max(1e-9)))
    };
    // warm-up (pipelines, caches), then the constrained answer, then as many tokens free
    timed(
        None,
        &StopRule {
            max_tokens: 8,
            ..stop.clone()
        },
    )?;
    let (ids, constrained_tps) = timed(Some(&mut constraint), &stop)?;
    let free_stop = StopRule {
        max_tokens: ids.len().max(2),
        eog: Vec::new(),
        ignore_eos: true,
    };
    let (_, free_tps) = timed(None, &free_stop)?;

    // the mask's own cost, replayed: what the loop computed for each token
    let mut replay = grammars.compile(&format).map_err(err)?;
    let t = Instant::now();
    for &id in &ids {
        let _ = replay.step();
        replay.accept(id).map_err(err)?;
    }
    let _ = replay.step();
    let mask_s = t.elapsed().as_secs_f64() / (ids.len() + 1) as f64;
    let text = tok.decode(&ids).map_err(err)?;
    let valid = serde_json::from_str::<serde_json::Value>(&text).is_ok();

    if json {
        let obj = serde_json::json!({
            "backend": engine.describe(),
            "answer_tokens": ids.len(),
            "answer_parses": valid,
            "constrained_decode_tokens_per_s": constrained_tps,
            "unconstrained_decode_tokens_per_s": free_tps,
            "ratio": constrained_tps / free_tps,
            "mask_s_per_token": mask_s,
            "schema_compile_s": compile_s,
            "tokenizer_bridge_s": bridge_s,
        });
        println!("{obj}");
    } else {
        println!("backend:            {}", engine.describe());
        println!(
            "answer:             {} tokens, {}",
            ids.len(),
            if valid {
                "parses as JSON"
            } else {
                "does NOT parse"
            }
        );
        println!(
            "decode:             {constrained_tps:.1} tokens/s constrained, {free_tps:.1} unconstrained ({:.0}%)",
            100.0 * constrained_tps / free_tps
        );
        println!(
            "mask:               {:.2} ms per token (compute and accept)",
            mask_s * 1e3
        );
        println!("schema compile:     {:.1} ms", compile_s * 1e3);
        println!(
            "tokenizer bridge:   {:.1} ms (once per model)",
            bridge_s * 1e3
        );
    }
    Ok(())
}

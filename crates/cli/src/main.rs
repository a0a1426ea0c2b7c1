//! `hearth`: the native command line of the hearth engine: tokenize, generate, logits, info.

mod bench;
mod bench_constraint;
mod engine;
mod model_file;
mod npy;
mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use engine::{Backend, Engine, Kv};
use hearth_model::chat_template::{ChatTemplate, Message, encode_chat_with};
use hearth_model::constraint::{Format, Grammars};
use hearth_model::conversation::Finish;
use hearth_model::logprobs::Logprobs;
use hearth_model::sampler::{Sampler, SamplerConfig};
use hearth_model::stop::StopText;
use hearth_model::tokenizer::{StreamDecoder, Tokenizer};
use hearth_model::tools::{ToolChoice, Tools};
use hearth_model::{Config, Guide, StopRule};

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "Private LLM inference on GGUF models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the token ids of TEXT as a JSON array.
    Tokenize {
        #[arg(long)]
        model: PathBuf,
        /// Parse special tokens written in TEXT (e.g. <|im_start|>).
        #[arg(long)]
        special: bool,
        text: String,
    },
    /// Generate text after a prompt, streaming it to stdout.
    Generate(Box<GenerateArgs>),
    /// Write the logits of every position of --ids to a .npy file [n_ids, n_vocab].
    Logits {
        #[arg(long)]
        model: PathBuf,
        /// Comma-separated token ids.
        #[arg(long, value_delimiter = ',', required = true)]
        ids: Vec<u32>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = Backend::Auto)]
        backend: Backend,
        /// Threads of the CPU engine (0: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// KV cache type on the GPU: f32 by default here, since logits are for checking.
        #[arg(long, value_enum, default_value_t = Kv::F32)]
        kv: Kv,
    },
    /// Measure prefill and decode speed on the GPU against the bandwidth roofline.
    Bench(bench::BenchArgs),
    /// Serve the web app and a models folder on 127.0.0.1 (HTTP, with Range requests).
    Serve(serve::ServeArgs),
    /// Print a model's architecture, sizes, tensor types and chat template.
    Info {
        #[arg(long)]
        model: PathBuf,
    },
    /// Cut a GGUF into N files (`NAME-0000k-of-0000N.gguf`, llama.cpp's split layout), e.g.
    /// for hosts that limit file sizes; the browser loads them as one model.
    Split {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        parts: usize,
        /// Folder of the parts (default: the model's own).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
struct GenerateArgs {
    #[arg(long)]
    model: PathBuf,
    /// Comma-separated prompt token ids (instead of PROMPT).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["prompt", "chat", "system"])]
    ids: Option<Vec<u32>>,
    /// Apply the model's chat template, PROMPT being the user's message.
    #[arg(long)]
    chat: bool,
    /// System message (with --chat).
    #[arg(long, requires = "chat")]
    system: Option<String>,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// 0 picks the most likely token (greedy).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Keep the K most likely tokens (0: all).
    #[arg(long, default_value_t = 40)]
    top_k: usize,
    /// Keep the most likely tokens up to this total probability.
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    /// Drop tokens less likely than this fraction of the most likely one.
    #[arg(long, default_value_t = 0.05)]
    min_p: f32,
    /// Penalise tokens seen in the last 64 (1: off).
    #[arg(long, default_value_t = 1.0)]
    repeat_penalty: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keep generating past end-of-generation tokens.
    #[arg(long)]
    ignore_eos: bool,
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// Threads of the CPU engine (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// KV cache type on the GPU.
    #[arg(long, value_enum, default_value_t = Kv::Auto)]
    kv: Kv,
    /// Print one JSON object {"prompt_ids","ids","text","finish_reason"} at the end
    /// instead of streaming.
    #[arg(long)]
    json: bool,
    /// Say what is happening on stderr (template, prompt size, speed).
    #[arg(long)]
    verbose: bool,
    /// Hold the answer to the JSON Schema in FILE.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json_object", "grammar", "regex"])]
    json_schema: Option<PathBuf>,
    /// Hold the answer to any JSON object.
    #[arg(long, conflicts_with_all = ["grammar", "regex"])]
    json_object: bool,
    /// Hold the answer to the grammar in FILE (llguidance's Lark syntax, or GBNF).
    #[arg(long, value_name = "FILE", conflicts_with = "regex")]
    grammar: Option<PathBuf>,
    /// Hold the answer to a regex (matched whole).
    #[arg(long, value_name = "REGEX")]
    regex: Option<String>,
    /// End the answer before this text (up to 4 times; not printed).
    #[arg(long, value_name = "TEXT")]
    stop: Vec<String>,
    /// With --json: each answer token's log-probability and its N most likely
    /// alternatives' ("logprobs" in the output; 0..=20).
    #[arg(long, value_name = "N", requires = "json")]
    top_logprobs: Option<usize>,
    /// With --chat: the functions the model may call, a JSON array of OpenAI tools
    /// ([{type: "function", function: {name, description, parameters}}]).
    #[arg(long, value_name = "FILE", requires = "chat")]
    tools: Option<PathBuf>,
    /// With --tools: auto (the model decides), none, required (a call, held to the
    /// schemas) or a function's name (a call of it).
    #[arg(
        long,
        value_name = "CHOICE",
        default_value = "auto",
        requires = "tools"
    )]
    tool_choice: String,
    /// With --tools: at most one call per answer.
    #[arg(long, requires = "tools")]
    one_tool_call: bool,
    /// The prompt text (the user's message with --chat).
    #[arg(required_unless_present = "ids")]
    prompt: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tokenize {
            model,
            special,
            text,
        } => tokenize(&model, special, &text),
        Command::Generate(args) => run_generate(&args),
        Command::Logits {
            model,
            ids,
            out,
            backend,
            threads,
            kv,
        } => logits(&model, &ids, &out, backend, threads, kv),
        Command::Bench(args) => bench::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Info { model } => info(&model),
        Command::Split { model, parts, out } => split(&model, parts, out.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn tokenize(path: &Path, special: bool, text: &str) -> Result<(), String> {
    let gguf = model_file::read_header(path)?;
    let tok = Tokenizer::from_gguf(&gguf.metadata).map_err(|e| e.to_string())?;
    let ids = tok
        .encode(text, tok.add_bos(), special)
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string(&ids).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn load_model(
    path: &Path,
    backend: Backend,
    kv: Kv,
    threads: usize,
) -> Result<(Engine, Tokenizer, hearth_gguf::Gguf), String> {
    let (gguf, bytes) = model_file::read_model(path)?;
    // the architecture is checked first: it is the most telling error
    Config::from_gguf(&gguf).map_err(|e| e.to_string())?;
    let tok = Tokenizer::from_gguf(&gguf.metadata).map_err(|e| e.to_string())?;
    let engine = Engine::load(backend, kv, threads, &gguf, &bytes)?;
    Ok((engine, tok, gguf))
}

/// The tools of `a` for the chat template `template`.
fn tools_of(a: &GenerateArgs, template: &ChatTemplate) -> Result<Option<Tools>, String> {
    let Some(p) = &a.tools else { return Ok(None) };
    let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let tools: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JSON array of tools: {e}", p.display()))?;
    let choice = match a.tool_choice.as_str() {
        "auto" => ToolChoice::Auto,
        "none" => ToolChoice::None,
        "required" => ToolChoice::Required,
        name => ToolChoice::Named(name.to_string()),
    };
    Tools::new(&tools, &choice, !a.one_tool_call, template.source()).map_err(|e| e.to_string())
}

/// The format `a` holds the answer to, read from its files.
fn format_of(a: &GenerateArgs) -> Result<Option<Format>, String> {
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    Ok(if let Some(p) = &a.json_schema {
        let schema = serde_json::from_str(&read(p)?)
            .map_err(|e| format!("{}: not JSON: {e}", p.display()))?;
        Some(Format::JsonSchema(schema))
    } else if a.json_object {
        Some(Format::JsonObject)
    } else if let Some(p) = &a.grammar {
        Some(Format::Lark(read(p)?))
    } else {
        a.regex.clone().map(Format::Regex)
    })
}

fn run_generate(a: &GenerateArgs) -> Result<(), String> {
    let err = |e: hearth_model::ModelError| e.to_string();
    let t0 = Instant::now();
    let (engine, tok, gguf) = load_model(&a.model, a.backend, a.kv, a.threads)?;
    let mut tools = None;
    let prompt_ids = match (&a.ids, &a.prompt) {
        (Some(ids), _) => ids.clone(),
        (None, Some(prompt)) if a.chat => {
            let template = ChatTemplate::from_gguf(&gguf.metadata).map_err(err)?;
            if a.verbose && template.is_fallback() {
                eprintln!("hearth: the model has no chat template; using ChatML");
            }
            tools = tools_of(a, &template)?;
            let mut messages = Vec::new();
            if let Some(system) = &a.system {
                messages.push(Message::system(system.clone()));
            }
            messages.push(Message::user(prompt.clone()));
            let (messages, extra) = match &tools {
                Some(t) => (t.messages(&messages), t.template_extra()),
                None => (messages, serde_json::Map::new()),
            };
            if a.verbose {
                let text = template
                    .render_with(&messages, true, bos_text(&tok), eos_text(&tok), &extra)
                    .map_err(err)?;
                eprintln!("hearth: chat prompt {text:?}");
            }
            encode_chat_with(&template, &tok, &messages, &extra).map_err(err)?
        }
        (None, Some(prompt)) => tok.encode(prompt, tok.add_bos(), true).map_err(err)?,
        (None, None) => return Err("give a PROMPT or --ids".into()),
    };
    if a.verbose {
        eprintln!(
            "hearth: {} ({}) loaded in {:.2}s; prompt of {} tokens",
            engine.describe(),
            engine.why,
            t0.elapsed().as_secs_f64(),
            prompt_ids.len()
        );
    }

    let mut sampler = Sampler::new(SamplerConfig {
        temperature: a.temperature,
        top_k: a.top_k,
        top_p: a.top_p,
        min_p: a.min_p,
        repeat_penalty: a.repeat_penalty,
        seed: a.seed,
        ..SamplerConfig::default()
    })
    .map_err(err)?;
    let stop = StopRule {
        max_tokens: a.max_tokens,
        eog: tok.eog_ids().to_vec(),
        ignore_eos: a.ignore_eos,
    };
    let format = Tools::hold(tools.as_ref(), format_of(a)?).map_err(err)?;
    let mut constraint = match format {
        Some(format) => {
            let t = Instant::now();
            let c = Grammars::new(&tok)
                .and_then(|g| g.compile(&format))
                .map_err(err)?;
            if a.verbose {
                eprintln!(
                    "hearth: {} compiled in {:.1} ms",
                    format.kind(),
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
            Some(c)
        }
        None => None,
    };
    let mut stop_text = StopText::new(&a.stop).map_err(err)?;
    let mut logprobs = a.top_logprobs.map(Logprobs::new).transpose().map_err(err)?;
    let mut stream = StreamDecoder::new(&tok);
    // content streams; from where a tool call may begin, text waits for the end
    let mut calls = tools.as_ref().and_then(Tools::stream);
    let mut stdout = std::io::stdout().lock();
    let t1 = Instant::now();
    let mut t_first = None;
    // room for the prompt and the answer (at least one token, or the prompt fills it)
    let n_ctx = prompt_ids.len() + a.max_tokens.max(1);
    let answer = engine.generate(
        &prompt_ids,
        &mut sampler,
        &stop,
        n_ctx,
        Guide {
            constraint: constraint.as_mut(),
            logprobs: logprobs.as_mut(),
        },
        |id| {
            t_first.get_or_insert_with(Instant::now);
            let mut piece = stop_text.push(&stream.push(id)?);
            if let Some(c) = calls.as_mut() {
                piece = c.push(&piece);
            }
            if !a.json {
                let _ = stdout.write_all(piece.as_bytes());
                let _ = stdout.flush();
            }
            Ok(!stop_text.stopped())
        },
    )?;
    let ids = &answer.ids;
    let mut tail = String::new();
    if !stop_text.stopped() {
        tail = stop_text.push(&stream.finish());
        tail.push_str(&stop_text.finish());
    }
    if let (Some(t), Some(c)) = (&tools, calls.as_mut()) {
        let piece = c.push(&tail);
        tail = piece + &t.finish(c).0;
    }
    // a stop string ends the answer as the model's own end would
    let finish = if stop_text.stopped() {
        Finish::Stop
    } else {
        answer.finish
    };
    let text = tok.decode(ids).map_err(err)?;
    let mut text = stop_text.cut(&text).to_string();
    let mut finish_reason = finish.as_str();
    let mut made = Vec::new();
    if let Some(t) = &tools {
        (text, made) = t.parse(&text);
        if !made.is_empty() {
            finish_reason = "tool_calls";
        }
    }
    let made: Vec<serde_json::Value> = made.iter().map(|c| c.to_openai()).collect();
    if a.json {
        let mut obj = serde_json::json!({
            "prompt_ids": prompt_ids,
            "ids": ids,
            "text": text,
            "finish_reason": finish_reason,
        });
        if tools.is_some() {
            obj["tool_calls"] = made.into();
        }
        if let Some(lp) = &logprobs {
            obj["logprobs"] = lp
                .tokens
                .iter()
                .map(|t| serde_json::json!({"id": t.id, "logprob": t.logprob, "top": t.top}))
                .collect();
        }
        writeln!(stdout, "{obj}").map_err(|e| e.to_string())?;
    } else {
        write!(stdout, "{tail}")
            .and_then(|_| writeln!(stdout))
            .map_err(|e| e.to_string())?;
        // the calls after the content, one JSON object a line
        for c in &made {
            writeln!(stdout, "{c}").map_err(|e| e.to_string())?;
        }
    }
    if a.verbose {
        let end = Instant::now();
        let first = t_first.unwrap_or(end);
        let prefill = (first - t1).as_secs_f64();
        let decode = (end - first).as_secs_f64();
        eprintln!(
            "hearth: prefill {} tokens in {prefill:.2}s; decoded {} tokens at {:.1} tok/s; \
             finish: {}",
            prompt_ids.len(),
            ids.len(),
            ids.len().saturating_sub(1) as f64 / decode.max(1e-9),
            finish_reason
        );
    }
    Ok(())
}

fn bos_text(tok: &Tokenizer) -> &str {
    tok.bos_id().and_then(|id| tok.token_text(id)).unwrap_or("")
}

fn eos_text(tok: &Tokenizer) -> &str {
    tok.eos_id().and_then(|id| tok.token_text(id)).unwrap_or("")
}

fn logits(
    path: &Path,
    ids: &[u32],
    out: &Path,
    backend: Backend,
    threads: usize,
    kv: Kv,
) -> Result<(), String> {
    let (engine, _, _) = load_model(path, backend, kv, threads)?;
    let logits = engine.logits(ids)?;
    let file =
        std::fs::File::create(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    npy::write_f32(
        std::io::BufWriter::new(file),
        &[ids.len(), engine.n_vocab()],
        &logits,
    )
    .map_err(|e| format!("cannot write {}: {e}", out.display()))
}

fn info(path: &Path) -> Result<(), String> {
    let gguf = model_file::read_header(path)?;
    let md = &gguf.metadata;
    let files = model_file::model_files(path);
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let parts = match files.len() {
        1 => String::new(),
        n => format!(" in {n} split files"),
    };
    println!(
        "file:          {} (GGUF v{}, {bytes} bytes{parts})",
        path.display(),
        gguf.version,
    );
    if let Ok(Some(name)) = md.str("general.name") {
        println!("name:          {name}");
    }
    let arch = md
        .str("general.architecture")
        .ok()
        .flatten()
        .unwrap_or("(none)");
    match hearth_model::arch::Arch::from_name(arch) {
        Ok(a) => println!("architecture:  {arch} ({} family)", a.family()),
        Err(_) => println!("architecture:  {arch}"),
    }
    match Config::from_gguf(&gguf) {
        Ok(c) => {
            println!(
                "sizes:         {} layers, embedding {}, {} heads ({} KV) of {}, FFN {}, vocab {}",
                c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_vocab
            );
            println!("context:       {} (trained)", c.n_ctx_train);
            println!(
                "rope:          base {}, {} dims, scale {}{}",
                c.rope_base,
                c.rope_dim,
                c.rope_freq_scale,
                if c.has_rope_freqs {
                    ", frequency factors (Llama 3)"
                } else {
                    ""
                }
            );
            if let Some(w) = c.sliding_window {
                println!(
                    "attention:     sliding window of {w} on the local layers (RoPE base {} there)",
                    c.rope_base_local
                );
            }
            println!("rms eps:       {}", c.rms_eps);
            println!(
                "embeddings:    {}",
                if c.tied_embeddings {
                    "tied (no output.weight)"
                } else {
                    "separate output.weight"
                }
            );
        }
        Err(e) => println!("config:        not runnable: {e}"),
    }
    let params: u64 = gguf.tensors.iter().map(|t| t.n_elements()).sum();
    let bytes: u64 = gguf.tensors.iter().map(|t| t.n_bytes()).sum();
    println!(
        "tensors:       {} ({params} parameters, {bytes} bytes)",
        gguf.tensors.len()
    );
    let mut types: Vec<(String, usize)> = Vec::new();
    for t in &gguf.tensors {
        let name = format!("{:?}", t.ty);
        match types.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => types.push((name, 1)),
        }
    }
    let types: Vec<String> = types.iter().map(|(n, c)| format!("{n} ×{c}")).collect();
    println!("tensor types:  {}", types.join(", "));
    match Tokenizer::from_gguf(md) {
        Ok(tok) => println!(
            "tokenizer:     {} ({} tokens), BOS {:?} EOS {:?}, end tokens {:?}",
            md.str("tokenizer.ggml.model").ok().flatten().unwrap_or("?"),
            tok.vocab_size(),
            tok.bos_id(),
            tok.eos_id(),
            tok.eog_ids()
        ),
        Err(e) => println!("tokenizer:     unusable: {e}"),
    }
    match ChatTemplate::from_gguf(md) {
        Ok(t) if t.is_fallback() => println!("chat template: {}", t.origin()),
        Ok(t) => println!("chat template:\n{}", t.source()),
        Err(e) => println!("chat template: unusable: {e}"),
    }
    match hearth_model::arch::Arch::lacks(&gguf).as_slice() {
        [] => println!("runs:          yes (hearth implements everything this file uses)"),
        lacks => {
            println!("runs:          no; hearth lacks:");
            for l in lacks {
                println!("  - {l}");
            }
        }
    }
    Ok(())
}

fn split(path: &Path, parts: usize, out: Option<&Path>) -> Result<(), String> {
    let (gguf, bytes) = model_file::read_model(path)?;
    let files = hearth_gguf::split::split(&gguf, &bytes, parts).map_err(|e| e.to_string())?;
    let dir = out.or(path.parent()).unwrap_or(Path::new("."));
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    for (name, data) in hearth_gguf::split::split_names(stem, parts)
        .iter()
        .zip(&files)
    {
        let p = dir.join(name);
        std::fs::write(&p, data).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        println!("{} ({} bytes)", p.display(), data.len());
    }
    Ok(())
}

// protocol.d.ts: GENERATED from crates/protocol (Rust, ts-rs): the requests, answers
// Worker messages and tab messages of hearth. `cargo test -p hearth-protocol` checks it;
// HEARTH_BLESS=1 cargo test -p hearth-protocol rewrites it. Do not edit.

import type { ResponseFormat, Tool, ToolChoice, ToolCall, TokenLogprob } from "./hearth";

/** Why an answer ended: "stop": end of generation (or a constrained answer
 * complete); "length": max_tokens or the context's end; "abort": signal;
 * "no_legal_token": the response_format left no token; "tool_calls": the answer
 * called tools (`message.tool_calls`). */
export type FinishReason = "stop" | "length" | "abort" | "no_legal_token" | "tool_calls";

/**
 * One chat message in OpenAI's shape: a role (`system`, `user`, `assistant`, `tool`, …),
 * its text, and for tool use the assistant's calls or the call a `tool` message answers.
 */
export type Message = { 
/**
 * Who speaks: `system`, `user`, `assistant`, `tool` (templates may know other roles).
 */
role: string, 
/**
 * What is said, verbatim. OpenAI's `null` (an assistant turn of calls only) reads as
 * empty, and an array of `{type: "text", text}` parts as their texts joined.
 */
content: string | null | { type: "text"; text: string }[], 
/**
 * The assistant's calls: `[{id, type: "function", function: {name, arguments}}]`,
 * `arguments` a JSON string as OpenAI writes it.
 */
tool_calls?: ToolCall[], 
/**
 * For `role: "tool"`: the id of the call this message answers.
 */
tool_call_id?: string, 
/**
 * For `role: "tool"`: the function's name (some templates print it).
 */
name?: string, };

/**
 * A chat (`messages`) or completion (`prompt`) request.
 */
export type Request = { 
/**
 * OpenAI's messages: roles, text content, `tool_calls`, `tool_call_id`, `name`.
 */
messages?: Array<Message>, 
/**
 * Text, or token ids, for a completion.
 */
prompt?: Prompt, 
/**
 * Chunks as they come (the stream's last chunk carries the finish and usage).
 */
stream?: boolean, 
/**
 * 0 picks the most likely token (greedy, the default).
 */
temperature?: number, top_p?: number, top_k?: number, min_p?: number, repetition_penalty?: number, 
/**
 * Default: what the context has room for.
 */
max_tokens?: number, 
/**
 * Seed of the random draws (default 0): the same seed gives the same tokens.
 */
seed?: number, 
/**
 * Holds the answer to a format (docs/structured-output.md); a schema or grammar the
 * engine rejects is an error before any token.
 */
response_format?: ResponseFormat, 
/**
 * The answer ends before the first of these (a string or up to 4), which is not part
 * of it; finish_reason "stop".
 */
stop?: Stops, 
/**
 * Each answer token's log-probability under the model (before any mask, penalty or
 * temperature), with `top_logprobs` (0..20) alternatives: `choices[0].logprobs` of
 * the whole answer (not of stream chunks).
 */
logprobs?: boolean, top_logprobs?: number, 
/**
 * Functions the model may call (docs/structured-output.md).
 */
tools?: Tool[], 
/**
 * "auto" (the default with tools), "none", "required" or a named function.
 */
tool_choice?: ToolChoice, 
/**
 * Default true: a held answer may make several calls where the format allows.
 */
parallel_tool_calls?: boolean, };

/**
 * OpenAI's `stop`: one string or several.
 */
export type Stops = string | Array<string>;

/**
 * A completion's prompt: text, or token ids.
 */
export type Prompt = string | Array<number>;

/**
 * Tokens of the prompt and the answer.
 */
export type Usage = { prompt_tokens: number, completion_tokens: number, total_tokens: number, 
/**
 * Of the prompt's tokens, those the context already held (an earlier turn's, or a
 * restored snapshot's): OpenAI's name.
 */
prompt_tokens_details: PromptTokensDetails, };

/**
 * [`Usage::prompt_tokens_details`].
 */
export type PromptTokensDetails = { cached_tokens: number, };

/**
 * A chat answer, whole.
 */
export type ChatCompletion = { id: string, object: "chat.completion", created: number, model: string, choices: Array<ChatChoice>, usage: Usage, 
/**
 * hearth's extension: messages left out (oldest turns first; never the system
 * messages or the last turn) for the conversation to fit the context.
 */
dropped_messages: number, };

/**
 * The one choice of a chat answer.
 */
export type ChatChoice = { index: 0, message: AssistantMessage, finish_reason: FinishReason, 
/**
 * hearth's extension: the generated token ids.
 */
token_ids: Array<number>, logprobs: { content: TokenLogprob[] } | null, };

/**
 * The answer's message: `content` is null when the answer is calls only.
 */
export type AssistantMessage = { role: "assistant", content: string | null, tool_calls?: ToolCall[], };

/**
 * One piece of a streamed chat answer; the last has the finish, the usage and any calls.
 */
export type ChatCompletionChunk = { id: string, object: "chat.completion.chunk", created: number, model: string, choices: Array<ChunkChoice>, 
/**
 * On the last chunk.
 */
usage?: Usage, 
/**
 * On the last chunk (hearth's extension, as in [`ChatCompletion`]).
 */
dropped_messages?: number, };

/**
 * A chunk's choice: text in `delta.content`, or on the last the calls and the finish.
 */
export type ChunkChoice = { index: 0, delta: Delta, finish_reason: FinishReason | null, 
/**
 * hearth's extension: the token this piece ends (null for text held back until the
 * end, such as the tail of a stop string's prefix).
 */
token_id?: number | null, };

/**
 * What a chunk adds.
 */
export type Delta = { content?: string, 
/**
 * The answer's calls, whole, each with its `index` (the last chunk).
 */
tool_calls?: (ToolCall & { index: number })[], };

/**
 * A text completion, whole or (`stream`) one piece of it.
 */
export type TextCompletion = { id: string, object: "text_completion", created: number, model: string, choices: Array<TextChoice>, 
/**
 * On a whole answer and on a stream's last piece.
 */
usage?: Usage, };

/**
 * A text completion's choice.
 */
export type TextChoice = { index: 0, text: string, 
/**
 * The tokens of `text` (absent on a stream's last piece).
 */
token_ids?: Array<number>, finish_reason: FinishReason | null, 
/**
 * On a whole answer.
 */
logprobs?: { content: TokenLogprob[] } | null, };

/**
 * How `load` fetches and runs a model (createEngine's options, defaults in hearth.js).
 */
export type LoadOptions = { 
/**
 * Context positions (at most the model's own).
 */
contextLength: number, 
/**
 * Bytes per downloaded chunk.
 */
chunkSize: number, 
/**
 * Chunks fetched at once.
 */
parallel: number, 
/**
 * KV cache type on the GPU.
 */
kv: "auto" | "f32" | "f16", 
/**
 * Which engine runs the model.
 */
backend: "auto" | "gpu" | "cpu", 
/**
 * Bytes the conversations' KV snapshots may take in IndexedDB (snapshots.js; 0:
 * none kept; absent: its default).
 */
snapshotBudget?: number, };

/**
 * A load's progress.
 */
export type Progress = { 
/**
 * "download": bytes fetched into IndexedDB; "load": bytes streamed into the engine.
 */
phase: "download" | "load", loaded: number, total: number, 
/**
 * Bytes per second since the phase began.
 */
rate: number, };

/**
 * Facts about a loaded model and the engine that runs it (`engine.info`).
 */
export type EngineInfo = { name: string, 
/**
 * `general.architecture` ("gemma3").
 */
architecture: string, 
/**
 * Its family ("Gemma 3").
 */
family: string, n_layer: number, n_embd: number, n_vocab: number, n_ctx: number, 
/**
 * The engine that runs the model.
 */
backend: "gpu" | "cpu", 
/**
 * Why that engine: "a hardware WebGPU adapter", "this browser offers no WebGPU
 * adapter", "the WebGPU adapter is a software rasteriser (…)", "asked for".
 */
backend_reason: string, kv_cache: "F32" | "F16", 
/**
 * Weight bytes read per token.
 */
weight_bytes: number, 
/**
 * GPU: the adapter.
 */
adapter?: string, 
/**
 * GPU: the decode matvec: "rowwise" on CPU rasterisers such as SwiftShader,
 * "subgroup" where the adapter has subgroups, else "shared".
 */
matvec?: "rowwise" | "subgroup" | "shared", 
/**
 * GPU: pipelines created at load: every one a chat uses, compiled by the GPU from the
 * load's end on (while the first message is written).
 */
pipelines?: number, 
/**
 * CPU: threads the engine runs on, and why not more.
 */
threads?: number, threads_note?: string, 
/**
 * CPU: the kernels' instruction set ("simd128" in browsers).
 */
isa?: string, 
/**
 * Added by the Worker: wasm memory after loading (its peak: it only grows).
 */
wasm_memory_bytes?: number, 
/**
 * Added by the Worker: where loading took its time, in ms: the wasm module (and its
 * threads), the plan and headers (a download included, on a first visit), the
 * weights from storage into the engine (of which `push`: the engine taking the
 * bytes), and the engine's set-up.
 */
load_ms?: { wasm: number; headers: number; weights: number; push: number; finish: number }, };

/**
 * A message to the Worker. Each has an `id`; its answer carries the same one. The
 * Worker runs the ones that use the engine one at a time, in turn by `tab` (see
 * [`FromWorker::Waiting`]).
 */
export type ToWorker = { "type": "load", id: number, url: string, options: LoadOptions, } | { "type": "chat", id: number, request: Request, tab?: string, } | { "type": "complete", id: number, request: Request, tab?: string, } | { "type": "abort", id: number, target: number, } | { "type": "tokenize", id: number, text: string, } | { "type": "logits", id: number, ids: Array<number>, } | { "type": "list", id: number, } | { "type": "delete", id: number, url: string, } | { "type": "unload", id: number, } | { "type": "lose-device", id: number, };

/**
 * A message from the Worker.
 */
export type FromWorker = { "type": "progress" } & Progress | { "type": "chunk", id: number, json: string, } | { "type": "answer", id: number, json: string, } | { "type": "waiting", id: number, other_tab: boolean, } | { "type": "started", id: number, } | { "type": "alive" } | { "type": "restarted", message: string, } | { "type": "result", id: number, value: unknown, } | { "type": "error", id: number, message: string, name?: string, };

/**
 * A message on the shared channel.
 */
export type TabMessage = { "type": "hello", from: string, } | { "type": "ready", from: string, info: EngineInfo, } | { "type": "progress", from: string, progress: Progress, } | { "type": "failed", from: string, message: string, name?: string, } | { "type": "call", from: string, to: string, call: ToWorker, } | { "type": "reply", to: string, reply: FromWorker, };

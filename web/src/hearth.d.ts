// Types of hearth.js, the JavaScript API of hearth (an engine in a Worker, shaped like the
// OpenAI client).

export interface Progress {
  /** "download": bytes fetched into IndexedDB; "load": bytes streamed to the GPU. */
  phase: "download" | "load";
  loaded: number;
  total: number;
  /** Bytes per second since the phase began. */
  rate: number;
}

export interface EngineOptions {
  /** URL of a GGUF file: a llama, qwen2, qwen3 or gemma3 architecture. */
  model: string;
  onProgress?: (p: Progress) => void;
  /** Context positions (default 2048, at most the model's own). */
  contextLength?: number;
  /** Bytes per downloaded chunk (default 4 MiB). */
  chunkSize?: number;
  /** Chunks fetched at once (default 4). */
  parallel?: number;
  /** KV cache type on the GPU: "auto" (f16 where the GPU has shader-f16), "f32" or "f16". */
  kv?: "auto" | "f32" | "f16";
  /** The engine: "auto" (the default: the GPU on a hardware WebGPU adapter, else the CPU
   * engine), "gpu" (an error without WebGPU) or "cpu". `info.backend` and
   * `info.backend_reason` say which runs and why. */
  backend?: "auto" | "gpu" | "cpu";
  /** Where worker.js is, if not next to hearth.js. */
  workerUrl?: string | URL;
  /** Aborting it stops the download or load (createEngine rejects with an AbortError);
   * the chunks stored so far stay, and the next createEngine resumes from them. */
  signal?: AbortSignal;
}

export interface Sampling {
  /** 0 (the default, as in the CLI) picks the most likely token: greedy. */
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  /** Default: what the context has room for. */
  max_tokens?: number;
  /** Seed of the random draws (default 0): the same seed gives the same tokens. */
  seed?: number;
  /** Holds the answer to a format (docs/structured-output.md); a schema or grammar the
   * engine rejects is an error before any token. */
  response_format?: ResponseFormat;
  /** The answer ends before the first of these (a string or up to 4), which is not part
   * of it; finish_reason "stop". */
  stop?: string | string[];
  /** Return each answer token's log-probability under the model (before any mask,
   * penalty or temperature), with `top_logprobs` (0..20) alternatives: `choices[0].logprobs`
   * of the whole answer (not of stream chunks). */
  logprobs?: boolean;
  top_logprobs?: number;
  signal?: AbortSignal;
}

/** OpenAI's `response_format`, WebLLM's `json_object` with `schema`, and hearth's Lark
 * grammar and regex forms. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object"; schema?: string | object }
  | { type: "json_schema"; json_schema: { name?: string; schema: object; strict?: boolean } }
  | { type: "grammar"; grammar: string }
  | { type: "regex"; regex: string };

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | string;
  /** Text, `null` beside an assistant's calls, or OpenAI's `{type: "text", text}` parts. */
  content: string | null | { type: "text"; text: string }[];
  /** An assistant turn's calls, as an answer gave them. */
  tool_calls?: ToolCall[];
  /** On `role: "tool"`: the call this result answers, and its function's name. */
  tool_call_id?: string;
  name?: string;
}

/** A function the model may call (OpenAI's shape): `parameters` is a JSON Schema. */
export interface Tool {
  type: "function";
  function: { name: string; description?: string; parameters?: object };
}

/** "auto" (the default with tools): the model decides; "none": text only; "required" or a
 * named function: the answer is held to the model's call syntax and the schemas. */
export type ToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

/** A call an answer made: `arguments` is a JSON string (compact) valid for the schema
 * where the call was held. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A chat request's tool fields (docs/structured-output.md). */
export interface ToolOptions {
  tools?: Tool[];
  tool_choice?: ToolChoice;
  /** Default true: a held answer may make several calls where the format allows. */
  parallel_tool_calls?: boolean;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One token of `choices[0].logprobs.content` (OpenAI's shape). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** "stop": end of generation (or a constrained answer complete); "length": max_tokens or
 * the context's end; "abort": signal; "no_legal_token": the response_format left no token;
 * "tool_calls": the answer called tools (`message.tool_calls`). */
export type FinishReason = "stop" | "length" | "abort" | "no_legal_token" | "tool_calls";

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: {
    index: 0;
    /** `content` is null when the answer is calls only. */
    message: { role: "assistant"; content: string | null; tool_calls?: ToolCall[] };
    finish_reason: FinishReason;
    /** hearth's extension: the generated token ids. */
    token_ids: number[];
  }[];
  usage: Usage;
  /** hearth's extension: messages left out (oldest turns first; never the system
   * messages or the last turn) for the conversation to fit the context. */
  dropped_messages: number;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: {
    index: 0;
    /** Content as it comes; the calls, whole, on the last chunk. */
    delta: { content?: string; tool_calls?: (ToolCall & { index: number })[] };
    finish_reason: FinishReason | null;
    token_id?: number | null;
  }[];
  /** On the last chunk. */
  usage?: Usage;
  /** On the last chunk: as ChatCompletion's. */
  dropped_messages?: number;
}

export interface Completion {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  choices: { index: 0; text: string; token_ids: number[]; finish_reason: FinishReason | null }[];
  usage?: Usage;
}

/** A cached model. A split GGUF is one entry, under its first part's URL, with sizes
 * summed over its parts. */
export interface StoredModel {
  url: string;
  /** The file name. */
  name: string;
  /** Its `general.name` ("SmolLM2 135M Instruct"), once its header was read; may be empty. */
  title?: string;
  /** Its `general.architecture` and the family people know ("qwen3", "Qwen3"), once its
   * header was read. */
  architecture?: string;
  family?: string;
  /** Bytes of all its files. */
  size: number;
  /** Bytes stored so far. */
  stored: number;
  /** Every byte of every part is stored. */
  complete: boolean;
  /** How many files: 1, or the N of a split GGUF's `-0000k-of-0000N`. */
  parts: number;
}

export interface EngineInfo {
  name: string;
  /** `general.architecture` ("gemma3") and its family ("Gemma 3"). */
  architecture: string;
  family: string;
  n_layer: number;
  n_embd: number;
  n_vocab: number;
  n_ctx: number;
  /** The engine that runs the model. */
  backend: "gpu" | "cpu";
  /** Why that engine: "a hardware WebGPU adapter", "this browser offers no WebGPU
   * adapter", "the WebGPU adapter is a software rasteriser (…)", "asked for". */
  backend_reason: string;
  /** GPU: the adapter. */
  adapter?: string;
  kv_cache: "F32" | "F16";
  /** GPU: the decode matvec: "rowwise" on CPU rasterisers such as SwiftShader, "subgroup"
   * where the adapter has subgroups, else "shared". */
  matvec?: "rowwise" | "subgroup" | "shared";
  /** GPU: pipelines created at load: every one a chat uses, compiled by the GPU from
   * the load's end on (while the first message is written). */
  pipelines?: number;
  /** CPU: threads the engine runs on, and why not more. */
  threads?: number;
  threads_note?: string;
  /** CPU: the kernels' instruction set ("simd128" in browsers). */
  isa?: string;
  weight_bytes: number;
  /** wasm memory after loading (its peak: it only grows). */
  wasm_memory_bytes: number;
  /** Where loading took its time, in ms: the wasm module (and its threads), the plan and
   * headers (a download included, on a first visit), the weights from storage into the
   * engine (of which `push`: the engine taking the bytes), and the engine's set-up. */
  load_ms: { wasm: number; headers: number; weights: number; push: number; finish: number };
}

export interface Engine {
  info: EngineInfo;
  chat: {
    completions: {
      create(body: Sampling & ToolOptions & { messages: ChatMessage[]; stream?: false }): Promise<ChatCompletion>;
      create(body: Sampling & ToolOptions & { messages: ChatMessage[]; stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
    };
  };
  completions: {
    create(body: Sampling & { prompt: string | number[]; stream?: false }): Promise<Completion>;
    create(body: Sampling & { prompt: string | number[]; stream: true }): Promise<AsyncIterable<Completion>>;
  };
  tokenize(text: string): Promise<number[]>;
  /** hearth's extension: logits after `ids` in a fresh context. */
  logits(ids: number[]): Promise<number[]>;
  models: {
    list(): Promise<StoredModel[]>;
    delete(url: string): Promise<true>;
  };
  unload(): Promise<void>;
}

export function createEngine(options: EngineOptions): Promise<Engine>;

// Types of hearth.js, the JavaScript API of hearth (an engine in a Worker, shaped like the
// OpenAI client). The requests, answers, progress and engine facts are declared once, in
// Rust (crates/protocol), and generated into protocol.d.ts; this file adds the API around
// them and the OpenAI shapes that pass through the engine as JSON.

import type {
  ChatCompletion,
  ChatCompletionChunk,
  EngineInfo,
  FinishReason,
  Message,
  Progress,
  Request,
  TextCompletion,
  Usage,
} from "./protocol";

export type {
  ChatCompletion,
  ChatCompletionChunk,
  EngineInfo,
  FinishReason,
  Progress,
  Request,
  TextCompletion,
  Usage,
};
/** A chat message (protocol.d.ts's Message). */
export type ChatMessage = Message;
/** A text completion, whole or one streamed piece. */
export type Completion = TextCompletion;

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
  /** Called when the engine's Worker ended unexpectedly (a crash, the browser killing it)
   * and a new one took over with the model from IndexedDB; requests under way go on. */
  onRestart?: (message: string) => void;
  /** Bytes the conversations' KV snapshots may take in IndexedDB (default 512 MiB; 0
   * keeps none): after each chat answer the context's keys and values are stored, so that
   * a later request that begins with the same conversation (after a reload too) prefills
   * only what is new; the least recently used go first (docs/web.md). */
  snapshotBudget?: number;
  /** Share the engine with this origin's other instances (tabs, windows, elements) that
   * run the same model with the same backend, KV type and context (default true, where
   * the browser has Web Locks and BroadcastChannel): one of them runs it, the others
   * send it their requests, and when it goes another takes over (docs/web.md). */
  share?: boolean;
  /** Aborting it stops the download or load (createEngine rejects with an AbortError);
   * the chunks stored so far stay, and the next createEngine resumes from them. */
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

/** One token of `choices[0].logprobs.content` (OpenAI's shape). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
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

/** Whether a request waits its turn: the engine answers one request at a time, taking
 * them in turn from each tab; `otherTab`: the one answering now is another tab's (or
 * another instance's). Then `{ waiting: false }` when it starts. */
export type Wait = { waiting: true; otherTab: boolean } | { waiting: false };

/** A chat request: protocol.d.ts's Request with `messages`, a `signal` that stops it
 * (finish_reason "abort") and `onWait` (hearth's). Fields the engine does not know
 * (`model`, …) are ignored. */
export type ChatBody = Omit<Request, "prompt" | "stream"> & {
  messages: Message[];
  signal?: AbortSignal;
  onWait?: (w: Wait) => void;
};
/** A completion request: a `prompt` (text or token ids), sampling, `signal`, `onWait`. */
export type CompletionBody = Omit<Request, "messages" | "tools" | "tool_choice" | "parallel_tool_calls" | "stream"> & {
  prompt: string | number[];
  signal?: AbortSignal;
  onWait?: (w: Wait) => void;
};

export interface Engine {
  info: EngineInfo;
  chat: {
    completions: {
      create(body: ChatBody & { stream?: false }): Promise<ChatCompletion>;
      create(body: ChatBody & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
    };
  };
  completions: {
    create(body: CompletionBody & { stream?: false }): Promise<TextCompletion>;
    create(body: CompletionBody & { stream: true }): Promise<AsyncIterable<TextCompletion>>;
  };
  tokenize(text: string): Promise<number[]>;
  /** hearth's extension: logits after `ids` in a fresh context. */
  logits(ids: number[]): Promise<number[]>;
  models: {
    list(): Promise<StoredModel[]>;
    delete(url: string): Promise<true>;
  };
  /** Leaves the engine: this instance's Worker stops (freeing the GPU), or, when it is
   * shared, the next instance takes it over. */
  unload(): Promise<void>;
}

export function createEngine(options: EngineOptions): Promise<Engine>;

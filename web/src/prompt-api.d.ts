// Types of prompt-api.js: the shape of the browser's built-in LanguageModel (Chrome's
// Prompt API), backed by hearth.
import type { EngineOptions } from "./hearth";

export type Availability = "unavailable" | "downloadable" | "downloading" | "available";

export interface PromptMessage {
  role?: "system" | "user" | "assistant";
  content: string | { type: "text"; value: string }[];
}

export interface CreateOptions {
  initialPrompts?: PromptMessage[];
  /** Both or neither. */
  temperature?: number;
  topK?: number;
  signal?: AbortSignal;
  /** `m.addEventListener("downloadprogress", e => e.loaded)` (0..1). */
  monitor?: (m: EventTarget) => void;
  expectedInputs?: { type: string }[];
  expectedOutputs?: { type: string }[];
}

export interface PromptOptions {
  signal?: AbortSignal;
  /** A JSON Schema or a RegExp the answer is held to. */
  responseConstraint?: object | RegExp;
}

export declare class LanguageModel extends EventTarget {
  static availability(options?: Pick<CreateOptions, "expectedInputs" | "expectedOutputs">): Promise<Availability>;
  static params(): Promise<{ defaultTopK: number; maxTopK: number; defaultTemperature: number; maxTemperature: number }>;
  static create(options?: CreateOptions): Promise<LanguageModel>;
  prompt(input: string | PromptMessage[], options?: PromptOptions): Promise<string>;
  promptStreaming(input: string | PromptMessage[], options?: PromptOptions): ReadableStream<string>;
  append(input: string | PromptMessage[], options?: { signal?: AbortSignal }): Promise<void>;
  measureContextUsage(input: string | PromptMessage[]): Promise<number>;
  readonly contextUsage: number;
  readonly contextWindow: number;
  readonly topK: number;
  readonly temperature: number;
  clone(options?: { signal?: AbortSignal }): Promise<LanguageModel>;
  destroy(): void;
}

/** Which GGUF backs LanguageModel, and createEngine's other options. */
export declare function useModel(url: string, options?: Omit<EngineOptions, "model">): void;

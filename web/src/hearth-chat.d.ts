// Types of hearth-chat.js: importing it defines the <hearth-chat> element.
import type { Engine, EngineInfo, Progress } from "./hearth";

/** The <hearth-chat> element: a whole chat (conversations, settings, models) in a shadow
 * root. Attributes: `model` (a GGUF URL), `system-prompt`, `theme` ("light" | "dark" |
 * "auto"), `backend` ("auto" | "gpu" | "cpu"), `catalog` (the URL of a JSON list of
 * recommended models shown in Models, each marked whether it fits the device). */
export declare class HearthChat extends HTMLElement {
  /** The loaded engine (hearth.js's API), for pages that want it too; null until ready. */
  readonly engine: Engine | null;
}

/** The element's events (bubbling, composed). */
export interface HearthChatEventMap {
  ready: CustomEvent<EngineInfo>;
  progress: CustomEvent<Progress>;
  message: CustomEvent<{ role: "user" | "assistant"; content: string }>;
  error: CustomEvent<{ message: string }>;
}

declare global {
  interface HTMLElementTagNameMap {
    "hearth-chat": HearthChat;
  }
}

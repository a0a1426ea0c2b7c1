// app.js: the chat app's page (index.html): one <hearth-chat> filling the window. A
// ?model=URL in the address picks another GGUF than the default; else the model last
// picked in Models (from the catalog, or by URL) comes back after a reload, while this
// browser still stores it (whole or partly: its download then resumes). Registers the service
// worker (sw.js) that makes the app start offline, and offers a reload when a new
// version of the app has been installed.
import { listStoredModels } from "./store.js";

const LAST = "hearth-last-model";
const chat = document.querySelector("hearth-chat");
const model = new URLSearchParams(location.search).get("model");
if (model) {
  chat?.setAttribute("model", model);
} else {
  const last = localStorage.getItem(LAST);
  if (last && (await listStoredModels().catch(() => [])).some((m) => m.url === last)) chat?.setAttribute("model", last);
}
// a model picked in the app is the one to come back to
new MutationObserver(() => {
  const url = chat.getAttribute("model");
  if (url) localStorage.setItem(LAST, new URL(url, document.baseURI).href);
}).observe(chat, { attributes: true, attributeFilter: ["model"] });
// the element starts once its model is settled
await import("./hearth-chat.js");

function offerUpdate(worker) {
  if (document.querySelector(".update")) return;
  const bar = document.createElement("div");
  bar.className = "update";
  bar.setAttribute("role", "status");
  const text = document.createElement("span");
  text.textContent = "A new version of hearth is ready.";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Reload";
  button.addEventListener("click", () => {
    navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
    worker.postMessage("skip-waiting");
  });
  bar.append(text, button);
  document.body.prepend(bar);
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").then((reg) => {
    const waiting = () => reg.waiting && navigator.serviceWorker.controller && offerUpdate(reg.waiting);
    waiting();
    reg.addEventListener("updatefound", () => {
      reg.installing?.addEventListener("statechange", waiting);
    });
  }, (e) => console.warn("hearth: no service worker:", e));
}

// app.js: the chat app's page (index.html): one <hearth-chat> filling the window. A
// ?model=URL in the address picks another GGUF than the default. Registers the service
// worker (sw.js) that makes the app start offline, and offers a reload when a new
// version of the app has been installed.
const model = new URLSearchParams(location.search).get("model");
if (model) document.querySelector("hearth-chat")?.setAttribute("model", model);

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

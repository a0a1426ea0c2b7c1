// app.js: the chat app's page (index.html): one <hearth-chat> filling the window. A
// ?model=URL in the address picks another GGUF than the default.
const model = new URLSearchParams(location.search).get("model");
if (model) document.querySelector("hearth-chat")?.setAttribute("model", model);

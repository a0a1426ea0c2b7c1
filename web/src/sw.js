// sw.js: the service worker of the app's page. It keeps the app shell (HTML, JS, wasm,
// CSS, manifest, icons) in a cache named after the build's version, so that after one
// visit the app starts with no network at all; the model's weights stay in IndexedDB and
// never pass through here. A new build installs beside the old one and takes over once
// no tab runs the old one (or when a tab asks, after the user agreed to reload): a page
// never mixes two builds' files. scripts/build-web writes VERSION and SHELL.
const VERSION = "__HEARTH_VERSION__";
const SHELL = ["__HEARTH_SHELL__"];
const CACHE = `hearth-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("hearth-shell-") && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // only this origin's shell: models, other origins and other methods go to the network
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(new URL("models/", self.registration.scope).pathname)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // a page's address may carry ?model=…: the page is the same
      const hit = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
      return hit || fetch(request);
    })(),
  );
});

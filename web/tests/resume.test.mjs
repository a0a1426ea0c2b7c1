// A download killed halfway (server killed, tab closed) resumes on the next visit without
// fetching the chunks that were finished; a chunk damaged in IndexedDB is caught by its
// hash and fetched again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile, openApp, ask, watchModelRequests, chunkOf, storedRecord } from "./harness.mjs";

test("a killed download resumes without fetching finished chunks again", async () => {
  const profile = newProfile();
  // slow model responses (1.5 MB/s each), so that the kill lands mid-download
  let server = await serve(["--throttle", "1500000"]);
  const port = server.port;
  try {
    let { context, page } = await browser(profile);
    page.goto(server.url).catch(() => {});
    let record = null;
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 250));
      record = await storedRecord(page).catch(() => null);
      if (record && record.hashes.filter((h) => h).length >= 3) break;
    }
    assert.ok(record, "the download started");
    // killed mid-download: the server dies, then the tab closes
    await server.stop();
    await context.close();

    server = await serve(["--port", String(port)]);
    ({ context, page } = await browser(profile));
    // what the first visit left, read from a page of the same origin before the app runs
    await page.goto(`${server.url}no-such-page`);
    const before = await storedRecord(page);
    const finished = before.hashes.flatMap((h, i) => (h ? [i] : []));
    assert.ok(finished.length >= 3 && finished.length < before.nChunks, `finished: ${finished.length} of ${before.nChunks}`);
    const requests = watchModelRequests(context);
    await openApp(page, server.url);
    assert.equal((await ask(page, "What is the capital of France?")).text, "The capital of France is Paris.");
    const fetched = requests.map((r) => chunkOf(r)).filter((i) => i >= 0);
    const again = fetched.filter((i) => finished.includes(i));
    assert.deepEqual(again, [], "finished chunks were fetched again");
    assert.equal(fetched.length, before.nChunks - finished.length, "each missing chunk fetched once");
    const after = await storedRecord(page);
    assert.equal(after.state, "complete");
    for (const i of finished) assert.equal(after.hashes[i], before.hashes[i]);
    await context.close();
  } finally {
    await server.stop();
    dropProfile(profile);
  }
});

test("a chunk damaged in IndexedDB is detected and fetched again", async () => {
  const profile = newProfile();
  const server = await serve();
  try {
    let { context, page } = await browser(profile);
    await openApp(page, server.url);
    const record = await storedRecord(page);
    // overwrite chunk 5 with zeros of the same length, keeping its recorded hash
    await page.evaluate(
      ({ url }) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open("hearth");
          open.onsuccess = () => {
            const tx = open.result.transaction("chunks", "readwrite");
            const chunks = tx.objectStore("chunks");
            const get = chunks.get([url, 5]);
            get.onsuccess = () => chunks.put({ bytes: new ArrayBuffer(get.result.bytes.byteLength) }, [url, 5]);
            tx.oncomplete = () => resolve();
            tx.onerror = () => reject(tx.error);
          };
        }),
      { url: record.url },
    );
    await context.close();

    ({ context, page } = await browser(profile));
    const requests = watchModelRequests(context);
    await openApp(page, server.url);
    assert.equal((await ask(page, "What is the capital of France?")).text, "The capital of France is Paris.");
    const fetched = requests.map((r) => chunkOf(r)).filter((i) => i >= 0);
    assert.deepEqual(fetched, [5], "only the damaged chunk is fetched again");
    const after = await storedRecord(page);
    assert.equal(after.hashes[5], record.hashes[5]);
    await context.close();
  } finally {
    await server.stop();
    dropProfile(profile);
  }
});

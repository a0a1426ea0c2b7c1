// download.js: a model file fetched in fixed-size chunks into IndexedDB (store.js),
// several at a time, resuming where an earlier visit stopped. The server's size and
// ETag identify the file: when either changes the stored chunks are dropped. A host
// without Range support is read as one streamed GET, cut into the same chunks.

import * as store from "./store.js";

/** Default chunk size: 4 MiB (a few of them are all the memory a load needs). */
export const CHUNK_SIZE = 4 << 20;

/** What a HEAD-like probe tells about a model file. */
async function probe(url, signal) {
  const res = await fetch(url, { headers: { Range: "bytes=0-0" }, signal, cache: "no-store" });
  if (res.status === 206) {
    const range = res.headers.get("Content-Range") || "";
    const m = /\/(\d+)$/.exec(range);
    await res.body?.cancel();
    if (!m) throw new Error(`${url}: the server sent no file size (Content-Range "${range}")`);
    return { size: Number(m[1]), etag: res.headers.get("ETag") || "", ranges: true };
  }
  if (res.ok) {
    const len = res.headers.get("Content-Length");
    await res.body?.cancel();
    if (!len) throw new Error(`${url}: the server sent neither ranges nor a length`);
    return { size: Number(len), etag: res.headers.get("ETag") || "", ranges: false };
  }
  await res.body?.cancel();
  throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
}

/**
 * The stored record of `url`, made or refreshed: reuses stored chunks when the server
 * still has the same file (size and ETag), starts afresh otherwise. Offline, a complete
 * stored copy is used as it is.
 */
export async function plan(url, { chunkSize = CHUNK_SIZE, signal } = {}) {
  const stored = await store.getModel(url);
  let info;
  try {
    info = await probe(url, signal);
  } catch (e) {
    if (stored && stored.state === "complete" && !(e && e.name === "AbortError")) {
      return { record: stored, ranges: false };
    }
    throw e;
  }
  if (stored && stored.size === info.size && stored.etag === info.etag) {
    return { record: stored, ranges: info.ranges };
  }
  if (stored) await store.deleteModel(url);
  const nChunks = Math.ceil(info.size / chunkSize);
  const record = {
    url,
    size: info.size,
    etag: info.etag,
    chunkSize,
    nChunks,
    hashes: new Array(nChunks).fill(null),
    state: nChunks === 0 ? "complete" : "partial",
    name: url.split("/").pop(),
    storedAt: Date.now(),
  };
  await store.putModel(record);
  return { record, ranges: info.ranges };
}

/** A clear error for a full quota: how many bytes are still needed. */
async function quotaError(record, e) {
  const missing = record.hashes.filter((h) => !h).length * record.chunkSize;
  let detail = "";
  if (navigator.storage && navigator.storage.estimate) {
    const { usage, quota } = await navigator.storage.estimate();
    detail = ` (${usage} of ${quota} bytes in use)`;
  }
  const err = new Error(
    `not enough storage for ${record.url}: about ${missing} more bytes are needed${detail}; ` +
      "what was downloaded is kept, and the download resumes once space is freed",
  );
  err.name = "QuotaExceededError";
  err.cause = e;
  return err;
}

async function storeChunk(record, index, bytes) {
  const hash = await store.sha256(bytes);
  try {
    await store.putChunk(record.url, index, bytes, hash);
  } catch (e) {
    if (e && e.name === "QuotaExceededError") throw await quotaError(record, e);
    throw e;
  }
  record.hashes[index] = hash;
}

/** Fetches chunk `index` with one Range request, retrying a dropped connection. */
async function fetchChunk(record, index, signal, tries = 3) {
  const start = index * record.chunkSize;
  const end = Math.min(start + record.chunkSize, record.size) - 1;
  for (let attempt = 1; ; attempt++) {
    try {
      const headers = { Range: `bytes=${start}-${end}` };
      if (record.etag) headers["If-Range"] = record.etag;
      const res = await fetch(record.url, { headers, signal, cache: "no-store" });
      if (res.status !== 206) {
        await res.body?.cancel();
        if (res.status === 200) throw new Error(`${record.url} changed on the server; reload to fetch it again`);
        throw new Error(`${record.url}: HTTP ${res.status} for bytes ${start}-${end}`);
      }
      const bytes = await res.arrayBuffer();
      if (bytes.byteLength !== end - start + 1) {
        throw new Error(`${record.url}: ${bytes.byteLength} bytes for a chunk of ${end - start + 1}`);
      }
      return bytes;
    } catch (e) {
      if (signal?.aborted || attempt >= tries || /changed on the server/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/**
 * Downloads every missing chunk of `record` (or those of `only`), `parallel` at a time,
 * calling `onChunk(index, bytes)` as each is stored. With `ranges` false, one GET streams
 * the file.
 */
export async function fetchMissing(record, { ranges = true, parallel = 4, signal, onChunk, only } = {}) {
  const missing = [];
  record.hashes.forEach((h, i) => h || (only && !only.includes(i)) || missing.push(i));
  if (missing.length === 0) return;
  if (!ranges) return streamWhole(record, { signal, onChunk });
  let next = 0;
  const worker = async () => {
    while (next < missing.length) {
      const index = missing[next++];
      const bytes = await fetchChunk(record, index, signal);
      await storeChunk(record, index, bytes);
      onChunk?.(index, bytes.byteLength);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, missing.length) }, worker));
}

/** One streamed GET cut into chunks as it arrives; chunks already stored are skipped. */
async function streamWhole(record, { signal, onChunk }) {
  const res = await fetch(record.url, { signal, cache: "no-store" });
  if (!res.ok) throw new Error(`${record.url}: HTTP ${res.status} ${res.statusText}`);
  const reader = res.body.getReader();
  let index = 0;
  let buf = new Uint8Array(record.chunkSize);
  let fill = 0;
  const want = (i) => Math.min(record.chunkSize, record.size - i * record.chunkSize);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let v = value;
    while (v.length > 0) {
      const take = Math.min(v.length, want(index) - fill);
      buf.set(v.subarray(0, take), fill);
      fill += take;
      v = v.subarray(take);
      if (fill === want(index)) {
        if (!record.hashes[index]) {
          const bytes = buf.slice(0, fill).buffer;
          await storeChunk(record, index, bytes);
          onChunk?.(index, fill);
        }
        index++;
        fill = 0;
        if (index >= record.nChunks) break;
      }
    }
  }
  if (index < record.nChunks) {
    throw new Error(`${record.url}: the server sent ${index * record.chunkSize + fill} of ${record.size} bytes`);
  }
}

/**
 * The bytes of chunk `index`, checked against the hash recorded when it was stored; a
 * chunk that fails the check (or is missing) is fetched again.
 */
export async function readChunk(record, index, { ranges = true, signal } = {}) {
  const bytes = await store.getChunk(record.url, index);
  if (bytes && record.hashes[index] && (await store.sha256(bytes)) === record.hashes[index]) {
    return { bytes, refetched: false };
  }
  await store.dropChunk(record.url, index);
  record.hashes[index] = null;
  if (!ranges) throw new Error(`${record.url}: chunk ${index} is damaged and the host cannot send it alone`);
  const fresh = await fetchChunk(record, index, signal);
  await storeChunk(record, index, fresh);
  return { bytes: fresh, refetched: true };
}

// store.js: the IndexedDB database `hearth`. Stores:
//   models:  { url, size, etag, chunkSize, nChunks, hashes: [hex | null], state, name,
//              storedAt, title, architecture, family } keyed by url. state: "partial"
//              until every chunk is stored; the last three once the header was read.
//   chunks:  { bytes: ArrayBuffer } keyed by [url, index].
//   conversations: { id, title, model, messages: [{role, content}], settings: {system,
//              temperature, …}, createdAt, updatedAt } keyed by id (the chat app's).
//   snapshots: { id, engine, model, from, to, hash, ids: [id], sum, size, usedAt } keyed
//              by id: a span of a context's KV cache (snapshots.js); indexes `start`
//              ([engine, from]) and `model`.
//   snapshotBytes: { bytes: ArrayBuffer } keyed by the snapshot's id.
// A chunk counts only once its bytes and its SHA-256 are written in one transaction, so
// an interrupted download never leaves a chunk that looks finished but is not.

const DB_NAME = "hearth";
const STORES = ["models", "chunks", "conversations", "snapshots", "snapshotBytes"];

let dbPromise = null;

function open(version) {
  return new Promise((resolve, reject) => {
    const req = version ? indexedDB.open(DB_NAME, version) : indexedDB.open(DB_NAME);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("models")) db.createObjectStore("models", { keyPath: "url" });
      if (!db.objectStoreNames.contains("chunks")) db.createObjectStore("chunks");
      if (!db.objectStoreNames.contains("conversations")) {
        db.createObjectStore("conversations", { keyPath: "id" });
      }
      if (!db.objectStoreNames.contains("snapshots")) {
        const snapshots = db.createObjectStore("snapshots", { keyPath: "id" });
        snapshots.createIndex("start", ["engine", "from"]);
        snapshots.createIndex("model", "model");
      }
      if (!db.objectStoreNames.contains("snapshotBytes")) db.createObjectStore("snapshotBytes");
    };
    req.onsuccess = () => {
      // a newer build in another tab upgrades the database: let it, and open again later
      req.result.onversionchange = () => {
        req.result.close();
        dbPromise = null;
      };
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the hearth database is held open in an older version by another tab"));
  });
}

/** Opens (and on first use creates) the database, adding any store it lacks. */
export function openDb() {
  if (!dbPromise) {
    dbPromise = (async () => {
      const db = await open();
      if (STORES.every((s) => db.objectStoreNames.contains(s))) return db;
      // a database made without our stores (by an older build or another script)
      const version = db.version + 1;
      db.close();
      return open(version);
    })();
    dbPromise.catch(() => (dbPromise = null));
  }
  return dbPromise;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** The record of `url`, or undefined. */
export async function getModel(url) {
  const db = await openDb();
  return request(db.transaction("models").objectStore("models").get(url));
}

/** Writes a model record (a new download plan, or a changed state). */
export async function putModel(record) {
  const db = await openDb();
  const tx = db.transaction("models", "readwrite");
  tx.objectStore("models").put(record);
  await done(tx);
}

/** Every model record. */
export async function listModels() {
  const db = await openDb();
  return request(db.transaction("models").objectStore("models").getAll());
}

/** Deletes a model's record and all its chunks. */
export async function deleteModel(url) {
  const db = await openDb();
  const tx = db.transaction(["models", "chunks"], "readwrite");
  tx.objectStore("models").delete(url);
  tx.objectStore("chunks").delete(IDBKeyRange.bound([url, 0], [url, Infinity]));
  await done(tx);
}

/** Stores chunk `index` of `url` and records its hash, atomically. */
export async function putChunk(url, index, bytes, hash) {
  const db = await openDb();
  const tx = db.transaction(["models", "chunks"], "readwrite");
  const models = tx.objectStore("models");
  const record = await request(models.get(url));
  if (!record) {
    tx.abort();
    throw new Error(`${url}: the download was cancelled`);
  }
  tx.objectStore("chunks").put({ bytes }, [url, index]);
  record.hashes[index] = hash;
  if (record.hashes.every((h) => h)) record.state = "complete";
  models.put(record);
  await done(tx);
}

/** Records what a model's header says ({title, architecture, family}) on its record,
 * in one transaction (chunks may be stored meanwhile); nothing without a record. */
export async function describeModel(url, facts) {
  const db = await openDb();
  const tx = db.transaction("models", "readwrite");
  const models = tx.objectStore("models");
  const record = await request(models.get(url));
  if (record) models.put({ ...record, ...facts });
  await done(tx);
}

/** The bytes of chunk `index` of `url` (an ArrayBuffer), or undefined. */
export async function getChunk(url, index) {
  const db = await openDb();
  const row = await request(db.transaction("chunks").objectStore("chunks").get([url, index]));
  return row ? row.bytes : undefined;
}

/** Forgets chunk `index` (its bytes did not match their hash). */
export async function dropChunk(url, index) {
  const db = await openDb();
  const tx = db.transaction(["models", "chunks"], "readwrite");
  const models = tx.objectStore("models");
  const record = await request(models.get(url));
  tx.objectStore("chunks").delete([url, index]);
  if (record) {
    record.hashes[index] = null;
    record.state = "partial";
    models.put(record);
  }
  await done(tx);
}

/** Every conversation, newest change first. */
export async function listConversations() {
  const db = await openDb();
  const all = await request(db.transaction("conversations").objectStore("conversations").getAll());
  return all.sort((a, b) => (b.updatedAt || 0) - (a.updatedAt || 0));
}

/** Writes a conversation (a new one, or a changed one under its id). */
export async function putConversation(record) {
  const db = await openDb();
  const tx = db.transaction("conversations", "readwrite");
  tx.objectStore("conversations").put(record);
  await done(tx);
}

/** Deletes the conversation `id`. */
export async function deleteConversation(id) {
  const db = await openDb();
  const tx = db.transaction("conversations", "readwrite");
  tx.objectStore("conversations").delete(id);
  await done(tx);
}

/** Lowercase hex SHA-256 of `bytes`. */
export async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The URLs of a model's files: the one file, or every part of a split GGUF. */
export function partUrls(url) {
  const m = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/.exec(url);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > Number(m[3])) return [url];
  const n = Number(m[3]);
  return Array.from({ length: n }, (_, k) => `${m[1]}-${String(k + 1).padStart(5, "0")}-of-${m[3]}.gguf`);
}

function describe(r) {
  const stored = r.hashes.reduce((n, h, i) => n + (h ? Math.min(r.chunkSize, r.size - i * r.chunkSize) : 0), 0);
  return {
    url: r.url,
    name: r.name,
    title: r.title,
    architecture: r.architecture,
    family: r.family,
    size: r.size,
    stored,
    complete: r.state === "complete",
    parts: 1,
  };
}

/** Stored records as models: the parts of a split GGUF are one model, under the URL of
 * its first part, complete when every part is stored. */
function listed(records) {
  const models = new Map();
  for (const r of records) {
    const urls = partUrls(r.url);
    const key = urls[0];
    const d = describe(r);
    const m = models.get(key);
    if (!m) {
      models.set(key, { ...d, url: key, parts: urls.length, seen: 1 });
    } else {
      m.size += d.size;
      m.stored += d.stored;
      m.complete &&= d.complete;
      m.seen += 1;
      if (r.url === key) Object.assign(m, { name: d.name, title: d.title, architecture: d.architecture, family: d.family });
    }
  }
  return [...models.values()].map(({ seen, ...m }) => ({ ...m, complete: m.complete && seen === m.parts }));
}

/** The stored models as models (a split GGUF's parts as one): {url, name, title,
 * architecture, family, size, stored, complete, parts}. */
export async function listStoredModels() {
  return listed(await listModels());
}

/** Deletes a stored model: every part of a split GGUF, and its KV snapshots. */
export async function deleteStoredModel(url) {
  for (const u of partUrls(url)) await deleteModel(u);
  const ids = (await snapshotsWhere("model", url)).map((m) => m.id);
  await deleteSnapshots(ids);
}

/** Writes a KV snapshot span: its record and its bytes, in one transaction. */
export async function putSnapshot(meta, bytes) {
  const db = await openDb();
  const tx = db.transaction(["snapshots", "snapshotBytes"], "readwrite");
  tx.objectStore("snapshots").put(meta);
  tx.objectStore("snapshotBytes").put({ bytes }, meta.id);
  await done(tx);
}

/** The record of snapshot `id`, or undefined. */
export async function getSnapshot(id) {
  const db = await openDb();
  return request(db.transaction("snapshots").objectStore("snapshots").get(id));
}

/** The bytes of snapshot `id` (an ArrayBuffer), or undefined. */
export async function getSnapshotBytes(id) {
  const db = await openDb();
  const row = await request(db.transaction("snapshotBytes").objectStore("snapshotBytes").get(id));
  return row ? row.bytes : undefined;
}

/** The snapshot records of index `index` ("start": [engine, from]; "model": url) at `key`,
 * or every record without an index. */
export async function snapshotsWhere(index, key) {
  const db = await openDb();
  const all = db.transaction("snapshots").objectStore("snapshots");
  return request(index ? all.index(index).getAll(key) : all.getAll());
}

/** Marks snapshot `id` used now (the store forgets the least recently used first). */
export async function touchSnapshot(id) {
  const db = await openDb();
  const tx = db.transaction("snapshots", "readwrite");
  const store = tx.objectStore("snapshots");
  const meta = await request(store.get(id));
  if (meta) store.put({ ...meta, usedAt: Date.now() });
  await done(tx);
}

/** Deletes snapshots by id. */
export async function deleteSnapshots(ids) {
  if (!ids.length) return;
  const db = await openDb();
  const tx = db.transaction(["snapshots", "snapshotBytes"], "readwrite");
  for (const id of ids) {
    tx.objectStore("snapshots").delete(id);
    tx.objectStore("snapshotBytes").delete(id);
  }
  await done(tx);
}

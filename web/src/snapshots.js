// snapshots.js: the KV cache of conversations kept in IndexedDB (the Worker's), so that
// reopening a saved conversation after a reload prefills only the new turn. After each
// chat answer the context's positions are saved in spans: every whole SPAN positions
// ([k·SPAN, (k+1)·SPAN)) and the tail after the last whole one, each keyed by the engine
// (model URL and file, backend, KV type, bytes per position) and the SHA-256 of the token
// ids from position 0 to its end, so spans shared by conversations (a system prompt, an
// earlier turn) are stored once. Before a chat, the longest chain of spans that begins its
// prompt is put back (engine.restore_kv, hearth_model::kv_snapshot). Each span's bytes
// carry their SHA-256: one that does not match (or does not fit) is deleted and what
// follows it prefilled, never used. The store holds at most `budget` bytes, the least
// recently used spans going first; it counts in the browser's storage numbers like the
// models. Records: store.js's `snapshots` and `snapshotBytes`.
import * as store from "./store.js";

/** Positions per whole span. */
export const SPAN = 256;
/** Bytes the store holds at most, by default. */
export const BUDGET = 512 * 1024 * 1024;

const u32bytes = (ids, n) => new Uint8Array(ids.buffer, ids.byteOffset, n * 4);

/** The key of the span ending at `to` of `ids`: the engine, and the ids before `to`. */
async function spanId(engine, ids, to) {
  const head = new TextEncoder().encode(`${engine}\n`);
  const all = new Uint8Array(head.length + to * 4);
  all.set(head);
  all.set(u32bytes(ids, to), head.length);
  return `${engine} ${await store.sha256(all)}`;
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Puts back the longest chain of stored spans that begins the chat request's prompt
 * and reaches past what the context already holds. Resolves to the positions put back. */
export async function restore(engine, tag, request) {
  const prompt = Uint32Array.from(engine.chat_prompt_ids(request));
  const held = engine.held_ids();
  let common = 0;
  while (common < held.length && common < prompt.length && held[common] === prompt[common]) common++;
  // (the last prompt id is left to run: it gives the first answer token)
  const limit = prompt.length - 1;
  const chain = [];
  for (let at = 0; at < limit; ) {
    const spans = (await store.snapshotsWhere("start", [tag, at])).filter((s) => s.to <= limit && s.to > at).sort((a, b) => b.to - a.to);
    let next = null;
    for (const s of spans) {
      if (same(s.ids, prompt.subarray(at, s.to)) && s.id === (await spanId(tag, prompt, s.to))) {
        next = s;
        break;
      }
    }
    if (!next) break;
    chain.push(next);
    at = next.to;
  }
  const reach = chain.length ? chain[chain.length - 1].to : 0;
  if (reach <= common) return 0;
  let restored = 0;
  for (const s of chain) {
    if (s.to <= common) continue;
    const bytes = await store.getSnapshotBytes(s.id);
    const ok = bytes && bytes.byteLength === s.size && (await store.sha256(bytes)) === s.sum;
    if (ok) {
      try {
        engine.restore_kv(s.from, Uint32Array.from(s.ids), new Uint8Array(bytes));
        restored = s.to;
        store.touchSnapshot(s.id).catch(() => {});
        continue;
      } catch (e) {
        console.warn(`hearth: a KV snapshot did not fit the engine: ${e.message}`);
      }
    }
    // damaged or not this engine's: gone, and the rest of the prompt is prefilled
    await store.deleteSnapshots([s.id]);
    break;
  }
  return restored;
}

/** Saves the spans of what the context holds that are not stored yet, then keeps the
 * store within `budget` bytes. `last` is what the previous save left (its tail, which a
 * longer one replaces); resolves to what this one leaves. */
export async function save(engine, tag, model, budget = BUDGET, last = null) {
  if (budget <= 0) return null;
  const held = Uint32Array.from(engine.held_ids());
  const n = held.length;
  const spans = [];
  for (let from = 0; from < n; from += SPAN) spans.push([from, Math.min(from + SPAN, n)]);
  let tail = null;
  for (const [from, to] of spans) {
    const id = await spanId(tag, held, to);
    if (to - from < SPAN) tail = { id, to };
    if (await store.getSnapshot(id)) continue;
    const bytes = await engine.export_kv(from, to);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const meta = { id, engine: tag, model, from, to, ids: Array.from(held.subarray(from, to)), sum: await store.sha256(buffer), size: buffer.byteLength, usedAt: Date.now() };
    await store.putSnapshot(meta, buffer);
  }
  // the previous tail, now inside a longer span of the same conversation, goes
  if (last && last.id !== tail?.id && last.to < n && last.id === (await spanId(tag, held, last.to))) {
    await store.deleteSnapshots([last.id]);
  }
  await trim(budget);
  return tail;
}

/** Deletes the least recently used spans until the store holds at most `budget` bytes. */
export async function trim(budget) {
  const all = (await store.snapshotsWhere()).sort((a, b) => a.usedAt - b.usedAt);
  let total = all.reduce((t, s) => t + s.size, 0);
  const gone = [];
  for (const s of all) {
    if (total <= budget) break;
    gone.push(s.id);
    total -= s.size;
  }
  await store.deleteSnapshots(gone);
}

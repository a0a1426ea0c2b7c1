// kv_store.wgsl: not written yet.

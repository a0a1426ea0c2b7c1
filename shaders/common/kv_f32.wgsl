// kv_f32.wgsl: the KV cache in f32. A KvVec4 holds four consecutive values of a cache row;
// kv_pack and kv_unpack are the identity. Spliced by `#include kv` when the session's cache
// is f32 (kv_f16.wgsl is the other choice, with the same API).

alias KvVec4 = vec4<f32>;

fn kv_pack(v: vec4<f32>) -> KvVec4 {
    return v;
}

fn kv_unpack(v: KvVec4) -> vec4<f32> {
    return v;
}

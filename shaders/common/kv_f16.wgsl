// kv_f16.wgsl: the KV cache in f16, half the memory and half the reads of kv_f32.wgsl,
// with the same API. A KvVec4 holds four consecutive values of a cache row as two words of
// two f16 each (value 2i in the low half of word i). kv_pack rounds each f32 to f16
// (pack2x16float); kv_unpack widens exactly. Needs no shader-f16: the words are u32.

alias KvVec4 = vec2<u32>;

fn kv_pack(v: vec4<f32>) -> KvVec4 {
    return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));
}

fn kv_unpack(v: KvVec4) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y));
}

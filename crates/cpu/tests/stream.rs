//! The CPU engine's streaming loader (what the browser feeds from IndexedDB chunks): a
//! model pushed in uneven pieces equals the model loaded from the whole file, and a model
//! that cannot fit the memory is refused from its header alone, naming both sizes.

use hearth_cpu::{CpuLoader, CpuModel, CpuSession, kv_bytes};
use hearth_gguf::Gguf;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
fn fixture(name: &str) -> Vec<u8> {
    let p = root().join("tests/fixtures").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
/// The real model; missing is a failure (run scripts/fetch-model), never a skip.
fn real_model() -> Vec<u8> {
    let p = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}: run scripts/fetch-model", p.display()))
}

/// The header as the browser has it: the file's first 4 MiB chunk (or all of a small file).
fn header(bytes: &[u8]) -> Gguf {
    let prefix = &bytes[..bytes.len().min(4 << 20)];
    Gguf::read_header(prefix, bytes.len() as u64).unwrap()
}

#[test]
fn a_model_pushed_in_pieces_equals_the_whole_file() {
    let bytes = fixture("reference/tiny-llama3.gguf");
    let mut loader = CpuLoader::new_split(vec![header(&bytes)], 64, u64::MAX, 2).unwrap();
    let need = loader.needed(0);
    assert!(need.start > 0 && need.end <= bytes.len() as u64);
    // uneven pieces from the start of the file, one of them sent twice
    let mut at = 0usize;
    for (i, len) in [1000usize, 7, 4096, 333].into_iter().cycle().enumerate() {
        if at >= bytes.len() {
            break;
        }
        let end = (at + len).min(bytes.len());
        loader.push(0, at as u64, &bytes[at..end]).unwrap();
        if i == 2 {
            loader.push(0, at as u64, &bytes[at..end]).unwrap();
        }
        assert_eq!(loader.is_complete(), end as u64 >= need.end);
        at = end;
    }
    let streamed = loader.finish().unwrap();
    let whole = CpuModel::load(&Gguf::read(&bytes).unwrap(), &bytes, 2).unwrap();
    let tokens = [5u32, 17, 250, 3, 99, 42];
    let a = CpuSession::new(&streamed, 16).forward_all(&tokens).unwrap();
    let b = CpuSession::new(&whole, 16).forward_all(&tokens).unwrap();
    assert_eq!(a, b);
}

#[test]
fn incomplete_or_out_of_order_bytes_are_errors() {
    let bytes = fixture("reference/tiny-llama3.gguf");
    let mut loader = CpuLoader::new_split(vec![header(&bytes)], 64, u64::MAX, 1).unwrap();
    let need = loader.needed(0);
    let mid = ((need.start + need.end) / 2) as usize;
    let err = loader.push(0, mid as u64, &bytes[mid..]).unwrap_err();
    assert!(err.to_string().contains("arrived before"), "{err}");
    assert!(loader.push(3, 0, &bytes).is_err(), "there is no file 3");
    let err = loader.finish().err().expect("incomplete").to_string();
    assert!(err.contains("not all arrived"), "{err}");
}

#[test]
fn a_model_too_large_for_the_memory_is_refused_from_its_header() {
    let bytes = real_model();
    let gguf = header(&bytes);
    let config = hearth_model::Config::from_gguf(&gguf).unwrap();
    let n_ctx = 2048;
    // what the load needs: the tensors' bytes and the f32 KV cache
    let weights: u64 = gguf.tensors.iter().map(|t| t.n_bytes()).sum();
    let need = weights + kv_bytes(&config, n_ctx);
    assert_eq!(kv_bytes(&config, n_ctx), 2 * 4 * 2048 * 192 * 30);

    let limit = need - 1;
    let err = CpuLoader::new_split(vec![gguf.clone()], n_ctx, limit, 1)
        .err()
        .expect("one byte short is refused")
        .to_string();
    let (need_mb, limit_mb) = (need >> 20, limit >> 20);
    assert!(
        err.contains(&format!("needs {need_mb} MB")) && err.contains(&format!("has {limit_mb} MB")),
        "{err}"
    );
    assert!(CpuLoader::new_split(vec![gguf], n_ctx, need, 1).is_ok());
}

/// `bytes` rewritten with one more tensor, `extra` (f32 values `dims`).
fn with_tensor(bytes: &[u8], extra: &str, dims: &[u64]) -> Vec<u8> {
    let gguf = Gguf::read(bytes).unwrap();
    let mut w = hearth_gguf::GgufWriter::new();
    for (k, v) in &gguf.metadata.0 {
        if k != "general.alignment" {
            w.add_metadata(k.clone(), v.clone()).unwrap();
        }
    }
    for t in &gguf.tensors {
        let data = gguf.tensor_data(bytes, &t.name).unwrap();
        w.add_tensor(t.name.clone(), &t.dims, t.ty, data).unwrap();
    }
    let n: u64 = dims.iter().product();
    w.add_f32_tensor(extra, dims, &vec![0.5; n as usize])
        .unwrap();
    w.finish()
}

#[test]
fn tensors_the_architecture_does_not_implement_are_refused_by_every_loader() {
    // a Qwen2-style q bias in an otherwise valid llama model: running it without the bias
    // would be silently wrong, so the reference, the CPU engine and its streaming loader
    // all refuse it, naming the tensor
    let plain = fixture("reference/tiny-llama3.gguf");
    let q_dim = {
        let g = Gguf::read(&plain).unwrap();
        hearth_model::Config::from_gguf(&g).unwrap().q_dim() as u64
    };
    let bytes = with_tensor(&plain, "blk.0.attn_q.bias", &[q_dim]);
    let gguf = Gguf::read(&bytes).unwrap();
    let named = |e: String| assert!(e.contains("\"blk.0.attn_q.bias\""), "{e}");
    named(hearth_model::Model::load(&bytes).unwrap_err().to_string());
    named(CpuModel::load(&gguf, &bytes, 1).err().unwrap().to_string());
    named(
        CpuLoader::new_split(vec![header(&bytes)], 16, u64::MAX, 1)
            .err()
            .unwrap()
            .to_string(),
    );
    // the same file without the extra tensor loads (the refusal is the bias, not the copy)
    let again = with_tensor(&plain, "blk.0.unused_extra", &[4]);
    CpuModel::load(&Gguf::read(&again).unwrap(), &again, 1).unwrap();
}

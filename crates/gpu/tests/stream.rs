//! `StreamLoader` (the browser's way in: the file's bytes pushed in order, in pieces)
//! against `GpuModel::load` of the whole file: the same weights on the GPU, so the same
//! logits bit for bit, whatever the piece sizes; and its errors.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Rng, gpu};
use hearth_gguf::Gguf;
use hearth_gpu::kernels::KvType;
use hearth_gpu::{FileBytes, Gpu, GpuModel, Session, StreamLoader};

fn fixture(name: &str) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = match name {
        "smollm2" => root.join("models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        other => root.join("tests/fixtures/reference").join(other),
    };
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/fetch-model?)", path.display()))
}

/// A GPU whose sessions use an f32 KV cache (the exact path).
fn gpu_f32() -> Gpu {
    let mut g = gpu();
    g.kv_type = KvType::F32;
    g
}

/// The model loaded from the whole file at once, the reference of these tests.
fn load_whole(gguf: &Gguf, file: &[u8]) -> GpuModel {
    GpuModel::load(gpu_f32(), gguf, &FileBytes { gguf, file }).unwrap()
}

fn logits(model: &GpuModel, tokens: &[u32]) -> Vec<f32> {
    let mut s = Session::new(model, tokens.len(), 8).unwrap();
    pollster::block_on(s.logits_all(tokens)).unwrap()
}

/// Pushes `file` from byte `from` on in pieces of random sizes up to `max_piece`; every
/// third piece starts up to 100 bytes before the previous one's end (overlap is skipped).
fn stream(file: &[u8], max_piece: usize, seed: u64) -> GpuModel {
    let header = Gguf::read(file).unwrap();
    let mut loader = StreamLoader::new(gpu_f32(), header).unwrap();
    let mut rng = Rng::new(seed);
    let mut at = 0u64;
    let mut n = 0u64;
    while !loader.is_complete() {
        let back = if n % 3 == 2 { rng.next_u64() % 100 } else { 0 };
        let start = at.saturating_sub(back);
        let len = 1 + (rng.next_u64() % max_piece as u64);
        let end = (start + len).min(file.len() as u64);
        loader
            .push(0, start, &file[start as usize..end as usize])
            .unwrap();
        at = at.max(end);
        n += 1;
    }
    loader.finish().unwrap()
}

fn check(name: &str, max_pieces: &[usize]) {
    let file = fixture(name);
    let gguf = Gguf::read(&file).unwrap();
    let whole = load_whole(&gguf, &file);
    let tokens: Vec<u32> = (0..6)
        .map(|i| (i * 37 + 1) % whole.config.n_vocab as u32)
        .collect();
    let want = logits(&whole, &tokens);
    for (i, &max_piece) in max_pieces.iter().enumerate() {
        let got = logits(&stream(&file, max_piece, i as u64), &tokens);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}: streamed in pieces of up to {max_piece} bytes, the logits differ"
        );
    }
}

#[test]
fn tiny_models_stream_in_any_pieces() {
    // llama3: GQA, untied, rope_freqs, mixed formats; mha-tied: tied embeddings
    check("tiny-llama3.gguf", &[3, 61, 4096, 1 << 20]);
    check("tiny-mha-tied.gguf", &[5, 1000, 1 << 16]);
}

#[test]
fn smollm2_streams_in_chunks() {
    check("smollm2", &[(4 << 20) + 3, 1 << 16]);
}

#[test]
fn bad_streams_are_errors() {
    let file = fixture("tiny-llama3.gguf");
    let header = || Gguf::read(&file).unwrap();
    let mut loader = StreamLoader::new(gpu(), header()).unwrap();
    let needed = loader.needed(0);
    assert!(needed.start >= header().data_start && needed.end <= file.len() as u64);
    // a gap
    let mid = (needed.start + needed.end) / 2;
    assert!(loader.push(0, mid, &file[mid as usize..]).is_err());
    // stopping halfway
    loader
        .push(0, 0, &file[..mid as usize])
        .expect("bytes from the start");
    // a file the model does not have
    assert!(loader.push(1, 0, &file[..10]).is_err());
    assert!(!loader.is_complete());
    let err = loader
        .finish()
        .err()
        .expect("an incomplete model is an error");
    assert!(err.to_string().contains("incomplete"), "{err}");
}

/// A context whose KV cache cannot fit one binding is refused while only the header is
/// A model trained on fewer positions than the load's pipeline warm-up records (crate::warm)
/// still loads and runs: the warm-up's calls fit the model's context.
#[test]
fn a_model_with_a_tiny_context_loads() {
    let file = fixture("tiny-llama3.gguf");
    let mut header = Gguf::read_header(&file, file.len() as u64).unwrap();
    header
        .metadata
        .0
        .insert("llama.context_length".into(), hearth_gguf::Value::U32(4));
    let loader = StreamLoader::new(gpu(), header).expect("a 4-position model plans and warms");
    assert_eq!(loader.config().n_ctx_train, 4);
}

/// known, saying how many bytes it needs; the model's own context bounds the request.
#[test]
fn a_context_too_large_for_the_gpu_is_refused_up_front() {
    let file = fixture("tiny-llama3.gguf");
    let mut header = Gguf::read_header(&file, file.len() as u64).unwrap();
    let loader = StreamLoader::new(gpu(), header.clone()).unwrap();
    let trained = loader.config().n_ctx_train;
    loader
        .check_context(trained)
        .expect("the model's own context fits");
    loader
        .check_context(usize::MAX)
        .expect("a request above the model's context is clamped to it");
    // the same model claiming a context of 2^28 positions
    let key = "llama.context_length";
    assert!(header.metadata.0.contains_key(key));
    header
        .metadata
        .0
        .insert(key.into(), hearth_gguf::Value::U32(1 << 28));
    let gpu = gpu();
    let limit = gpu.max_binding_bytes;
    let kv_dim = loader.config().kv_dim() as u64;
    let loader = StreamLoader::new(gpu, header).unwrap();
    loader.check_context(2048).expect("a small context fits");
    let err = loader.check_context(1 << 28).unwrap_err().to_string();
    let bytes = loader.gpu().kv_type.words((1 << 28) * kv_dim as usize) as u64 * 4;
    assert!(bytes > limit);
    assert!(
        err.contains(&format!("needs {bytes} bytes")) && err.contains(&limit.to_string()),
        "{err}"
    );
}

/// A split GGUF (three parts made by `hearth_gguf::split`) loads as one model: the same
/// logits as the single file; parts out of order are refused.
#[test]
fn split_files_load_as_one_model() {
    let file = fixture("tiny-llama3.gguf");
    let gguf = Gguf::read(&file).unwrap();
    let parts = hearth_gguf::split::split(&gguf, &file, 3).unwrap();
    let headers: Vec<Gguf> = parts.iter().map(|p| Gguf::read(p).unwrap()).collect();
    assert!(headers.iter().all(|h| !h.tensors.is_empty()));

    let whole = load_whole(&gguf, &file);
    let tokens = [1u32, 5, 9, 2];
    let want = logits(&whole, &tokens);

    let mut loader = StreamLoader::new_split(gpu_f32(), headers.clone()).unwrap();
    assert_eq!(loader.file_count(), 3);
    // the files in reverse order, each in pieces of 1000 bytes
    for (i, part) in parts.iter().enumerate().rev() {
        for (k, piece) in part.chunks(1000).enumerate() {
            loader.push(i, (k * 1000) as u64, piece).unwrap();
        }
    }
    let got = logits(&loader.finish().unwrap(), &tokens);
    assert!(
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );

    let mut swapped = headers.clone();
    swapped.swap(1, 2);
    let err = StreamLoader::new_split(gpu(), swapped)
        .err()
        .expect("parts out of order");
    assert!(err.to_string().contains("part"), "{err}");
    assert!(StreamLoader::new_split(gpu(), headers[..2].to_vec()).is_err());
}

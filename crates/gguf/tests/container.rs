//! Tests of the GGUF container: writer → reader round trips, agreement with an independent
//! reader (gguf-py's summaries in tests/fixtures/gguf-summary/), and malformed input, which
//! must give a specific error, never a panic, and never a large allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use hearth_gguf::{GgmlType, Gguf, GgufError, GgufWriter, Metadata, TensorInfo, Value};
use serde_json::Value as Json;

// ---------------------------------------------------------------------------------------
// Allocation tracking: the largest single allocation made on this thread while tracking.

struct TrackingAlloc;

thread_local! {
    static LARGEST_ALLOC: Cell<Option<usize>> = const { Cell::new(None) };
}

fn note_alloc(size: usize) {
    let _ = LARGEST_ALLOC.try_with(|m| {
        if let Some(max) = m.get() {
            m.set(Some(max.max(size)));
        }
    });
}

unsafe impl GlobalAlloc for TrackingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: TrackingAlloc = TrackingAlloc;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST_ALLOC.with(|m| m.set(Some(0)));
    let out = f();
    let max = LARGEST_ALLOC.with(|m| m.replace(None)).unwrap_or(0);
    (out, max)
}

// ---------------------------------------------------------------------------------------
// Helpers

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Deterministic pseudo-random bytes (xorshift64*), different for each seed.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Equality of values that compares floats by bit pattern (NaN, -0.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

/// Equality of parsed headers, comparing metadata with [`same`].
fn same_gguf(a: &Gguf, b: &Gguf) -> bool {
    let meta = a.metadata.0.len() == b.metadata.0.len()
        && a.metadata
            .0
            .iter()
            .zip(&b.metadata.0)
            .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb));
    meta && a.tensors == b.tensors
        && (a.version, a.alignment, a.data_start, a.file_len)
            == (b.version, b.alignment, b.data_start, b.file_len)
}

/// Parses `bytes`, which must fail; checks the message is one readable line.
fn read_err(bytes: &[u8]) -> GgufError {
    let (result, max) = largest_alloc(|| Gguf::read(bytes));
    let err = result.expect_err("malformed input was accepted");
    assert!(
        max <= 64 * 1024 + 32 * bytes.len(),
        "reading {} bytes allocated {max} bytes at once ({err})",
        bytes.len()
    );
    check_message(&err);
    err
}

fn check_message(err: &GgufError) {
    let msg = err.to_string();
    assert!(!msg.is_empty() && !msg.contains('\n'), "message {msg:?}");
    assert!(msg.len() < 400, "message too long: {msg}");
}

/// The message of `err` must mention `part`.
fn says(err: &GgufError, part: &str) {
    let msg = err.to_string();
    assert!(
        msg.contains(part),
        "message {msg:?} does not mention {part:?}"
    );
}

/// A hand encoder, independent of `GgufWriter`, to build (usually malformed) files.
#[derive(Default, Clone)]
struct Raw(Vec<u8>);

impl Raw {
    fn new(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        let mut r = Raw(b"GGUF".to_vec());
        r.u32(version).u64(n_tensors).u64(n_kv);
        r
    }
    fn u8(&mut self, v: u8) -> &mut Raw {
        self.0.push(v);
        self
    }
    fn u32(&mut self, v: u32) -> &mut Raw {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Raw {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn raw(&mut self, b: &[u8]) -> &mut Raw {
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, s: &str) -> &mut Raw {
        self.u64(s.len() as u64).raw(s.as_bytes())
    }
    fn kv_u32(&mut self, key: &str, v: u32) -> &mut Raw {
        self.str(key).u32(4).u32(v)
    }
    fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Raw {
        self.str(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ty).u64(offset)
    }
    fn pad(&mut self, align: usize) -> &mut Raw {
        self.0.resize(self.0.len().next_multiple_of(align), 0);
        self
    }
    fn zeros(&mut self, n: usize) -> &mut Raw {
        self.0.resize(self.0.len() + n, 0);
        self
    }
}

/// Metadata with every value type, arrays of each, strings with non-ASCII text, an empty
/// array, empty strings and awkward floats.
fn every_value() -> Vec<(&'static str, Value)> {
    vec![
        ("t.u8", Value::U8(250)),
        ("t.i8", Value::I8(-7)),
        ("t.u16", Value::U16(65535)),
        ("t.i16", Value::I16(i16::MIN)),
        ("t.u32", Value::U32(u32::MAX)),
        ("t.i32", Value::I32(i32::MIN)),
        ("t.f32", Value::F32(-1.5e-45)),
        ("t.f32.nan", Value::F32(f32::from_bits(0x7FC0_1234))),
        ("t.f32.neg_zero", Value::F32(-0.0)),
        ("t.bool.true", Value::Bool(true)),
        ("t.bool.false", Value::Bool(false)),
        ("t.string", Value::from("héllo, wörld ✓ 🦀")),
        ("t.string.empty", Value::from("")),
        ("t.u64", Value::U64(u64::MAX)),
        ("t.i64", Value::I64(i64::MIN)),
        ("t.f64", Value::F64(std::f64::consts::PI)),
        ("", Value::from("the empty key is allowed")),
        ("a.u8s", Value::from(vec![0u8, 1, 255])),
        ("a.i8s", Value::from(vec![-128i8, 0, 127])),
        ("a.u16s", Value::from(vec![0u16, 65535])),
        ("a.i16s", Value::from(vec![-32768i16, 32767])),
        ("a.u32s", Value::from(vec![7u32, u32::MAX])),
        ("a.i32s", Value::from(vec![i32::MIN, -1, 3])),
        ("a.f32s", Value::from(vec![0.5f32, -1.25, f32::INFINITY])),
        ("a.bools", Value::from(vec![true, false, true])),
        ("a.strings", Value::from(["<s>", "", "ü ✓", "last"])),
        ("a.u64s", Value::from(vec![u64::MAX, 0])),
        ("a.i64s", Value::from(vec![i64::MIN, i64::MAX])),
        ("a.f64s", Value::from(vec![1e300f64, -0.0])),
        ("a.empty", Value::Array(vec![])),
        (
            "a.long",
            Value::from((0..300u32).map(|i| i * 7919).collect::<Vec<_>>()),
        ),
    ]
}

/// Tensors of several types and shapes; sizes are not multiples of most alignments.
fn some_tensors() -> Vec<(&'static str, Vec<u64>, GgmlType)> {
    vec![
        ("f32.vector", vec![7], GgmlType::F32),
        ("f16.matrix", vec![3, 5], GgmlType::F16),
        ("bf16.3d", vec![2, 2, 3], GgmlType::BF16),
        ("q8_0.matrix", vec![64, 3], GgmlType::Q8_0),
        ("q4_0.vector", vec![32], GgmlType::Q4_0),
        ("q4_1.matrix", vec![96, 2], GgmlType::Q4_1),
        ("q5_0.vector", vec![32], GgmlType::Q5_0),
        ("q5_1.vector", vec![64], GgmlType::Q5_1),
        ("q4_k.matrix", vec![256, 2], GgmlType::Q4_K),
        ("q6_k.4d", vec![256, 1, 1, 2], GgmlType::Q6_K),
        ("q2_k.vector", vec![512], GgmlType::Q2_K),
    ]
}

fn n_bytes(dims: &[u64], ty: GgmlType) -> usize {
    (ty.row_bytes(dims[0]).unwrap() * dims[1..].iter().product::<u64>()) as usize
}

/// A valid file with every value type and several tensors.
fn sample_file(version: u32, alignment: Option<u32>) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut w = GgufWriter::new();
    w.set_version(version).unwrap();
    if let Some(a) = alignment {
        w.set_alignment(a).unwrap();
    }
    for (k, v) in every_value() {
        w.add_metadata(k, v).unwrap();
    }
    let mut data = Vec::new();
    for (i, (name, dims, ty)) in some_tensors().into_iter().enumerate() {
        let raw = bytes(i as u64 + 1, n_bytes(&dims, ty));
        w.add_tensor(name, &dims, ty, raw.clone()).unwrap();
        data.push((name.to_string(), raw));
    }
    (w.finish(), data)
}

// ---------------------------------------------------------------------------------------
// Round trips

#[test]
fn round_trip_every_value_type_and_tensor_layout() {
    for version in [2, 3] {
        for alignment in [None, Some(1), Some(8), Some(32), Some(64), Some(4096)] {
            let (file, data) = sample_file(version, alignment);
            let g = Gguf::read(&file).unwrap_or_else(|e| panic!("v{version} {alignment:?}: {e}"));
            let align = alignment.unwrap_or(32) as u64;
            assert_eq!(g.version, version);
            assert_eq!(g.alignment, align);
            assert_eq!(g.file_len, file.len() as u64);

            let mut want = every_value();
            if let Some(a) = alignment {
                want.push(("general.alignment", Value::U32(a)));
            }
            assert_eq!(g.metadata.0.len(), want.len());
            for (k, v) in &want {
                let got = g
                    .metadata
                    .get(k)
                    .unwrap_or_else(|| panic!("key {k:?} lost"));
                assert!(same(got, v), "{k}: wrote {v:?}, read {got:?}");
            }

            // Data section: starts aligned, tensors packed in order at aligned offsets,
            // every gap is zero padding, the file ends at the last padded tensor.
            assert_eq!(g.data_start % align, 0);
            assert_eq!(g.tensors.len(), data.len());
            let mut next = 0u64;
            let mut covered = vec![false; file.len()];
            for (t, (spec, (name, raw))) in g.tensors.iter().zip(some_tensors().iter().zip(&data)) {
                assert_eq!(&t.name, name);
                assert_eq!(t.dims, spec.1);
                assert_eq!(t.ty, spec.2);
                assert_eq!(t.offset, next, "{name}: offset");
                assert_eq!(t.n_bytes(), raw.len() as u64);
                assert_eq!(
                    g.tensor_data(&file, name).unwrap(),
                    &raw[..],
                    "{name}: data"
                );
                assert_eq!(g.tensor_bytes(&file, t).unwrap(), &raw[..]);
                let r = g.tensor_range(t);
                covered[r.start as usize..r.end as usize].fill(true);
                next += (raw.len() as u64).next_multiple_of(align);
            }
            assert_eq!(file.len() as u64, g.data_start + next);
            let data_start = g.data_start as usize;
            assert!(
                file[data_start..]
                    .iter()
                    .zip(&covered[data_start..])
                    .all(|(&b, &c)| c || b == 0),
                "padding in the data section is not zero"
            );
        }
    }
}

#[test]
fn writer_output_matches_hand_encoding() {
    // One key, two tensors, alignment 16: the writer must produce exactly these bytes.
    let t0 = bytes(1, 12);
    let t1 = bytes(2, 34);
    let mut w = GgufWriter::new();
    w.set_version(2).unwrap();
    w.add_metadata("k", "v").unwrap();
    w.set_alignment(16).unwrap();
    w.add_tensor("a", &[3], GgmlType::F32, t0.clone()).unwrap();
    w.add_tensor("b", &[32], GgmlType::Q8_0, t1.clone())
        .unwrap();

    let mut r = Raw::new(2, 2, 2);
    r.str("k").u32(8).str("v");
    r.kv_u32("general.alignment", 16);
    r.tensor("a", &[3], 0, 0).tensor("b", &[32], 8, 16);
    r.pad(16).raw(&t0).pad(16).raw(&t1).pad(16);
    assert_eq!(w.finish(), r.0);
}

#[test]
fn writer_without_tensors_has_no_data_section() {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", "llama").unwrap();
    let file = w.finish();
    assert_eq!(file.len(), 24 + 8 + 20 + 4 + 8 + 5);
    let g = Gguf::read(&file).unwrap();
    assert!(g.tensors.is_empty());
    assert_eq!(g.data_start, file.len().next_multiple_of(32) as u64);
}

#[test]
fn writer_conveniences() {
    let mut w = GgufWriter::default();
    w.add_f32_tensor("x", &[2, 2], &[1.0, -2.0, 3.5, 0.25])
        .unwrap()
        .add_f16_tensor("h", &[3], &[1.0, 0.5, -65504.0])
        .unwrap()
        .set_metadata("a", 1u32)
        .unwrap()
        .set_metadata("a", "replaced")
        .unwrap()
        .add_metadata("b", 2.5f64)
        .unwrap();
    assert_eq!(w.remove_metadata("b"), Some(Value::F64(2.5)));
    assert_eq!(w.remove_metadata("b"), None);
    let infos = w.tensor_infos();
    assert_eq!(infos.iter().map(|t| t.offset).collect::<Vec<_>>(), [0, 32]);
    let file = w.finish();
    let g = Gguf::read(&file).unwrap();
    assert_eq!(g.tensors, infos);
    assert_eq!(g.metadata.str("a").unwrap(), Some("replaced"));
    assert_eq!(g.metadata.get("b"), None);
    let x = g.tensor_data(&file, "x").unwrap();
    assert_eq!(x, [1.0f32, -2.0, 3.5, 0.25].map(f32::to_le_bytes).concat());
    let h = g.tensor_data(&file, "h").unwrap();
    assert_eq!(h, [0x00, 0x3C, 0x00, 0x38, 0xFF, 0xFB]);
}

#[test]
fn writer_rejects_what_the_reader_would() {
    let mut w = GgufWriter::new();
    w.add_metadata("k", 1u8).unwrap();
    assert_eq!(
        w.add_metadata("k", 2u8).unwrap_err(),
        GgufError::DuplicateKey("k".into())
    );
    let nested = Value::Array(vec![Value::Array(vec![])]);
    assert_eq!(
        w.add_metadata("n", nested).unwrap_err(),
        GgufError::NestedArray("n".into())
    );
    let mixed = Value::Array(vec![Value::U8(1), Value::from("x")]);
    assert!(matches!(
        w.add_metadata("m", mixed).unwrap_err(),
        GgufError::WrongType {
            found: "string",
            want: "u8",
            ..
        }
    ));
    assert_eq!(w.set_alignment(0).unwrap_err(), GgufError::BadAlignment(0));
    assert_eq!(
        w.set_alignment(24).unwrap_err(),
        GgufError::BadAlignment(24)
    );
    assert!(matches!(
        w.add_metadata("general.alignment", 64u64).unwrap_err(),
        GgufError::WrongType {
            found: "u64",
            want: "u32",
            ..
        }
    ));
    assert_eq!(
        w.set_version(1).unwrap_err(),
        GgufError::UnsupportedVersion(1)
    );
    assert_eq!(
        w.set_version(4).unwrap_err(),
        GgufError::UnsupportedVersion(4)
    );

    let bad = |r: hearth_gguf::Result<&mut GgufWriter>, part: &str| {
        let e = r.unwrap_err();
        assert!(matches!(e, GgufError::BadTensor { .. }), "{e}");
        says(&e, part);
    };
    bad(
        w.add_tensor("t", &[], GgmlType::F32, vec![]),
        "0 dimensions",
    );
    bad(
        w.add_tensor("t", &[1; 5], GgmlType::F32, vec![0; 4]),
        "5 dimensions",
    );
    bad(
        w.add_tensor("t", &[4, 0], GgmlType::F32, vec![]),
        "empty dimension",
    );
    bad(
        w.add_tensor("t", &[33], GgmlType::Q8_0, vec![0; 34]),
        "whole number of Q8_0 blocks",
    );
    bad(
        w.add_tensor("t", &[4], GgmlType::F32, vec![0; 15]),
        "needs 16",
    );
    bad(
        w.add_tensor("t", &[1 << 62, 8], GgmlType::F32, vec![]),
        "overflows",
    );
    w.add_tensor("t", &[4], GgmlType::F32, vec![0; 16]).unwrap();
    assert_eq!(
        w.add_tensor("t", &[4], GgmlType::F32, vec![0; 16])
            .unwrap_err(),
        GgufError::DuplicateTensor("t".into())
    );
    // the failed calls left no trace: the file still reads back with one tensor, one key
    let g = Gguf::read(&w.finish()).unwrap();
    assert_eq!(g.tensors.len(), 1);
    assert_eq!(g.metadata.0.len(), 1);
    assert_eq!(g.alignment, 32);
}

#[test]
fn typed_metadata_getters() {
    let mut w = GgufWriter::new();
    for (k, v) in every_value() {
        w.add_metadata(k, v).unwrap();
    }
    let file = w.finish();
    let m: Metadata = Gguf::read(&file).unwrap().metadata;
    assert_eq!(m.u64("t.u8").unwrap(), Some(250));
    assert_eq!(m.u64("t.u64").unwrap(), Some(u64::MAX));
    assert_eq!(m.u64("t.absent").unwrap(), None);
    assert!(matches!(
        m.u64("t.i8"),
        Err(GgufError::WrongType { found: "i8", .. })
    ));
    assert!(matches!(
        m.u64("t.string"),
        Err(GgufError::WrongType {
            found: "string",
            ..
        })
    ));
    assert_eq!(m.req_u64("t.u32").unwrap(), u64::from(u32::MAX));
    let e = m.req_u64("llama.block_count").unwrap_err();
    assert_eq!(e, GgufError::MissingKey("llama.block_count".into()));
    says(&e, "llama.block_count");
    assert_eq!(m.f64("t.f64").unwrap(), Some(std::f64::consts::PI));
    assert_eq!(m.f64("t.f32").unwrap(), Some(f64::from(-1.5e-45f32)));
    assert!(m.f64("t.u8").is_err());
    assert_eq!(m.str("t.string").unwrap(), Some("héllo, wörld ✓ 🦀"));
    assert_eq!(m.bool("t.bool.true").unwrap(), Some(true));
    assert_eq!(m.bool("t.bool.false").unwrap(), Some(false));
    assert!(m.bool("t.u8").is_err());
    assert_eq!(m.array("a.long").unwrap().map(<[Value]>::len), Some(300));
    assert!(m.array("t.u8").is_err());
    assert_eq!(
        m.strings("a.strings").unwrap(),
        Some(vec!["<s>", "", "ü ✓", "last"])
    );
    assert_eq!(m.strings("a.empty").unwrap(), Some(vec![]));
    assert!(matches!(
        m.strings("a.u8s"),
        Err(GgufError::WrongType { found: "u8", .. })
    ));
    assert_eq!(
        m.f32s("a.f32s").unwrap(),
        Some(vec![0.5, -1.25, f32::INFINITY])
    );
    assert!(m.f32s("a.i32s").is_err());
    assert_eq!(
        m.i64s("a.i32s").unwrap(),
        Some(vec![i32::MIN as i64, -1, 3])
    );
    assert_eq!(m.i64s("a.u8s").unwrap(), Some(vec![0, 1, 255]));
    // u64::MAX does not fit an i64: an error, not a wrapped value
    assert!(matches!(
        m.i64s("a.u64s"),
        Err(GgufError::WrongType { found: "u64", .. })
    ));
    assert!(m.i64s("a.strings").is_err());
}

#[test]
fn header_from_a_prefix_asks_for_the_bytes_it_needs() {
    let (file, _) = sample_file(3, Some(64));
    let full = Gguf::read(&file).unwrap();
    let header_len = full.data_start as usize;
    // The header alone (no tensor data) is enough when the real file length is given.
    let g = Gguf::read_header(&file[..header_len], file.len() as u64).unwrap();
    assert!(same_gguf(&g, &full));
    // A longer "prefix" than the file is cut to the file length.
    let mut longer = file.clone();
    longer.extend_from_slice(&[0xAA; 100]);
    assert!(same_gguf(
        &Gguf::read_header(&longer, file.len() as u64).unwrap(),
        &full
    ));

    // Shorter prefixes say how far they need to go, and that much is always enough to
    // make progress: following the requests reaches the full header.
    let mut have = 16;
    let mut requests = 0;
    loop {
        match Gguf::read_header(&file[..have], file.len() as u64) {
            Ok(g) => {
                assert!(same_gguf(&g, &full));
                break;
            }
            Err(GgufError::Truncated {
                needed, have: h, ..
            }) => {
                assert_eq!(h, have as u64);
                assert!(needed as usize > have && needed as usize <= header_len);
                have = needed as usize;
                requests += 1;
            }
            Err(e) => panic!("prefix of {have} bytes: {e}"),
        }
    }
    assert!(requests > 10, "only {requests} requests");
}

// ---------------------------------------------------------------------------------------
// Agreement with gguf-py (scripts/gen-gguf-summary.py)

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    })
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_scalar(ctx: &str, v: &Value, j: &Json) {
    assert_eq!(v.type_name(), j["type"].as_str().unwrap(), "{ctx}: type");
    let ok = match v {
        Value::F32(x) => j["bits"].as_u64() == Some(x.to_bits() as u64),
        Value::F64(x) => j["bits"].as_u64() == Some(x.to_bits()),
        Value::Bool(b) => j["value"].as_bool() == Some(*b),
        Value::String(s) => j["value"].as_str() == Some(s.as_str()),
        Value::U64(x) => j["value"].as_u64() == Some(*x),
        Value::Array(_) => false,
        int => j["value"].as_i64() == int.as_i64(),
    };
    assert!(ok, "{ctx}: read {v:?}, gguf-py says {j}");
}

#[test]
fn agrees_with_gguf_py_summaries() {
    let dir = repo_root().join("tests/fixtures/gguf-summary");
    let mut summaries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    summaries.sort();
    assert!(
        summaries.len() >= 6,
        "only {} summaries in {dir:?}",
        summaries.len()
    );
    let (mut n_tensors, mut n_keys) = (0, 0);
    for path in summaries {
        let s: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = std::fs::read(repo_root().join(s["file"].as_str().unwrap())).unwrap();
        let ctx = path.file_name().unwrap().to_string_lossy().into_owned();
        let g = Gguf::read(&file).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(
            s["file_len"].as_u64(),
            Some(file.len() as u64),
            "{ctx}: file_len"
        );
        assert_eq!(
            s["version"].as_u64(),
            Some(g.version as u64),
            "{ctx}: version"
        );
        assert_eq!(
            s["alignment"].as_u64(),
            Some(g.alignment),
            "{ctx}: alignment"
        );
        assert_eq!(
            s["data_offset"].as_u64(),
            Some(g.data_start),
            "{ctx}: data_offset"
        );
        assert_eq!(
            s["kv_count"].as_u64(),
            Some(g.metadata.0.len() as u64),
            "{ctx}: kv_count"
        );
        assert_eq!(
            s["tensor_count"].as_u64(),
            Some(g.tensors.len() as u64),
            "{ctx}: tensors"
        );

        let want_tensors = s["tensors"].as_array().unwrap();
        assert_eq!(want_tensors.len(), g.tensors.len());
        for (t, j) in g.tensors.iter().zip(want_tensors) {
            let ctx = format!("{ctx}: tensor {}", t.name);
            assert_eq!(j["name"].as_str(), Some(t.name.as_str()), "{ctx}: order");
            let shape: Vec<u64> = j["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            assert_eq!(shape, t.dims, "{ctx}: shape");
            assert_eq!(j["type_id"].as_u64(), Some(t.ty.id() as u64), "{ctx}: type");
            assert_eq!(
                j["data_offset"].as_u64(),
                Some(g.data_start + t.offset),
                "{ctx}: offset"
            );
            assert_eq!(j["n_bytes"].as_u64(), Some(t.n_bytes()), "{ctx}: n_bytes");
            let data = g.tensor_data(&file, &t.name).unwrap();
            assert_eq!(
                j["fnv1a64"].as_u64(),
                Some(fnv1a64(data)),
                "{ctx}: data checksum"
            );
            assert_eq!(
                j["head_hex"].as_str(),
                Some(hex(&data[..data.len().min(16)]).as_str())
            );
            n_tensors += 1;
        }

        let want_meta = s["metadata"].as_object().unwrap();
        assert_eq!(want_meta.len(), g.metadata.0.len(), "{ctx}: key count");
        for (key, j) in want_meta {
            let ctx = format!("{ctx}: {key}");
            let v = g
                .metadata
                .get(key)
                .unwrap_or_else(|| panic!("{ctx}: missing"));
            n_keys += 1;
            if j["type"] != "array" {
                check_scalar(&ctx, v, j);
                continue;
            }
            let items = v
                .as_array()
                .unwrap_or_else(|| panic!("{ctx}: not an array"));
            assert_eq!(
                j["len"].as_u64(),
                Some(items.len() as u64),
                "{ctx}: array length"
            );
            if let Some(first) = items.first() {
                assert_eq!(
                    j["elem"].as_str(),
                    Some(first.type_name()),
                    "{ctx}: element type"
                );
            }
            for item in j["items"].as_array().unwrap() {
                let i = item["index"].as_u64().unwrap() as usize;
                check_scalar(&format!("{ctx}[{i}]"), &items[i], item);
            }
        }
    }
    // Not vacuous: the gguf-py-written file has tensors, and there are many keys.
    assert!(n_tensors >= 9, "only {n_tensors} tensors checked");
    assert!(n_keys >= 100, "only {n_keys} keys checked");
}

#[test]
fn vocab_fixture_headers_read_from_a_prefix() {
    // The browser reads the header from a prefix: the vocab files need all their bytes
    // (no tensors), and anything shorter asks for more.
    let path = repo_root().join("tests/fixtures/tokenizers/ggml-vocab-llama-spm.gguf");
    let file = std::fs::read(path).unwrap();
    let g = Gguf::read_header(&file, file.len() as u64).unwrap();
    assert_eq!(
        g.metadata
            .strings("tokenizer.ggml.tokens")
            .unwrap()
            .unwrap()
            .len(),
        32000
    );
    assert!(
        g.data_start > g.file_len,
        "no data section: data_start is past the end"
    );
    let e = Gguf::read_header(&file[..100_000], file.len() as u64).unwrap_err();
    assert!(
        matches!(e, GgufError::Truncated { needed, have: 100_000, .. } if needed > 100_000),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Malformed input

#[test]
fn bad_magic() {
    let (mut file, _) = sample_file(3, None);
    file[..4].copy_from_slice(b"GGML");
    let e = read_err(&file);
    assert_eq!(e, GgufError::BadMagic(*b"GGML"));
    says(&e, "not a GGUF file");
    assert!(matches!(
        read_err(b""),
        GgufError::Truncated {
            needed: 4,
            have: 0,
            ..
        }
    ));
    assert!(matches!(
        read_err(b"GG"),
        GgufError::Truncated {
            needed: 4,
            have: 2,
            ..
        }
    ));
    assert_eq!(read_err(b"\0\0\0\0\x03\0\0\0"), GgufError::BadMagic([0; 4]));
}

#[test]
fn every_truncation_is_an_error() {
    // A file whose last tensor ends exactly at the end (64 bytes, alignment 64), so that
    // every proper prefix is invalid, and a file with no tensors, ending in metadata.
    let mut w = GgufWriter::new();
    w.set_alignment(64).unwrap();
    for (k, v) in every_value() {
        w.add_metadata(k, v).unwrap();
    }
    w.add_tensor("q", &[32, 2], GgmlType::Q4_0, bytes(3, 36))
        .unwrap();
    w.add_f32_tensor("last", &[16], &[0.5; 16]).unwrap();
    let with_tensors = w.finish();
    let mut w = GgufWriter::new();
    for (k, v) in every_value() {
        w.add_metadata(k, v).unwrap();
    }
    let metadata_only = w.finish();

    for file in [with_tensors, metadata_only] {
        let g = Gguf::read(&file).unwrap();
        // Below this length the counts in the header cannot fit, and are called absurd.
        let counts_fit = 24 + 13 * g.metadata.0.len() + 32 * g.tensors.len();
        let mut first_bad_tensor = None;
        for len in 0..file.len() {
            let e = read_err(&file[..len]);
            match e {
                GgufError::Truncated { needed, have, .. } => {
                    assert_eq!(have, len as u64);
                    assert!(needed > have && needed <= file.len() as u64, "{e}");
                    assert!(
                        first_bad_tensor.is_none(),
                        "prefix {len}: {e} after a bad tensor"
                    );
                }
                GgufError::AbsurdCount { .. } if len >= 24 => assert!(len < counts_fit, "{e}"),
                // past the tensor table, a tensor runs past the end
                GgufError::BadTensor { .. } => {
                    says(&e, "past the end");
                    first_bad_tensor.get_or_insert(len);
                }
                e => panic!("prefix of {len} bytes: unexpected {e}"),
            }
            // The same prefix presented as a header prefix of the full file is at worst
            // truncated, and is accepted once it holds the whole header.
            match Gguf::read_header(&file[..len], file.len() as u64) {
                Ok(h) => assert!(same_gguf(&h, &g), "header prefix of {len} bytes"),
                Err(GgufError::Truncated { needed, .. }) => assert!(needed > len as u64),
                Err(e) => panic!("header prefix of {len} bytes: {e}"),
            }
        }
        if !g.tensors.is_empty() {
            let first = first_bad_tensor.expect("no prefix reached the data section");
            assert!(first as u64 > g.data_start - 64 && first as u64 <= g.data_start);
        }
    }
}

#[test]
fn unsupported_versions() {
    for version in [0, 1, 4, 0x0300_0000, u32::MAX] {
        let e = read_err(&Raw::new(version, 0, 0).0);
        assert_eq!(e, GgufError::UnsupportedVersion(version));
        says(&e, "version");
    }
    // v1 used u32 counts; a real v1 header is refused on its version, not misparsed
    let mut v1 = b"GGUF".to_vec();
    v1.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(read_err(&v1), GgufError::UnsupportedVersion(1));
    // versions 2 and 3 with nothing in them are fine
    for version in [2, 3] {
        let g = Gguf::read(&Raw::new(version, 0, 0).0).unwrap();
        assert_eq!(
            (g.version, g.tensors.len(), g.metadata.0.len()),
            (version, 0, 0)
        );
    }
}

#[test]
fn absurd_counts() {
    for (n_tensors, n_kv, what) in [
        (u64::MAX, 0, "tensor"),
        (0, u64::MAX, "metadata"),
        (1 << 40, 0, "tensor"),
        (0, 1 << 33, "metadata"),
        (u64::MAX, u64::MAX, "metadata"),
    ] {
        let mut r = Raw::new(3, n_tensors, n_kv);
        r.raw(&[0xFF; 64]);
        let e = read_err(&r.0);
        assert!(
            matches!(e, GgufError::AbsurdCount { what: w, .. } if w == what),
            "{e}"
        );
        says(&e, "cannot fit");
        // Also as a header prefix of a file that claims to be huge: the count fits the
        // claimed length, so the prefix is too short, but nothing big is allocated.
        let (res, max) = largest_alloc(|| Gguf::read_header(&r.0, u64::MAX));
        assert!(max < 64 * 1024, "allocated {max} bytes");
        let e = res.unwrap_err();
        assert!(
            matches!(
                e,
                GgufError::Truncated { .. } | GgufError::AbsurdCount { .. }
            ),
            "{e}"
        );
    }
    // A count that fits the file but not the bytes that follow is a truncation.
    let mut r = Raw::new(3, 0, 2);
    r.kv_u32("a", 1).u64(5).raw(b"ab");
    let e = read_err(&r.0);
    assert!(
        matches!(
            e,
            GgufError::Truncated {
                needed: 54,
                have: 51,
                ..
            }
        ),
        "{e}"
    );
    says(&e, "metadata key");
}

#[test]
fn absurd_string_lengths() {
    // key length, string value length, tensor name length
    let mut key = Raw::new(3, 0, 1);
    key.u64(u64::MAX).zeros(40);
    let mut value = Raw::new(3, 0, 1);
    value.str("k").u32(8).u64(u64::MAX - 3).zeros(40);
    let mut name = Raw::new(3, 1, 0);
    name.u64(1 << 62).zeros(40);
    let mut big = Raw::new(3, 0, 1);
    big.str("k").u32(8).u64(1 << 31).zeros(40);
    for (r, field) in [
        (key, "metadata key"),
        (value, "string value of metadata key \"k\""),
        (name, "tensor name"),
        (big, "\"k\""),
    ] {
        let e = read_err(&r.0);
        assert!(matches!(e, GgufError::Truncated { .. }), "{e}");
        says(&e, field);
        let (_, max) = largest_alloc(|| Gguf::read_header(&r.0, u64::MAX));
        assert!(max < 64 * 1024, "allocated {max} bytes");
    }
}

#[test]
fn absurd_array_counts() {
    for (elem, count) in [
        (0u32, u64::MAX),
        (8, u64::MAX / 8 + 1),
        (10, 1 << 40),
        (4, 1_000),
    ] {
        let mut r = Raw::new(3, 0, 1);
        r.str("arr").u32(9).u32(elem).u64(count).zeros(100);
        let e = read_err(&r.0);
        assert!(
            matches!(e, GgufError::Truncated { have, .. } if have == r.0.len() as u64),
            "{e}"
        );
        says(&e, &format!("array of {count} "));
        says(&e, "metadata key \"arr\"");
        // The same as a header prefix of a file claiming to be huge: still no allocation.
        let (res, max) = largest_alloc(|| Gguf::read_header(&r.0, u64::MAX));
        assert!(max < 64 * 1024, "allocated {max} bytes");
        assert!(matches!(res, Err(GgufError::Truncated { .. })), "{res:?}");
    }
}

#[test]
fn unknown_value_types() {
    for ty in [13u32, 255, u32::MAX] {
        let mut r = Raw::new(3, 0, 1);
        r.str("k").u32(ty).zeros(16);
        let e = read_err(&r.0);
        assert_eq!(e, GgufError::UnknownValueType(ty));
        says(&e, "unknown");
        // as an array element type, even in an empty array
        let mut r = Raw::new(3, 0, 1);
        r.str("k").u32(9).u32(ty).u64(0).zeros(16);
        assert_eq!(read_err(&r.0), GgufError::UnknownValueType(ty));
    }
}

#[test]
fn nested_arrays() {
    let mut r = Raw::new(3, 0, 1);
    r.str("nest").u32(9).u32(9).u64(1).u32(0).u64(1).u8(5);
    let e = read_err(&r.0);
    assert_eq!(e, GgufError::NestedArray("nest".into()));
    says(&e, "arrays of arrays");
}

#[test]
fn duplicate_keys_and_tensors() {
    let mut r = Raw::new(3, 0, 2);
    r.kv_u32("general.x", 1).kv_u32("general.x", 2);
    let e = read_err(&r.0);
    assert_eq!(e, GgufError::DuplicateKey("general.x".into()));
    says(&e, "twice");

    let mut r = Raw::new(3, 2, 0);
    r.tensor("w", &[8], 0, 0)
        .tensor("w", &[8], 0, 32)
        .pad(32)
        .zeros(64);
    let e = read_err(&r.0);
    assert_eq!(e, GgufError::DuplicateTensor("w".into()));
    says(&e, "twice");
}

#[test]
fn bad_alignments() {
    let with_alignment = |encode: &dyn Fn(&mut Raw)| {
        let mut r = Raw::new(3, 1, 1);
        r.str("general.alignment");
        encode(&mut r);
        r.tensor("t", &[8], 0, 0).pad(64).zeros(64);
        read_err(&r.0)
    };
    for a in [0u32, 3, 48, 0xFFFF_FFFF] {
        let e = with_alignment(&|r| {
            r.u32(4).u32(a);
        });
        assert_eq!(e, GgufError::BadAlignment(a as u64));
        says(&e, "power of two");
    }
    let e = with_alignment(&|r| {
        r.u32(10).u64(32);
    });
    assert!(
        matches!(
            e,
            GgufError::WrongType {
                found: "u64",
                want: "u32",
                ..
            }
        ),
        "{e}"
    );
    says(&e, "general.alignment");
    let e = with_alignment(&|r| {
        r.u32(8).str("32");
    });
    assert!(
        matches!(
            e,
            GgufError::WrongType {
                found: "string",
                ..
            }
        ),
        "{e}"
    );
    let e = with_alignment(&|r| {
        r.u32(5).u32(32);
    });
    assert!(
        matches!(e, GgufError::WrongType { found: "i32", .. }),
        "{e}"
    );
}

/// A file with one tensor-info record written by `tensor` and `data` bytes of data.
fn one_tensor(tensor: impl Fn(&mut Raw), data: usize) -> Vec<u8> {
    let mut r = Raw::new(3, 1, 0);
    tensor(&mut r);
    r.pad(32).zeros(data);
    r.0
}

fn bad_tensor(file: &[u8], part: &str) {
    let e = read_err(file);
    assert!(
        matches!(e, GgufError::BadTensor { ref name, .. } if name == "t"),
        "{e}"
    );
    says(&e, "tensor \"t\"");
    says(&e, part);
}

#[test]
fn bad_tensor_shapes() {
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[], 0, 0);
            },
            64,
        ),
        "0 dimensions",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[1, 1, 1, 1, 1], 0, 0);
            },
            64,
        ),
        "5 dimensions",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.str("t").u32(u32::MAX);
            },
            64,
        ),
        "4294967295 dimensions",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[8, 0], 0, 0);
            },
            64,
        ),
        "empty dimension",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[0], 2, 0);
            },
            64,
        ),
        "empty dimension",
    );
    // element count overflows u64, or exceeds i64::MAX
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[1 << 32, 1 << 32], 0, 0);
            },
            64,
        ),
        "overflows",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[u64::MAX, 2, 2, 2], 0, 0);
            },
            64,
        ),
        "overflows",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[1 << 63], 0, 0);
            },
            64,
        ),
        "overflows",
    );
    // element count fine, byte size overflows
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[1 << 62], 0, 0);
            },
            64,
        ),
        "byte size",
    );
    // rows that are not whole blocks
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[31, 2], 8, 0);
            },
            64,
        ),
        "Q8_0 blocks of 32",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[32, 8], 12, 0);
            },
            64,
        ),
        "Q4_K blocks of 256",
    );
    // fine as a control: the same record with a valid shape
    Gguf::read(&one_tensor(
        |r| {
            r.tensor("t", &[32, 2], 8, 0);
        },
        68,
    ))
    .unwrap();
}

#[test]
fn unknown_tensor_types() {
    // 4 and 5 are retired ids, 16+ are types hearth does not read, 39+ unknown to ggml
    for ty in [4u32, 5, 16, 24, 29, 39, u32::MAX] {
        let e = read_err(&one_tensor(
            |r| {
                r.tensor("t", &[32], ty, 0);
            },
            256,
        ));
        assert_eq!(e, GgufError::UnknownTensorType(ty));
        says(&e, "unknown");
    }
}

#[test]
fn tensor_offsets() {
    // past the end: by one byte, far, and overflowing u64
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[8], 0, 0);
            },
            31,
        ),
        "past the end",
    );
    Gguf::read(&one_tensor(
        |r| {
            r.tensor("t", &[8], 0, 0);
        },
        32,
    ))
    .unwrap();
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[8], 0, 1 << 40);
            },
            32,
        ),
        "past the end",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[8], 0, u64::MAX - 31);
            },
            32,
        ),
        "past the end",
    );
    // a tensor that fits in u64 byte size but not in the file
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[1 << 40], 0, 0);
            },
            32,
        ),
        "past the end",
    );
    // not a multiple of the alignment
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[8], 0, 16);
            },
            64,
        ),
        "multiple of the alignment 32",
    );
    bad_tensor(
        &one_tensor(
            |r| {
                r.tensor("t", &[8], 0, 1);
            },
            64,
        ),
        "multiple of the alignment",
    );
}

#[test]
fn overlapping_tensors() {
    // b starts inside a (a is 64 bytes at 0, b at 32), listed in either order
    for (first, second) in [(("a", 0), ("b", 32)), (("b", 32), ("a", 0))] {
        let mut r = Raw::new(3, 2, 0);
        r.tensor(first.0, &[16], 0, first.1)
            .tensor(second.0, &[16], 0, second.1);
        r.pad(32).zeros(128);
        let e = read_err(&r.0);
        assert_eq!(
            e,
            GgufError::OverlappingTensors {
                a: "a".into(),
                b: "b".into()
            }
        );
        says(&e, "overlap");
    }
    // the same data twice
    let mut r = Raw::new(3, 2, 0);
    r.tensor("a", &[8], 0, 0)
        .tensor("b", &[8], 0, 0)
        .pad(32)
        .zeros(32);
    assert!(matches!(
        read_err(&r.0),
        GgufError::OverlappingTensors { .. }
    ));
    // one inside another, with a third in between in file order
    let mut r = Raw::new(3, 3, 0);
    r.tensor("big", &[64], 0, 0)
        .tensor("x", &[8], 0, 256)
        .tensor("in", &[8], 0, 64);
    r.pad(32).zeros(288);
    assert!(matches!(
        read_err(&r.0),
        GgufError::OverlappingTensors { .. }
    ));
    // adjacent is fine
    let mut r = Raw::new(3, 2, 0);
    r.tensor("a", &[8], 0, 0)
        .tensor("b", &[8], 0, 32)
        .pad(32)
        .zeros(64);
    assert_eq!(Gguf::read(&r.0).unwrap().tensors.len(), 2);
}

#[test]
fn invalid_utf8() {
    let mut r = Raw::new(3, 0, 1);
    r.u64(3).raw(&[b'a', 0xFF, b'b']).u32(0).u8(1);
    let e = read_err(&r.0);
    assert_eq!(e, GgufError::BadUtf8 { offset: 32 });
    says(&e, "UTF-8");
    // in a string value, in an array of strings, and in a tensor name
    let mut r = Raw::new(3, 0, 1);
    r.str("k").u32(8).u64(2).raw(&[0xC3, 0x28]);
    assert_eq!(
        read_err(&r.0),
        GgufError::BadUtf8 {
            offset: 24 + 9 + 4 + 8
        }
    );
    let mut r = Raw::new(3, 0, 1);
    r.str("k")
        .u32(9)
        .u32(8)
        .u64(2)
        .str("ok")
        .u64(1)
        .raw(&[0x80]);
    assert!(matches!(read_err(&r.0), GgufError::BadUtf8 { .. }));
    let mut r = Raw::new(3, 1, 0);
    r.u64(1)
        .raw(&[0xFE])
        .u32(1)
        .u64(8)
        .u32(0)
        .u64(0)
        .pad(32)
        .zeros(32);
    assert_eq!(read_err(&r.0), GgufError::BadUtf8 { offset: 32 });
}

#[test]
fn bool_bytes_other_than_0_or_1() {
    for byte in [2u8, 0xFF] {
        let mut r = Raw::new(3, 0, 1);
        r.str("flag").u32(7).u8(byte);
        let e = read_err(&r.0);
        assert!(
            matches!(e, GgufError::WrongType { ref key, want: "bool", .. } if key == "flag"),
            "{e}"
        );
        says(&e, "\"flag\"");
        let mut r = Raw::new(3, 0, 1);
        r.str("flags").u32(9).u32(7).u64(3).u8(0).u8(1).u8(byte);
        assert!(matches!(
            read_err(&r.0),
            GgufError::WrongType { want: "bool", .. }
        ));
    }
}

#[test]
fn tensor_data_lookups() {
    let (file, _) = sample_file(3, None);
    let g = Gguf::read(&file).unwrap();
    let e = g.tensor_data(&file, "nope").unwrap_err();
    assert_eq!(e, GgufError::MissingTensor("nope".into()));
    check_message(&e);
    // a slice shorter than the file the header came from
    let last = g.tensors.last().unwrap();
    let e = g
        .tensor_data(&file[..file.len() - 100], &last.name)
        .unwrap_err();
    assert!(matches!(e, GgufError::Truncated { .. }), "{e}");
    says(&e, &last.name);
    // a TensorInfo that did not come from this file cannot make it panic
    let alien = TensorInfo {
        name: "x".into(),
        dims: vec![u64::MAX, u64::MAX],
        ty: GgmlType::F32,
        offset: u64::MAX,
    };
    assert!(g.tensor_bytes(&file, &alien).is_err());
    let empty = TensorInfo {
        name: "e".into(),
        dims: vec![],
        ty: GgmlType::Q8_0,
        offset: 0,
    };
    assert_eq!((empty.cols(), empty.rows(), empty.n_elements()), (1, 1, 1));
    assert_eq!(empty.n_bytes(), 0);
}

// ---------------------------------------------------------------------------------------
// Fuzz seeds

/// The seed corpus of the `gguf_read` fuzz target (fuzz/seeds/gguf_read/) is what this test makes: a
/// few small files made by the writer, each parsed back. The committed seeds must be
/// current; `HEARTH_BLESS=1 cargo test -p hearth-gguf --test container fuzz_seeds` rewrites them.
#[test]
fn fuzz_seeds_are_current() {
    let dir = repo_root().join("fuzz/seeds/gguf_read");
    let bless = std::env::var_os("HEARTH_BLESS").is_some();
    let write = |name: &str, file: &[u8]| {
        Gguf::read(file).unwrap();
        assert!(file.len() <= 16 * 1024, "{name} is {} bytes", file.len());
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, file).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == file,
            "{} is stale: rerun with HEARTH_BLESS=1",
            path.display()
        );
    };
    write("every-value-v3.gguf", &sample_file(3, None).0);

    // every block type the reader knows, one or two blocks each, v2 and alignment 64
    let mut w = GgufWriter::new();
    w.set_version(2).unwrap().set_alignment(64).unwrap();
    w.add_metadata("general.architecture", "llama").unwrap();
    for (i, ty) in GgmlType::ALL.into_iter().enumerate() {
        let dims = [ty.block_elems() as u64, 1 + (i as u64 % 2)];
        let raw = bytes(100 + i as u64, n_bytes(&dims, ty));
        w.add_tensor(format!("{ty:?}.weight"), &dims, ty, raw)
            .unwrap();
    }
    write("all-types-v2-align64.gguf", &w.finish());

    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", "llama").unwrap();
    w.add_metadata(
        "tokenizer.ggml.tokens",
        ["<unk>", "<s>", "</s>", "a", "b", "ab"],
    )
    .unwrap();
    w.add_metadata(
        "tokenizer.ggml.scores",
        vec![0.0f32, 0.0, 0.0, -1.0, -2.0, -3.0],
    )
    .unwrap();
    w.add_metadata("tokenizer.ggml.token_type", vec![2i32, 3, 3, 1, 1, 1])
        .unwrap();
    w.add_metadata("tokenizer.ggml.add_bos_token", true)
        .unwrap();
    write("metadata-only.gguf", &w.finish());

    // a tiny Llama: 1 layer, n_embd 32, vocab 6
    let mut w = GgufWriter::new();
    w.set_alignment(32).unwrap();
    for (k, v) in [
        ("general.architecture", Value::from("llama")),
        ("llama.context_length", Value::U32(64)),
        ("llama.embedding_length", Value::U32(32)),
        ("llama.block_count", Value::U32(1)),
        ("llama.feed_forward_length", Value::U32(64)),
        ("llama.attention.head_count", Value::U32(4)),
        ("llama.attention.head_count_kv", Value::U32(2)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("llama.rope.freq_base", Value::F32(10000.0)),
    ] {
        w.add_metadata(k, v).unwrap();
    }
    w.add_f32_tensor("token_embd.weight", &[32, 6], &[0.01; 192])
        .unwrap();
    w.add_f32_tensor("blk.0.attn_norm.weight", &[32], &[1.0; 32])
        .unwrap();
    for (i, (name, dims)) in [
        ("blk.0.attn_q.weight", [32, 32]),
        ("blk.0.attn_k.weight", [32, 16]),
        ("blk.0.attn_v.weight", [32, 16]),
        ("blk.0.attn_output.weight", [32, 32]),
        ("blk.0.ffn_gate.weight", [32, 64]),
        ("blk.0.ffn_up.weight", [32, 64]),
        ("blk.0.ffn_down.weight", [64, 32]),
    ]
    .into_iter()
    .enumerate()
    {
        let raw = bytes(200 + i as u64, n_bytes(&dims, GgmlType::Q8_0));
        w.add_tensor(name, &dims, GgmlType::Q8_0, raw).unwrap();
    }
    w.add_f16_tensor("output_norm.weight", &[32], &[1.0; 32])
        .unwrap();
    write("tiny-llama-q8_0.gguf", &w.finish());

    let py = std::fs::read(repo_root().join("tests/fixtures/gguf-summary/gguf-py-writer.gguf"));
    write("gguf-py-writer.gguf", &py.unwrap());
}

//! GPU buffers: f32 activations ([`GpuTensor`]) and repacked weight matrices split by rows
//! across buffers when one binding cannot hold them ([`GpuWeights`]).

use hearth_gguf::{GgmlType, GpuLayout};

use crate::{Gpu, GpuError, Result};

/// A storage buffer of `len` f32 (or u32) values. It may also be bound as a uniform buffer
/// of [`UNIFORM_BINDING`] bytes (matvec_rowwise.wgsl reads x that way), so it is never
/// smaller than that. A clone is another handle to the same buffer.
#[derive(Clone)]
pub struct GpuTensor {
    pub buffer: wgpu::Buffer,
    pub len: usize,
}

/// Bytes of a tensor bound as a uniform buffer: WebGPU's smallest
/// `maxUniformBufferBindingSize`, so every adapter allows it.
pub const UNIFORM_BINDING: u64 = 65536;

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::UNIFORM)
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl GpuTensor {
    /// A zero-filled buffer of `len` values.
    pub fn zeros(gpu: &Gpu, len: usize, label: &str) -> GpuTensor {
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: ((len * 4) as u64).max(UNIFORM_BINDING),
            usage: STORAGE,
            mapped_at_creation: false,
        });
        GpuTensor { buffer, len }
    }

    /// A buffer holding `data` (f32 or u32 values, as plain-old data).
    pub fn from_slice<T: bytemuck::Pod>(gpu: &Gpu, data: &[T], label: &str) -> GpuTensor {
        assert_eq!(size_of::<T>(), 4, "GpuTensor holds 4-byte values");
        let tensor = GpuTensor::zeros(gpu, data.len(), label);
        gpu.queue
            .write_buffer(&tensor.buffer, 0, bytemuck::cast_slice(data));
        tensor
    }

    /// Copies the buffer back to the CPU (one readback; not for the decode loop).
    pub async fn read<T: bytemuck::Pod>(&self, gpu: &Gpu) -> Result<Vec<T>> {
        read_buffer(gpu, &self.buffer, self.len * 4).await
    }

    /// [`GpuTensor::read`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_blocking<T: bytemuck::Pod>(&self, gpu: &Gpu) -> Result<Vec<T>> {
        pollster::block_on(self.read(gpu))
    }
}

/// Reads the first `bytes` bytes of `buffer` (which needs COPY_SRC).
pub(crate) async fn read_buffer<T: bytemuck::Pod>(
    gpu: &Gpu,
    buffer: &wgpu::Buffer,
    bytes: usize,
) -> Result<Vec<T>> {
    let size = (bytes.max(4) as u64).next_multiple_of(4);
    let data = read_ranges(gpu, &[(buffer, 0, size)]).await?;
    Ok(bytemuck::cast_slice::<u8, T>(&data[..bytes]).to_vec())
}

/// Reads byte ranges `(buffer, offset, size)` (multiples of 4, buffers with COPY_SRC) in
/// one submission and one map, their bytes one after another.
pub(crate) async fn read_ranges(
    gpu: &Gpu,
    ranges: &[(&wgpu::Buffer, u64, u64)],
) -> Result<Vec<u8>> {
    let total: u64 = ranges.iter().map(|r| r.2).sum();
    let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: total.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    let mut at = 0;
    for &(buffer, offset, size) in ranges {
        if size > 0 {
            encoder.copy_buffer_to_buffer(buffer, offset, &staging, at, size);
        }
        at += size;
    }
    gpu.queue.submit([encoder.finish()]);
    let (tx, rx) = futures_channel::oneshot::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    // natively the device must be polled for the callback to run; the browser does it itself
    #[cfg(not(target_arch = "wasm32"))]
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let mapped = rx.await;
    if !matches!(mapped, Ok(Ok(()))) {
        // a lost device fails the map: say so, rather than "readback failed"
        gpu.check()?;
    }
    mapped
        .map_err(|_| GpuError::Readback("the device dropped the map request".into()))?
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let data = {
        let view = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        view[..total as usize].to_vec()
    };
    staging.unmap();
    gpu.check()?;
    Ok(data)
}

/// A weight matrix of `rows` × `cols` in its GPU block layout ([`GpuLayout`]), split by
/// rows into parts that each fit one storage binding. A clone shares the buffers.
#[derive(Clone)]
pub struct GpuWeights {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    /// u32 words per row: its blocks, then zeros up to a multiple of 4.
    pub row_words: usize,
    /// The buffers, in row order.
    pub parts: Vec<WeightPart>,
}

/// Rows `first_row .. first_row + rows` of a [`GpuWeights`], in one buffer.
#[derive(Clone)]
pub struct WeightPart {
    pub buffer: wgpu::Buffer,
    pub first_row: usize,
    pub rows: usize,
}

impl GpuWeights {
    /// Uploads a matrix given as GGUF bytes (`rows` rows of `cols` weights of type `ty`).
    pub fn upload(
        gpu: &Gpu,
        name: &str,
        ty: GgmlType,
        rows: usize,
        cols: usize,
        gguf: &[u8],
    ) -> Result<GpuWeights> {
        let w = GpuWeights::alloc(gpu, name, ty, rows, cols)?;
        if gguf.len() as u64 != w.src_row_bytes() * rows as u64 {
            return Err(GpuError::Shape(format!(
                "{name}: {} bytes for {rows} rows of {}",
                gguf.len(),
                w.src_row_bytes()
            )));
        }
        w.write_rows(gpu, 0, gguf)?;
        Ok(w)
    }

    /// The buffers of a `rows` × `cols` matrix of type `ty`, zero-filled: fill them with
    /// [`GpuWeights::write_rows`] (the browser streams a matrix in as it arrives).
    pub fn alloc(
        gpu: &Gpu,
        name: &str,
        ty: GgmlType,
        rows: usize,
        cols: usize,
    ) -> Result<GpuWeights> {
        GpuWeights::split(gpu, name, ty, rows, cols, |bytes| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
    }

    /// A matrix of the real format, shape and parts whose every part is `buffer` (small,
    /// holding nothing): bound only by programs recorded to compile their pipelines
    /// (`crate::warm`), never run.
    pub(crate) fn placeholder(
        gpu: &Gpu,
        name: &str,
        ty: GgmlType,
        rows: usize,
        cols: usize,
        buffer: &wgpu::Buffer,
    ) -> Result<GpuWeights> {
        GpuWeights::split(gpu, name, ty, rows, cols, |_| buffer.clone())
    }

    /// The matrix split by rows into parts of at most one binding, each part's buffer
    /// made by `buffer(bytes)`.
    fn split(
        gpu: &Gpu,
        name: &str,
        ty: GgmlType,
        rows: usize,
        cols: usize,
        mut buffer: impl FnMut(u64) -> wgpu::Buffer,
    ) -> Result<GpuWeights> {
        let layout = GpuLayout::of(ty)?;
        let block_words = layout.row_words(ty, cols)?;
        // rows start on 16 bytes, for the vec4 loads of matvec_rowwise.wgsl
        let row_words = block_words.next_multiple_of(4);
        let max = usize::try_from(gpu.max_binding_bytes).unwrap_or(usize::MAX);
        if row_words * 4 > max {
            return Err(GpuError::TooLarge(format!(
                "{name}: one row is {} bytes, above the binding limit {max}",
                row_words * 4
            )));
        }
        let rows_per_part = max / (row_words * 4);
        let mut parts = Vec::new();
        let mut first_row = 0;
        while first_row < rows {
            let n = rows_per_part.min(rows - first_row);
            parts.push(WeightPart {
                buffer: buffer((n * row_words * 4) as u64),
                first_row,
                rows: n,
            });
            first_row += n;
        }
        Ok(GpuWeights {
            ty,
            rows,
            cols,
            row_words,
            parts,
        })
    }

    /// Bytes of one row in the GGUF file.
    pub fn src_row_bytes(&self) -> u64 {
        self.ty.row_bytes(self.cols as u64).unwrap_or(0)
    }

    /// Writes whole rows `first_row ..` given as GGUF bytes (a multiple of
    /// [`GpuWeights::src_row_bytes`]), repacked into the GPU layout.
    pub fn write_rows(&self, gpu: &Gpu, first_row: usize, gguf: &[u8]) -> Result<()> {
        let src_row = self.src_row_bytes() as usize;
        let n = gguf.len().checked_div(src_row).unwrap_or(0);
        if src_row == 0 || n * src_row != gguf.len() || first_row + n > self.rows {
            return Err(GpuError::Shape(format!(
                "{} bytes at row {first_row} are not whole rows of {src_row} within {} rows",
                gguf.len(),
                self.rows
            )));
        }
        let layout = GpuLayout::of(self.ty)?;
        let block_words = layout.row_words(self.ty, self.cols)?;
        let mut row = first_row;
        while row < first_row + n {
            let (part, r) = self.locate(row).expect("rows are within the parts");
            let k = (part.rows - r).min(first_row + n - row);
            let src = &gguf[(row - first_row) * src_row..][..k * src_row];
            let mut bytes = layout.repack(self.ty, src)?;
            if self.row_words != block_words {
                let mut padded = vec![0u8; k * self.row_words * 4];
                for (dst, src) in padded
                    .chunks_exact_mut(self.row_words * 4)
                    .zip(bytes.chunks_exact(block_words * 4))
                {
                    dst[..src.len()].copy_from_slice(src);
                }
                bytes = padded;
            }
            let offset = (r * self.row_words * 4) as u64;
            gpu.queue.write_buffer(&part.buffer, offset, &bytes);
            row += k;
        }
        Ok(())
    }

    /// The part holding `row`, and the row's index inside it.
    pub fn locate(&self, row: usize) -> Option<(&WeightPart, usize)> {
        self.parts
            .iter()
            .find(|p| row >= p.first_row && row < p.first_row + p.rows)
            .map(|p| (p, row - p.first_row))
    }
}

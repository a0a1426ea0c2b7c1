//! The GPU context: adapter, device and queue with the adapter's own limits, and the cache
//! of compiled kernel pipelines.

use hearth_protocol::adapter::is_software_adapter;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::kernels::KvType;
use crate::shader::{Kernel, PipelineKey};
use crate::{GpuError, Result};

/// Pipelines a device compiled (shader module and compute pipeline creation, which is
/// where drivers compile).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PipelineStats {
    pub count: usize,
    /// Seconds spent creating them, summed over the threads that did (natively; 0 in the
    /// browser, where creation returns before the compile ends).
    pub seconds: f64,
}

/// An open GPU device and everything made once per device. A clone is another handle to
/// the same device, sharing its pipeline cache (a clone may change its own settings: the
/// cache is keyed by everything a pipeline depends on).
#[derive(Clone)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// Adapter name, driver and backend.
    pub info: wgpu::AdapterInfo,
    /// The limits granted: the adapter's own, not WebGPU's defaults.
    pub limits: wgpu::Limits,
    /// Whether `shader-f16` is enabled (f16 activations and KV cache may be used).
    pub has_f16: bool,
    /// The KV cache type of new sessions: f16 where the adapter has `shader-f16` (it does
    /// f16 well; the packed words need no extension), else f32. Tests set both.
    pub kv_type: KvType,
    /// Largest buffer one storage binding may take: the adapter's limit, lowered by tests
    /// to exercise weights split across buffers.
    pub max_binding_bytes: u64,
    /// Invocations that share one row in matvec.wgsl: many on GPUs (coalesced loads); 1 on
    /// CPU drivers (lavapipe, SwiftShader), which then run matvec_rowwise.wgsl instead.
    pub matvec_row_threads: u32,
    /// Rows each invocation of matvec_rowwise.wgsl dots (1..=4).
    pub matvec_rows: u32,
    /// Whether the device has WGSL subgroups (natively wgpu's `SUBGROUP`; in the browser
    /// WebGPU's `subgroups`, asked for by src/web_subgroups.rs), so that matvec.wgsl's
    /// shared-row path runs as matvec_subgroup.wgsl. Tests turn it off for the portable path.
    pub subgroups: bool,
    /// The largest subgroup the adapter may run (the row width of matvec_subgroup.wgsl is
    /// a multiple of it).
    pub subgroup_max: u32,
    /// Small storage buffer ranges ([`Gpu::spare`]) bound where a kernel's writable
    /// binding goes unused.
    spare: wgpu::Buffer,
    /// Compiled pipelines by key; a slot is filled once, by the first caller, while later
    /// callers of the same key (on other threads) wait for it rather than compile it again.
    pipelines: Arc<Mutex<HashMap<PipelineKey, PipelineSlot>>>,
    compiled: Arc<Mutex<PipelineStats>>,
    /// The first error the device reported since the last [`Gpu::check`].
    error: Arc<Mutex<Option<String>>>,
    /// Why the device was lost, once it is.
    lost: Arc<Mutex<Option<String>>>,
}

/// A pipeline compiled once, by whoever asks for it first.
type PipelineSlot = Arc<OnceLock<Arc<Pipeline>>>;

/// Bytes of each spare range: WebGPU's largest allowed storage offset alignment.
const SPARE_BYTES: u64 = 256;
/// Spare ranges: the most unused writable bindings a kernel has.
const SPARES: u64 = 3;

impl Gpu {
    /// Spare range `i` (< 3) of a small storage buffer, for a writable binding a dispatch
    /// leaves unused: WebGPU forbids two writable bindings of one dispatch on overlapping
    /// ranges of one buffer, so each unused binding takes its own range.
    pub(crate) fn spare(&self, i: usize) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.spare,
            offset: SPARE_BYTES * (i as u64).min(SPARES - 1),
            size: std::num::NonZeroU64::new(SPARE_BYTES),
        })
    }

    /// Opens the first high-performance adapter with its full limits. No adapter is an
    /// error, never a silent CPU fallback.
    pub async fn new() -> Result<Gpu> {
        let adapter = request_adapter().await?;
        let info = adapter.get_info();
        let cpu_driver = info.device_type == wgpu::DeviceType::Cpu;
        let wanted =
            wgpu::Features::SHADER_F16 | wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP;
        let features = adapter.features() & wanted;
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("hearth"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        // errors surface as results at the next readback, never as a panic or a silent
        // no-op (the browser would only log them)
        let error = Arc::new(Mutex::new(None));
        let slot = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            slot.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| e.to_string());
        }));
        let lost = Arc::new(Mutex::new(None));
        let slot = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("{reason:?}: {message}"));
        });
        #[cfg(not(target_arch = "wasm32"))]
        let subgroups = features.contains(wgpu::Features::SUBGROUP);
        #[cfg(target_arch = "wasm32")]
        let subgroups = crate::web_subgroups::enabled(&device);
        let subgroup_max = info.subgroup_max_size.clamp(1, 256);
        let spare = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("unused output"),
            size: SPARE_BYTES * SPARES,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Ok(Gpu {
            spare,
            error,
            lost,
            device,
            queue,
            info,
            limits: limits.clone(),
            has_f16: features.contains(wgpu::Features::SHADER_F16),
            kv_type: if features.contains(wgpu::Features::SHADER_F16) {
                KvType::F16
            } else {
                KvType::F32
            },
            matvec_row_threads: if cpu_driver { 1 } else { 32 },
            matvec_rows: 4,
            subgroups,
            subgroup_max,
            max_binding_bytes: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            pipelines: Arc::default(),
            compiled: Arc::default(),
        })
    }

    /// The name of the adapter [`Gpu::new`] would open, and whether it is a software
    /// rasteriser, without opening it: for choosing a backend.
    pub async fn probe() -> Result<(String, bool)> {
        let adapter = request_adapter().await?;
        let info = adapter.get_info();
        let software = is_software_adapter(&info.name, info.device_type == wgpu::DeviceType::Cpu);
        Ok((info.name, software))
    }

    /// [`Gpu::probe`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn probe_blocking() -> Result<(String, bool)> {
        pollster::block_on(Gpu::probe())
    }

    /// [`Gpu::new`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Gpu> {
        pollster::block_on(Gpu::new())
    }

    /// The device's state since the last check: lost, or an error it reported (taken).
    pub fn check(&self) -> Result<()> {
        if let Some(why) = self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Err(GpuError::DeviceLost(why));
        }
        match self.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(GpuError::Validation(e)),
            None => Ok(()),
        }
    }

    /// True when this adapter is a software rasteriser (see [`is_software_adapter`]).
    pub fn is_software(&self) -> bool {
        is_software_adapter(
            &self.info.name,
            self.info.device_type == wgpu::DeviceType::Cpu,
        )
    }

    /// A one-line description of the adapter, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) on Vulkan".
    pub fn adapter_name(&self) -> String {
        format!("{} on {:?}", self.info.name, self.info.backend)
    }

    /// The labels of the pipelines this device has compiled (kernel, format, overrides).
    pub fn pipeline_labels(&self) -> Vec<String> {
        let map = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(_, slot)| slot.get().is_some())
            .map(|(key, _)| key.label())
            .collect()
    }

    /// How many pipelines this device has compiled so far, and the time it took.
    pub fn pipeline_stats(&self) -> PipelineStats {
        *self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pipeline of `kernel`, compiled once per (kernel, format, overrides) and cached.
    /// Natively several threads may ask at once (see `crate::warm`): each key compiles once.
    pub fn pipeline(
        &self,
        kernel: Kernel,
        format: Option<hearth_gguf::GgmlType>,
        overrides: &[(&'static str, u32)],
    ) -> Result<Arc<Pipeline>> {
        let key = PipelineKey::new(kernel, format, overrides);
        let (slot, source) = {
            let mut map = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = map.get(&key).and_then(|slot| slot.get()) {
                return Ok(p.clone());
            }
            // the source's errors (an unknown format) before a slot is taken
            let source = kernel.source(format)?;
            let slot = map.entry(key.clone()).or_default().clone();
            drop(map);
            (slot, source)
        };
        Ok(slot
            .get_or_init(|| self.compile(&key, source, overrides))
            .clone())
    }

    /// Creates the shader module and compute pipeline of `key` (where drivers compile).
    fn compile(
        &self,
        key: &PipelineKey,
        source: String,
        overrides: &[(&'static str, u32)],
    ) -> Arc<Pipeline> {
        let label = key.label();
        #[cfg(not(target_arch = "wasm32"))]
        let started = std::time::Instant::now();
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(&label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let constants: Vec<(&str, f64)> = overrides.iter().map(|&(k, v)| (k, v as f64)).collect();
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        let mut stats = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        stats.count += 1;
        #[cfg(not(target_arch = "wasm32"))]
        {
            stats.seconds += started.elapsed().as_secs_f64();
        }
        Arc::new(Pipeline {
            label,
            compute: pipeline,
        })
    }
}

/// A compiled kernel and its label (kernel file, format, overrides), for errors and profiles.
pub struct Pipeline {
    pub label: String,
    compute: wgpu::ComputePipeline,
}

impl std::ops::Deref for Pipeline {
    type Target = wgpu::ComputePipeline;
    fn deref(&self) -> &wgpu::ComputePipeline {
        &self.compute
    }
}

/// The first high-performance adapter (backends narrowed by `WGPU_BACKEND` etc.).
async fn request_adapter() -> Result<wgpu::Adapter> {
    #[cfg(target_arch = "wasm32")]
    crate::web_subgroups::ask();
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            ..Default::default()
        })
        .await
        .map_err(|e| GpuError::NoAdapter(e.to_string()))
}

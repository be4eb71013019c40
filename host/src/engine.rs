//! The wasmtime engine as Weft configures it: component model, async,
//! fuel metering (optional), epoch interruption driven by a ticker thread,
//! and the pooling allocator so instantiation is a few microseconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the granularity of wall-clock limits and
/// of yielding a busy guest back to the async executor.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engine-wide settings (the per-invocation ones are in [`crate::Limits`]).
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub fuel_metering: bool,
    /// Upper bound on any instance's linear memory; per-block caps are
    /// checked below this.
    pub max_memory_bytes: usize,
    /// Instances that can be live at once (concurrent invocations).
    pub max_instances: u32,
    /// WebAssembly stack for guest code; deeper recursion traps.
    pub max_wasm_stack: usize,
    /// Bytes of each reused linear memory kept resident between instances.
    pub keep_resident_bytes: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            fuel_metering: true,
            max_memory_bytes: 256 << 20,
            max_instances: 256,
            max_wasm_stack: 512 << 10,
            keep_resident_bytes: 1 << 20,
        }
    }
}

pub fn build(settings: &EngineSettings) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(settings.fuel_metering)
        .epoch_interruption(true)
        .max_wasm_stack(settings.max_wasm_stack)
        // The async stack must hold the wasm stack plus host frames.
        .async_stack_size(settings.max_wasm_stack + (1 << 20));

    let mut pool = PoolingAllocationConfig::default();
    // A Rust component has one core instance per module plus adapters; a
    // small multiple of the instance count is plenty.
    pool.total_component_instances(settings.max_instances)
        .total_core_instances(settings.max_instances * 4)
        .total_memories(settings.max_instances * 2)
        .total_tables(settings.max_instances * 4)
        .total_stacks(settings.max_instances)
        .max_memory_size(settings.max_memory_bytes)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_core_instances_per_component(32)
        // Reset reused memory by memset instead of unmapping it, up to this
        // size: a small block's stack, data and heap then cost no page
        // faults on the next invocation (measured: the largest single cost).
        .linear_memory_keep_resident(settings.keep_resident_bytes)
        .table_keep_resident(16 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Linear memories never need more virtual space than the cap allows.
    config.memory_reservation(settings.max_memory_bytes as u64);
    config.memory_guard_size(64 << 10);
    config.memory_reservation_for_growth(0);
    Engine::new(&config)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("weft-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

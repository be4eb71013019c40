//! The per-invocation store state: WASI with nothing granted, the memory
//! cap, the HTTP and log capabilities, and a small stderr buffer used to
//! report a guest's panic message.

use crate::guest_log::LogSink;
use crate::outbound_http::OutboundHttp;
use std::time::Instant;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Bytes of guest stderr kept (enough for a panic message).
const STDERR_BYTES: usize = 4096;

pub struct SandboxState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) memory: MemoryCap,
    pub(crate) http: OutboundHttp,
    pub(crate) logs: LogSink,
    pub(crate) stderr: MemoryOutputPipe,
    pub(crate) started: Instant,
    /// Set by the epoch callback when the wall-clock deadline passed.
    pub(crate) deadline_hit: bool,
}

impl SandboxState {
    pub fn new(http: OutboundHttp, memory_limit: usize) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        // No preopened directories, no environment, no arguments, no
        // sockets, no name lookup: WASI is linked only because Rust's std
        // imports it, and every door in it is shut.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        SandboxState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap {
                limit: memory_limit,
                exceeded: None,
            },
            http,
            logs: LogSink::default(),
            stderr,
            started: Instant::now(),
            deadline_hit: false,
        }
    }

    pub(crate) fn elapsed_us(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// What the guest wrote to stderr, e.g. `panicked at ...`.
    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_string()
    }
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory growth and remembers that the cap was hit, so the
/// resulting guest abort is reported as a memory limit, not a crash.
pub struct MemoryCap {
    pub limit: usize,
    pub exceeded: Option<usize>,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

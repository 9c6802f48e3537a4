//! The wasmtime engine, the on-disk cache of compiled modules, and the epoch ticker that stops
//! filters that run too long.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, Module, OptLevel, WasmBacktraceDetails};

use super::Error;

/// How often the epoch advances; a call's deadline is counted in these.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bounds on what one filter may do.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest a single call into the filter (one callback) may run.
    pub call_timeout: Duration,
    /// Most linear memory the filter may have.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { call_timeout: Duration::from_secs(2), memory_bytes: 256 << 20 }
    }
}

/// Which proxy-wasm ABI a module says it speaks (its `proxy_abi_version_*` export).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiVersion {
    V0_2_0,
    V0_2_1,
}

/// A compiled module, ready for scenarios.
#[derive(Clone)]
pub struct LoadedModule {
    pub(crate) module: Module,
    pub path: PathBuf,
    /// sha256 of the file, hex.
    pub sha256: String,
    /// The compiled code came from the cache (no compilation).
    pub from_cache: bool,
    /// Reading plus compiling or deserializing.
    pub load_time: Duration,
    /// `None`: the module exports no `proxy_abi_version_0_2_*` (every case will fail, saying so).
    pub abi: Option<AbiVersion>,
    /// Why the compiled module could not be cached, if it could not (the run goes on).
    pub cache_warning: Option<String>,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("path", &self.path)
            .field("sha256", &self.sha256)
            .field("from_cache", &self.from_cache)
            .field("load_time", &self.load_time)
            .field("abi", &self.abi)
            .finish()
    }
}

/// The host: one engine for all modules, an epoch ticker thread, and the cache directory.
pub struct Host {
    pub(crate) engine: Engine,
    cache_dir: PathBuf,
    pub(crate) limits: Limits,
    /// 16 hex digits naming the engine's compatibility (wasmtime version and settings).
    engine_key: String,
    _ticker: Ticker,
}

struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Host {
    /// A host with the default limits; compiled modules are cached in `cache_dir`
    /// (e.g. `$GW_HOME/cache/wasm`), created when first needed.
    pub fn new(cache_dir: PathBuf) -> Result<Host, Error> {
        Host::with_limits(cache_dir, Limits::default())
    }

    pub fn with_limits(cache_dir: PathBuf, limits: Limits) -> Result<Host, Error> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Backtraces are on by default (20 frames), which is what a failed case shows.
        // Names from the module's name section, without DWARF: stable, and the same cache key
        // whatever WASMTIME_BACKTRACE_DETAILS says.
        config.wasm_backtrace_details(WasmBacktraceDetails::Disable);
        config.cranelift_opt_level(OptLevel::Speed);
        let engine = Engine::new(&config).map_err(|e| Error::Engine(e.to_string()))?;

        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());

        let (stop, stopped) = mpsc::channel::<()>();
        let ticking = engine.clone();
        let thread = std::thread::Builder::new()
            .name("gw-wasm-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| Error::Engine(format!("cannot start the epoch thread: {e}")))?;
        Ok(Host { engine, cache_dir, limits, engine_key, _ticker: Ticker { stop: Some(stop), thread: Some(thread) } })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The call timeout in epoch ticks (at least one).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        (self.limits.call_timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }

    /// Where the compiled form of a module with this sha256 is cached. The name carries the
    /// engine key too, so another wasmtime version or configuration never reads it.
    pub fn cache_path(&self, sha256: &str) -> PathBuf {
        self.cache_dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// Reads and compiles a module (`.wasm`, or `.wat` text), or takes its compiled form from
    /// the cache.
    pub fn load(&self, wasm: &Path) -> Result<LoadedModule, Error> {
        let started = Instant::now();
        let bytes = fs_err::read(wasm).map_err(|source| Error::Read { path: wasm.to_path_buf(), source })?;
        let sha256: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let cached = self.cache_path(&sha256);

        let mut cache_warning = None;
        let mut from_cache = false;
        let mut module = None;
        if cached.is_file() {
            // Read into memory rather than mapped: a mapped file that someone truncates would
            // take the process down with SIGBUS.
            let compiled = fs_err::read(&cached).unwrap_or_default();
            // SAFETY: the file is one gw wrote with `Module::serialize` for this engine key;
            // wasmtime checks its header and compatibility and refuses a mismatch.
            match unsafe { Module::deserialize(&self.engine, &compiled) } {
                Ok(m) => {
                    module = Some(m);
                    from_cache = true;
                }
                Err(e) => cache_warning = Some(format!("ignored the cached {}: {e}", cached.display())),
            }
        }
        let module = match module {
            Some(m) => m,
            None => {
                let m = Module::new(&self.engine, &bytes)
                    .map_err(|e| Error::Compile { path: wasm.to_path_buf(), message: format!("{e:#}") })?;
                if let Err(e) = self.store(&m, &cached) {
                    cache_warning = Some(format!("cannot cache the compiled module in {}: {e}", cached.display()));
                }
                m
            }
        };
        let abi = abi_version(&module);
        Ok(LoadedModule {
            module,
            path: wasm.to_path_buf(),
            sha256,
            from_cache,
            load_time: started.elapsed(),
            abi,
            cache_warning,
        })
    }

    /// Written whole or not at all, so another gw never reads half a module.
    fn store(&self, module: &Module, path: &Path) -> Result<(), String> {
        fs_err::create_dir_all(&self.cache_dir).map_err(|e| e.to_string())?;
        let bytes = module.serialize().map_err(|e| e.to_string())?;
        crate::fsutil::write_atomically(path, &bytes, 0o644).map_err(|e| e.to_string())
    }
}

fn abi_version(module: &Module) -> Option<AbiVersion> {
    let mut found = None;
    for export in module.exports() {
        match export.name() {
            "proxy_abi_version_0_2_1" => return Some(AbiVersion::V0_2_1),
            "proxy_abi_version_0_2_0" => found = Some(AbiVersion::V0_2_0),
            _ => {}
        }
    }
    found
}

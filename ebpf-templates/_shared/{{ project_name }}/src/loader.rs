//! What every loader of these templates does the same way: load the object aya-build
//! compiled with kernel-side logging wired up, raise the memlock limit on older kernels,
//! and wait for Ctrl-C or SIGTERM.

use anyhow::Context as _;
use aya::{Ebpf, EbpfLoader};
use log::{debug, warn};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{SignalKind, signal};

/// The object aya-build compiled (see build.rs), with kernel-side logging at
/// the level RUST_LOG asks for, so that disabled log statements cost nothing.
/// `capabilities` names what loading needs besides root, for the error.
pub fn load(capabilities: &str) -> anyhow::Result<Ebpf> {
    let level = log::max_level() as u8;
    let mut ebpf = EbpfLoader::new()
        .override_global(aya_log::LEVEL, &level, false)
        // The eBPF crate's binary, named like this package (its [[bin]] in
        // {{ project_name }}-ebpf/Cargo.toml), in OUT_DIR where build.rs left it.
        .load(aya::include_bytes_aligned!(concat!(
            env!("OUT_DIR"),
            "/",
            env!("CARGO_PKG_NAME")
        )))
        .with_context(|| format!("loading the eBPF object (this needs root, or {capabilities})"))?;
    match aya_log::EbpfLogger::init(&mut ebpf) {
        Ok(logger) => {
            // SAFETY: the logger owns its ring buffer's descriptor, which stays open and the
            // same for as long as the AsyncFd, which owns the logger, lives.
            let mut logger =
                unsafe { AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE) }
                    .map_err(|error| error.into_parts().1)?;
            tokio::task::spawn(async move {
                while let Ok(mut guard) = logger.readable_mut().await {
                    guard.get_inner_mut().flush();
                    guard.clear_ready();
                }
            });
        }
        // The program has no log statements (or the linker dropped them).
        Err(aya_log::Error::MapNotFound) => debug!("no kernel-side logs: the program does not log"),
        Err(error) => warn!("no kernel-side logs: {error}"),
    }
    Ok(ebpf)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown() -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// Older kernels charge BPF maps to RLIMIT_MEMLOCK; newer ones (5.11+) use
/// memory cgroups and ignore it.
pub fn raise_memlock_limit() {
    let limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) } != 0 {
        debug!(
            "could not raise RLIMIT_MEMLOCK: {}",
            std::io::Error::last_os_error()
        );
    }
}

//! What gw asks of the kernel for eBPF tests, through aya where it has the
//! call: objects loaded (maps created), programs through the verifier,
//! BPF_PROG_TEST_RUN; and map elements read and written as raw bytes, with
//! the bpf(2) calls aya keeps typed.

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use aya::maps::{Map, MapData, MapType};
use aya::programs::{Program, ProgramError, TestRun, TestRunOptions};
use aya::{Ebpf, EbpfLoader, VerifierLogLevel};

/// An object with its maps created in the kernel; its programs load on demand.
pub fn open(object: &Path) -> Result<Ebpf, aya::EbpfError> {
    EbpfLoader::new().verifier_log_level(VerifierLogLevel::DEBUG | VerifierLogLevel::STATS).load_file(object)
}

/// An object whose aya-log statements up to `level` emit (the level is a global the program
/// reads, so the ones above it cost nothing).
pub fn open_logging(object: &Path, level: log::LevelFilter) -> Result<Ebpf, aya::EbpfError> {
    let level = level as u8;
    EbpfLoader::new().override_global(aya_log::LEVEL, &level, false).load_file(object)
}

/// Each function symbol of the object with the ELF section it sits in (`xdp`,
/// `classifier`, `cgroup_skb/ingress`, …): how the program's kind and attach point were declared.
pub fn sections(object: &Path) -> std::collections::HashMap<String, String> {
    use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
    let Ok(bytes) = std::fs::read(object) else { return Default::default() };
    let Ok(file) = object::File::parse(bytes.as_slice()) else { return Default::default() };
    file.symbols()
        .filter(|symbol| symbol.kind() == SymbolKind::Text && symbol.is_global())
        .filter_map(|symbol| {
            let section = file.section_by_index(symbol.section_index()?).ok()?;
            Some((symbol.name().ok()?.to_string(), section.name().ok()?.to_string()))
        })
        .collect()
}

/// The kinds of program whose return value a scenario can check, by how it names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Xdp,
    Tc,
    SocketFilter,
    CgroupSkb,
}

pub fn run_kind(program: &Program) -> Option<RunKind> {
    match program {
        Program::Xdp(_) => Some(RunKind::Xdp),
        Program::SchedClassifier(_) => Some(RunKind::Tc),
        Program::SocketFilter(_) => Some(RunKind::SocketFilter),
        Program::CgroupSkb(_) => Some(RunKind::CgroupSkb),
        _ => None,
    }
}

/// Loads a program into the kernel (the verifier's pass) without attaching it. `Ok(false)`:
/// a kind gw does not load yet (it needs a kernel function or BTF type named).
pub fn load(program: &mut Program) -> Result<bool, ProgramError> {
    match program {
        Program::Xdp(p) => p.load(),
        Program::SchedClassifier(p) => p.load(),
        Program::SocketFilter(p) => p.load(),
        Program::CgroupSkb(p) => p.load(),
        Program::TracePoint(p) => p.load(),
        Program::KProbe(p) => p.load(),
        Program::UProbe(p) => p.load(),
        Program::RawTracePoint(p) => p.load(),
        Program::CgroupSock(p) => p.load(),
        Program::CgroupSockAddr(p) => p.load(),
        Program::CgroupSockopt(p) => p.load(),
        Program::CgroupSysctl(p) => p.load(),
        Program::CgroupDevice(p) => p.load(),
        Program::SockOps(p) => p.load(),
        Program::SkMsg(p) => p.load(),
        Program::SkSkb(p) => p.load(),
        Program::SkLookup(p) => p.load(),
        Program::PerfEvent(p) => p.load(),
        Program::FlowDissector(p) => p.load(),
        _ => return Ok(false),
    }
    .map(|()| true)
}

/// One BPF_PROG_TEST_RUN: the return value, the packet as the program left it, and the
/// kernel's average time per run.
pub struct Ran {
    pub value: u32,
    pub packet: Vec<u8>,
    pub duration: std::time::Duration,
}

/// Room for what a program may add to a packet (XDP and tc can grow its head and tail).
const HEADROOM: usize = 4096;

pub fn test_run(program: &Program, packet: &[u8], repeat: u32) -> Result<Ran, ProgramError> {
    let mut out = vec![0u8; packet.len() + HEADROOM];
    let options = TestRunOptions { data_in: Some(packet), data_out: Some(&mut out), repeat, ..Default::default() };
    let result = match program {
        Program::Xdp(p) => p.test_run(options),
        Program::SchedClassifier(p) => p.test_run(options),
        Program::SocketFilter(p) => p.test_run(options),
        Program::CgroupSkb(p) => p.test_run(options),
        _ => return Err(ProgramError::UnexpectedProgramType),
    }?;
    out.truncate(result.data_size_out as usize);
    Ok(Ran { value: result.return_value, packet: out, duration: result.duration })
}

/// A map's layout as the kernel created it.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub key_size: usize,
    pub value_size: usize,
    /// Per-CPU maps keep one value per possible CPU.
    pub cpus: Option<usize>,
}

fn data(map: &Map) -> Option<&MapData> {
    match map {
        Map::Array(d)
        | Map::HashMap(d)
        | Map::LruHashMap(d)
        | Map::LpmTrie(d)
        | Map::PerCpuArray(d)
        | Map::PerCpuHashMap(d)
        | Map::PerCpuLruHashMap(d) => Some(d),
        _ => None,
    }
}

pub fn layout(map: &Map) -> Result<Layout, String> {
    let data = data(map).ok_or("gw reads and writes array, hash, LRU hash and LPM trie maps (per-CPU too)")?;
    let info = data.info().map_err(|e| e.to_string())?;
    let per_cpu = matches!(info.map_type(), Ok(MapType::PerCpuArray | MapType::PerCpuHash | MapType::LruPerCpuHash));
    let cpus = if per_cpu { Some(aya::util::nr_cpus().map_err(|(what, e)| format!("{what}: {e}"))?) } else { None };
    Ok(Layout { key_size: info.key_size() as usize, value_size: info.value_size() as usize, cpus })
}

/// The bytes of one value slot: per-CPU values are 8-byte aligned, one per CPU.
fn slot(layout: &Layout) -> usize {
    match layout.cpus {
        Some(_) => layout.value_size.div_ceil(8) * 8,
        None => layout.value_size,
    }
}

/// Writes `value` under `key`; in a per-CPU map, as CPU 0's value (the others zero).
pub fn update(map: &Map, layout: &Layout, key: &[u8], value: &[u8]) -> std::io::Result<()> {
    let mut buffer = vec![0u8; slot(layout) * layout.cpus.unwrap_or(1)];
    buffer[..value.len()].copy_from_slice(value);
    elem(map, BPF_MAP_UPDATE_ELEM, key, &mut buffer)
}

/// The value under `key` (per-CPU maps: one per CPU), or `None` when the key is not there.
pub fn lookup(map: &Map, layout: &Layout, key: &[u8]) -> std::io::Result<Option<Vec<Vec<u8>>>> {
    let stride = slot(layout);
    let mut buffer = vec![0u8; stride * layout.cpus.unwrap_or(1)];
    match elem(map, BPF_MAP_LOOKUP_ELEM, key, &mut buffer) {
        Ok(()) => Ok(Some(buffer.chunks(stride).map(|c| c[..layout.value_size].to_vec()).collect())),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes `key`; `Ok(false)` when it was not there.
pub fn delete(map: &Map, key: &[u8]) -> std::io::Result<bool> {
    match elem(map, BPF_MAP_DELETE_ELEM, key, &mut []) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every key of the map, in the kernel's order.
pub fn keys(map: &Map, layout: &Layout) -> std::io::Result<Vec<Vec<u8>>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut next = vec![0u8; layout.key_size];
        // The first call names no key: the kernel answers with the first one.
        let current = keys.last().map_or(&[][..], Vec::as_slice);
        match elem(map, BPF_MAP_GET_NEXT_KEY, current, &mut next) {
            Ok(()) => keys.push(next),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(keys),
            Err(e) => return Err(e),
        }
    }
}

/// The map's id in the kernel, by which another process can open it.
pub fn id(map: &Map) -> Option<u32> {
    data(map)?.info().ok().map(|info| info.id())
}

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;

/// The part of `union bpf_attr` the map element commands read.
#[repr(C)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

fn elem(map: &Map, command: libc::c_long, key: &[u8], value: &mut [u8]) -> std::io::Result<()> {
    let fd = data(map).ok_or(std::io::ErrorKind::Unsupported)?.fd().as_fd().as_raw_fd();
    let mut attr = ElemAttr {
        map_fd: fd as u32,
        _pad: 0,
        // NULL for no key: GET_NEXT_KEY then answers with the first.
        key: if key.is_empty() { 0 } else { key.as_ptr() as u64 },
        // DELETE_ELEM takes no value, and the kernel refuses one.
        value: if value.is_empty() { 0 } else { value.as_mut_ptr() as u64 },
        flags: 0, // BPF_ANY
    };
    // SAFETY: `attr` points at `key` and `value`, both alive and sized as the map's layout
    // says (checked by the callers), for the duration of the call.
    let done = unsafe {
        libc::syscall(libc::SYS_bpf, command, &mut attr as *mut ElemAttr, std::mem::size_of::<ElemAttr>() as u32)
    };
    if done < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

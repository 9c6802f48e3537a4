//! The baseline of bench/bpf-test-run.sh: an object's XDP program loaded with aya
//! and one BPF_PROG_TEST_RUN of a packet, `repeat` times; no gw, no YAML, no checks.
//! Prints the wall time of the whole process's work in seconds; the verdict and the
//! kernel's time per run go to stderr.
//!
//!   bpf-run OBJECT PROGRAM PACKET_HEX REPEAT

use std::time::Instant;

use aya::programs::{TestRun, TestRunOptions, Xdp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [object, program, packet, repeat] = args.as_slice() else {
        return Err("usage: bpf-run OBJECT PROGRAM PACKET_HEX REPEAT".into());
    };
    let packet: Vec<u8> = (0..packet.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(packet.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()?;
    let repeat: u32 = repeat.parse()?;
    let started = Instant::now();
    let mut ebpf = aya::Ebpf::load_file(object)?;
    let xdp: &mut Xdp = ebpf.program_mut(program).ok_or("no such program")?.try_into()?;
    xdp.load()?;
    let mut out = vec![0u8; packet.len() + 4096];
    let options = TestRunOptions { data_in: Some(&packet), data_out: Some(&mut out), repeat, ..Default::default() };
    let result = xdp.test_run(options)?;
    println!("{:.6}", started.elapsed().as_secs_f64());
    eprintln!("bpf-run: verdict {}, {:?} per run in the kernel", result.return_value, result.duration);
    Ok(())
}

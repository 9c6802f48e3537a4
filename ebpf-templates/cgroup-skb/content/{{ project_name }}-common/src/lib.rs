//! What the cgroup SKB programs and their loader share — the per-direction
//! counters and their layout — and the loader's pure parts (finding cgroup v2
//! mounts, printing sizes), which `cargo test -p {{ project_name }}-common`
//! runs on the host.
#![cfg_attr(not(test), no_std)]

use core::fmt;

/// `PerCpuArray<Traffic>`, one entry per [`Direction`], indexed by [`Direction::index`].
pub const TRAFFIC_MAP: &str = "TRAFFIC";
/// What a cgroup SKB program returns to let a packet through (0 drops it).
pub const ALLOW: i32 = 1;
/// `statfs` f_type of a cgroup v2 file system.
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Which way a packet crosses the cgroup's sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Direction {
    Ingress = 0,
    Egress = 1,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Ingress, Direction::Egress];
    /// Entries of the traffic array.
    pub const COUNT: u32 = Self::ALL.len() as u32;

    pub const fn index(self) -> u32 {
        self as u32
    }

    pub const fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// The program that counts this direction (its function name in {{ project_name }}-ebpf).
    pub const fn program(self) -> &'static str {
        match self {
            Direction::Ingress => "count_ingress",
            Direction::Egress => "count_egress",
        }
    }
}

/// Packets and bytes (at the IP layer: skb->len) seen in one direction on one
/// CPU. The same layout on both sides of the map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Traffic {
    pub packets: u64,
    pub bytes: u64,
}

// SAFETY: plain old data — two u64, no padding, any bit pattern is valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Traffic {}

impl Traffic {
    /// Counts one packet of `len` bytes.
    #[inline(always)]
    pub fn add(&mut self, len: u32) {
        self.packets += 1;
        self.bytes += u64::from(len);
    }

    /// The sum of the per-CPU values.
    pub fn sum<'a>(per_cpu: impl IntoIterator<Item = &'a Traffic>) -> Traffic {
        per_cpu
            .into_iter()
            .fold(Traffic::default(), |sum, t| Traffic {
                packets: sum.packets.saturating_add(t.packets),
                bytes: sum.bytes.saturating_add(t.bytes),
            })
    }
}

impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} packets, {}", self.packets, Size(self.bytes))
    }
}

/// A byte count in binary units with one decimal: `512 B`, `1.5 KiB`, `3.0 MiB`.
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut unit = 0;
        let mut scale: u128 = 1024;
        while unit + 1 < UNITS.len() && u128::from(self.0) >= scale * 1024 {
            unit += 1;
            scale *= 1024;
        }
        // Tenths, rounded down, in integers (no floating point needed).
        let tenths = u128::from(self.0) * 10 / scale;
        write!(f, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
    }
}

/// The cgroup v2 mount points in a mount table (/proc/self/mounts), for the
/// loader's hint when it is pointed at a directory that is not cgroup v2.
pub fn cgroup2_mounts(mounts: &str) -> impl Iterator<Item = &str> {
    mounts.lines().filter_map(|line| {
        let mut fields = line.split_whitespace();
        let (_source, target, fstype) = (fields.next()?, fields.next()?, fields.next()?);
        (fstype == "cgroup2").then_some(target)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_index_the_array_and_name_their_programs() {
        assert_eq!(Direction::ALL.map(Direction::index), [0, 1]);
        assert_eq!(Direction::COUNT, 2);
        assert_eq!(Direction::Egress.program(), "count_egress");
        assert_eq!(Direction::Ingress.name(), "ingress");
    }

    #[test]
    fn traffic_counts_packets_and_bytes_and_sums_cpus() {
        let mut cpu0 = Traffic::default();
        cpu0.add(1500);
        cpu0.add(60);
        let mut cpu1 = Traffic::default();
        cpu1.add(40);
        assert_eq!(
            cpu0,
            Traffic {
                packets: 2,
                bytes: 1560
            }
        );
        assert_eq!(
            Traffic::sum([&cpu0, &cpu1]),
            Traffic {
                packets: 3,
                bytes: 1600
            }
        );
        assert_eq!(Traffic::sum([]), Traffic::default());
    }

    #[test]
    fn traffic_has_the_layout_the_map_expects() {
        assert_eq!(core::mem::size_of::<Traffic>(), 16);
        assert_eq!(core::mem::align_of::<Traffic>(), 8);
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(Size(0).to_string(), "0 B");
        assert_eq!(Size(1023).to_string(), "1023 B");
        assert_eq!(Size(1024).to_string(), "1.0 KiB");
        assert_eq!(Size(1536).to_string(), "1.5 KiB");
        assert_eq!(Size(3 * 1024 * 1024 + 1).to_string(), "3.0 MiB");
        assert_eq!(Size(u64::MAX).to_string(), "16383.9 PiB");
        let traffic = Traffic {
            packets: 3,
            bytes: 2048,
        };
        assert_eq!(traffic.to_string(), "3 packets, 2.0 KiB");
    }

    #[test]
    fn finds_cgroup2_mounts() {
        let mounts = "\
sysfs /sys sysfs rw,nosuid 0 0
tmpfs /sys/fs/cgroup tmpfs rw 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
";
        assert_eq!(
            cgroup2_mounts(mounts).collect::<Vec<_>>(),
            ["/sys/fs/cgroup/unified"]
        );
        assert_eq!(
            cgroup2_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n").collect::<Vec<_>>(),
            ["/sys/fs/cgroup"]
        );
        assert_eq!(cgroup2_mounts("garbage\n").count(), 0);
    }
}

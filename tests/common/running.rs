//! A gw process whose output is read line by line while it runs, for tests
//! that wait for what it says (`gw run`) and then signal it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::gw::Gw;

pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    pub fn start(gw: &Gw, args: &[&str]) -> Running {
        Running::spawn(gw.command(args))
    }

    /// Runs `command` with its output read line by line.
    pub fn spawn(mut command: Command) -> Running {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Running { child, lines, seen: Vec::new() }
    }

    /// Waits for an output line containing `needle`; returns it.
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_after(0, needle, Duration::from_secs(30))
    }

    /// How many lines have been read so far (for [`Running::expect_after`]).
    pub fn mark(&self) -> usize {
        self.seen.len()
    }

    /// Waits up to `timeout` for a line containing `needle` among those after the first `mark`.
    pub fn expect_after(&mut self, mark: usize, needle: &str, timeout: Duration) -> String {
        if let Some(line) = self.seen[mark.min(self.seen.len())..].iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    pub fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.seen.push(line);
        }
        (status.code().unwrap_or(-1), self.seen.join("\n"))
    }

    pub fn envoy_pid(&mut self) -> i32 {
        let line = self.expect("envoy started (pid ");
        line.split("(pid ").nth(1).unwrap().split(')').next().unwrap().parse().unwrap()
    }
}

impl Drop for Running {
    /// A test that fails half-way leaves no gw behind (and gw's Envoys die with it).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

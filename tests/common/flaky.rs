//! A flaky network between gw and a real server: a loopback TCP forwarder
//! that drops its first connections after reading a little of the request,
//! and forwards the rest untouched.
#![allow(dead_code)]

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Flaky {
    pub port: u16,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
}

impl Flaky {
    /// Forwards to `127.0.0.1:target`, dropping the first `drop_first` connections.
    pub fn start(target: u16, drop_first: usize) -> Flaky {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if count.fetch_add(1, Ordering::SeqCst) < drop_first {
                    let mut head = [0u8; 64];
                    let _ = (&client).read(&mut head);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                let (client_in, server_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(client_in, server_out));
                std::thread::spawn(move || pipe(server, client));
            }
        });
        Flaky { port, accepted }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

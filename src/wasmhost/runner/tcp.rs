//! A connection case, as Envoy drives a network (L4) filter: the new connection, data chunks
//! from either side (buffered while the filter pauses that direction), then both closes.

use super::steps::{self, CaseRun};
use crate::wasmhost::scenario::ConnectionSpec;
use crate::wasmhost::state::{ContextKind, TcpStream};
use crate::wasmhost::vm::{Fault, Vm};

const PEER_LOCAL: u32 = 1;
const PEER_REMOTE: u32 = 2;

enum Chunk<'a> {
    Downstream(&'a str),
    Upstream(&'a str),
}

pub(super) fn run(vm: &mut Vm, connection: &ConnectionSpec, run: CaseRun<'_>) -> Result<(), Fault> {
    let CaseRun { index, overrides, answers, observed } = run;
    let id = steps::open(vm, ContextKind::Tcp(Box::default()), overrides, index as u64 + 1)?;
    steps::action(vm, observed, "new_connection", "proxy_on_new_connection", id, &[id])?;
    steps::drain(vm, answers)?;

    let chunks = connection
        .downstream
        .iter()
        .map(|c| Chunk::Downstream(c))
        .chain(connection.upstream.iter().map(|c| Chunk::Upstream(c)))
        .chain(connection.events.iter().flat_map(|e| {
            e.downstream.iter().map(|c| Chunk::Downstream(c)).chain(e.upstream.iter().map(|c| Chunk::Upstream(c)))
        }));
    for chunk in chunks {
        if tcp(vm, id).closed {
            break;
        }
        let (downstream, data) = match chunk {
            Chunk::Downstream(d) => (true, d),
            Chunk::Upstream(d) => (false, d),
        };
        let buffer = if downstream { &mut tcp(vm, id).downstream } else { &mut tcp(vm, id).upstream };
        buffer.extend_from_slice(data.as_bytes());
        let size = buffer.len() as u32;
        let (name, export) = if downstream {
            ("downstream_data", "proxy_on_downstream_data")
        } else {
            ("upstream_data", "proxy_on_upstream_data")
        };
        let action = steps::action(vm, observed, name, export, id, &[id, size, 0])?;
        steps::drain(vm, answers)?;
        let stream = tcp(vm, id);
        if stream.closed {
            break;
        }
        let resumed = if downstream { stream.downstream_resumed } else { stream.upstream_resumed };
        if action == 0 || resumed {
            // Data from the client goes to the upstream, and the other way round.
            if downstream {
                let data = std::mem::take(&mut stream.downstream);
                observed.upstream_data.extend_from_slice(&data);
            } else {
                let data = std::mem::take(&mut stream.upstream);
                observed.downstream_data.extend_from_slice(&data);
            }
        }
    }

    let peer = if tcp(vm, id).closed { PEER_LOCAL } else { PEER_REMOTE };
    vm.call("proxy_on_downstream_connection_close", id, &[id, peer])?;
    steps::drain(vm, answers)?;
    vm.call("proxy_on_upstream_connection_close", id, &[id, PEER_LOCAL])?;
    steps::drain(vm, answers)?;
    steps::close(vm, id, answers)?;
    if let Some(context) = vm.state().contexts.remove(&id) {
        observed.properties_set = context.properties_set;
        if let ContextKind::Tcp(stream) = context.kind {
            observed.closed = stream.closed;
        }
    }
    Ok(())
}

fn tcp(vm: &mut Vm, id: u32) -> &mut TcpStream {
    vm.state().contexts.get_mut(&id).and_then(|c| c.tcp_mut()).expect("the case's connection context exists")
}

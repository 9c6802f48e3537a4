//! Metrics: counters, gauges and histograms, kept for the whole scenario file as Envoy keeps
//! its stats. Semantics follow Envoy: a counter only grows (recording adds to it), a gauge is
//! set or moved either way, a histogram records samples and cannot be read back.

use super::Registry;
use super::memory::{Call, read_string, write_u32, write_u64};
use crate::wasmhost::state::{MetricKind, Status};

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func("env", "proxy_define_metric", |mut c: Call<'_>, kind: i32, name_ptr: i32, name_len: i32, id_ptr: i32| {
        let kind = match kind {
            0 => MetricKind::Counter,
            1 => MetricKind::Gauge,
            2 => MetricKind::Histogram,
            _ => return Status::BadArgument.code(),
        };
        let Some(name) = read_string(&mut c, name_ptr, name_len) else { return Status::InvalidMemoryAccess.code() };
        let id = c.data_mut().world.metrics.define(kind, &name);
        if write_u32(&mut c, id_ptr, id) { Status::Ok.code() } else { Status::InvalidMemoryAccess.code() }
    })?;
    r.func("env", "proxy_increment_metric", |mut c: Call<'_>, id: i32, delta: i64| {
        let Some(metric) = c.data_mut().world.metrics.get_mut(id as u32) else { return Status::NotFound.code() };
        match metric.kind {
            MetricKind::Counter if delta < 0 => Status::BadArgument.code(),
            MetricKind::Counter | MetricKind::Gauge => {
                metric.value = metric.value.saturating_add(delta);
                Status::Ok.code()
            }
            MetricKind::Histogram => Status::BadArgument.code(),
        }
    })?;
    r.func("env", "proxy_record_metric", |mut c: Call<'_>, id: i32, value: i64| {
        let Some(metric) = c.data_mut().world.metrics.get_mut(id as u32) else { return Status::NotFound.code() };
        let value = value as u64;
        match metric.kind {
            MetricKind::Counter => metric.value = metric.value.saturating_add(value as i64),
            MetricKind::Gauge => metric.value = value as i64,
            MetricKind::Histogram => {
                metric.value = value as i64;
                metric.samples += 1;
            }
        }
        Status::Ok.code()
    })?;
    r.func("env", "proxy_get_metric", |mut c: Call<'_>, id: i32, ptr: i32| {
        let value = match c.data_mut().world.metrics.get_mut(id as u32) {
            None => return Status::NotFound.code(),
            Some(m) if m.kind == MetricKind::Histogram => return Status::BadArgument.code(),
            Some(m) => m.value as u64,
        };
        if write_u64(&mut c, ptr, value) { Status::Ok.code() } else { Status::InvalidMemoryAccess.code() }
    })
}

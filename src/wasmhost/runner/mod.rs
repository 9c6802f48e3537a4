//! Runs one scenario file: starts the VM (root context, `proxy_on_vm_start`,
//! `proxy_on_configure`), runs the cases in order in that VM, restarts it after a fault, and
//! shuts the root context down at the end.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use wasmtime::InstancePre;

mod http;
mod steps;
mod tcp;

use steps::{Answers, CaseRun};

use super::clock::Clock;
use super::engine::{Host, LoadedModule};
use super::results::{CaseReport, FileReport, Observed, Verdict};
use super::scenario::{Case, Scenario};
use super::state::{HostState, LogLevel, Plugin, ROOT_CONTEXT, SharedData, World};
use super::vm::{Fault, Vm};
use super::{Error, abi, attributes, expect};

/// How many of a failed case's warning-or-worse log lines go into its failure (a Rust panic's
/// message is among them).
const LOG_LINES_ON_FAULT: usize = 20;

/// Running scenarios is the runner's; the engine only loads modules.
impl Host {
    /// Runs one scenario file. Only an unreadable or invalid file is an `Err`; everything the
    /// filter does wrong is a failed case.
    pub fn run_scenario_file(&self, module: &LoadedModule, scenario: &Path) -> Result<FileReport, Error> {
        let parsed = Scenario::load(scenario)?;
        self.run_scenario(module, &parsed, scenario)
    }

    /// Runs a scenario already read; `file` names it in the report. `Err` only for invalid
    /// property overrides.
    pub fn run_scenario(&self, module: &LoadedModule, scenario: &Scenario, file: &Path) -> Result<FileReport, Error> {
        run(self, module, scenario, file)
    }
}

pub(crate) fn run(host: &Host, module: &LoadedModule, scenario: &Scenario, file: &Path) -> Result<FileReport, Error> {
    let started = Instant::now();
    let invalid = |message: String| Error::Scenario { path: file.to_path_buf(), message };
    let world = world(module, scenario).map_err(invalid)?;
    let mut case_overrides = Vec::new();
    for case in &scenario.cases {
        case_overrides
            .push(encode_overrides(&case.properties).map_err(|e| invalid(format!("case {:?}: {e}", case.name)))?);
    }

    let pre = abi::linker(&host.engine, &module.module)
        .and_then(|linker| linker.instantiate_pre(&module.module))
        .map_err(|e| format!("cannot link the module: {e:#}"));
    let mut session = Session { host, module, pre, vm: None, world: Some(world), answers: &scenario.http_calls };

    let mut cases = Vec::new();
    if scenario.expect_start_failure {
        cases.push(session.expect_refusal());
    }
    for ((index, case), overrides) in scenario.cases.iter().enumerate().zip(case_overrides) {
        cases.push(session.repeated(case, index, overrides));
    }
    if let Some(failure) = session.shutdown() {
        cases.push(failure);
    }
    Ok(FileReport { file: file.to_path_buf(), cases, duration: started.elapsed() })
}

fn world(module: &LoadedModule, scenario: &Scenario) -> Result<World, String> {
    let plugin = Plugin {
        name: scenario
            .plugin_name
            .clone()
            .unwrap_or_else(|| module.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()),
        root_id: scenario.root_id.clone().unwrap_or_default(),
        vm_id: scenario.vm_id.clone().unwrap_or_default(),
        vm_config: scenario.vm_config.0.clone(),
        plugin_config: scenario.plugin_config.0.clone(),
        log_level: scenario.log_level,
        overrides: encode_overrides(&scenario.properties)?,
    };
    let mut shared_data = SharedData::default();
    for (key, value) in &scenario.shared_data {
        shared_data.set(key, value.clone().into_bytes(), 0);
    }
    Ok(World {
        plugin,
        clock: Clock::starting_at(scenario.time.map(|t| t.0).unwrap_or_else(Clock::wall)),
        shared_data,
        next_context_id: ROOT_CONTEXT + 1,
        random_state: 0x5EED,
        ..Default::default()
    })
}

fn encode_overrides(
    properties: &BTreeMap<String, serde_norway::Value>,
) -> Result<BTreeMap<String, Option<Vec<u8>>>, String> {
    properties.iter().map(|(k, v)| Ok((k.clone(), attributes::encode_override(k, v)?))).collect()
}

/// How a start attempt ended.
enum Start {
    Running,
    /// `proxy_on_vm_start` or `proxy_on_configure` said no.
    Refused(String),
    Failed(String),
}

struct Session<'a> {
    host: &'a Host,
    module: &'a LoadedModule,
    pre: Result<InstancePre<HostState>, String>,
    /// The running VM; `None` before the first case and after a fault.
    vm: Option<Vm>,
    /// The world while no VM holds it.
    world: Option<World>,
    answers: &'a [crate::wasmhost::scenario::HttpCallSpec],
}

impl Session<'_> {
    fn world_mut(&mut self) -> &mut World {
        match &mut self.vm {
            Some(vm) => &mut vm.state().world,
            None => self.world.as_mut().expect("the world is held by the session when no VM runs"),
        }
    }

    /// Drops the VM (after a fault), keeping the world for the next one.
    fn discard_vm(&mut self) {
        if let Some(vm) = self.vm.take() {
            self.world = Some(vm.into_world());
        }
    }

    /// Starts a VM unless one runs, the way Envoy starts a plugin.
    fn start(&mut self) -> Start {
        if self.vm.is_some() {
            return Start::Running;
        }
        let pre = match &self.pre {
            Ok(pre) => pre,
            Err(message) => return Start::Failed(message.clone()),
        };
        let world = self.world.take().expect("no VM runs, so the session holds the world");
        let mut vm = match Vm::instantiate(self.host, self.module, pre, world) {
            Ok(vm) => vm,
            Err((world, fault)) => {
                self.world = Some(*world);
                return Start::Failed(fault.0);
            }
        };
        let answers = Answers { case: &[], file: self.answers };
        let outcome = (|| -> Result<Start, Fault> {
            // WASI reactors initialize, then may run main; commands run _start.
            if vm.has("_initialize") {
                vm.call("_initialize", ROOT_CONTEXT, &[])?;
                vm.call("main", ROOT_CONTEXT, &[0, 0])?;
            } else {
                vm.call("_start", ROOT_CONTEXT, &[])?;
            }
            vm.call("proxy_on_context_create", ROOT_CONTEXT, &[ROOT_CONTEXT, 0])?;
            let (vm_config, plugin_config) = {
                let plugin = &vm.state().world.plugin;
                (plugin.vm_config.len() as u32, plugin.plugin_config.len() as u32)
            };
            if vm.call("proxy_on_vm_start", ROOT_CONTEXT, &[ROOT_CONTEXT, vm_config])? == Some(0) {
                return Ok(Start::Refused("proxy_on_vm_start returned false".into()));
            }
            steps::drain(&mut vm, answers)?;
            if vm.call("proxy_on_configure", ROOT_CONTEXT, &[ROOT_CONTEXT, plugin_config])? == Some(0) {
                return Ok(Start::Refused("proxy_on_configure returned false".into()));
            }
            steps::drain(&mut vm, answers)?;
            Ok(Start::Running)
        })();
        match outcome {
            Ok(Start::Running) => {
                self.vm = Some(vm);
                Start::Running
            }
            Ok(other) => {
                self.world = Some(vm.into_world());
                other
            }
            Err(fault) => {
                self.world = Some(vm.into_world());
                Start::Failed(fault.0)
            }
        }
    }

    /// The `expect_start_failure` case: the plugin must refuse its configuration.
    fn expect_refusal(&mut self) -> CaseReport {
        let started = Instant::now();
        self.world_mut().begin_case();
        let outcome = match self.start() {
            Start::Refused(_) => Verdict::Passed,
            Start::Running => {
                self.shutdown();
                Verdict::Failed(vec![
                    "start: expected the plugin to refuse to start, but it started (proxy_on_vm_start and \
                     proxy_on_configure returned true)"
                        .into(),
                ])
            }
            Start::Failed(message) => Verdict::Failed(vec![format!("the plugin did not start: {message}")]),
        };
        let observed = Observed { logs: std::mem::take(&mut self.world_mut().logs), ..Default::default() };
        CaseReport { name: "plugin start".into(), outcome, duration: started.elapsed(), observed, notes: Vec::new() }
    }

    /// The case `repeat` times, stopping at the first run that fails; the report is that
    /// run's, or the last one's, with the time of them all.
    fn repeated(&mut self, case: &Case, index: usize, overrides: BTreeMap<String, Option<Vec<u8>>>) -> CaseReport {
        let times = case.repeat.get();
        let started = Instant::now();
        let mut report = self.case(case, index, overrides.clone());
        for run in 2..=times {
            if !report.outcome.is_passed() {
                break;
            }
            report = self.case(case, index, overrides.clone());
            if let Verdict::Failed(lines) = &mut report.outcome {
                lines.insert(0, format!("run {run} of {times} (the earlier ones passed):"));
            }
        }
        report.duration = started.elapsed();
        report
    }

    fn case(&mut self, case: &Case, index: usize, overrides: BTreeMap<String, Option<Vec<u8>>>) -> CaseReport {
        let started = Instant::now();
        let call_mark = self.world_mut().begin_case();
        let mut observed = Observed::default();
        let answers = Answers { case: &case.http_calls, file: self.answers };
        let result = match self.start() {
            Start::Running => {
                let vm = self.vm.as_mut().expect("started");
                run_steps(vm, case, CaseRun { index, overrides, answers, observed: &mut observed })
            }
            Start::Refused(why) | Start::Failed(why) => Err(Fault(format!("the plugin did not start: {why}"))),
        };
        if result.is_err() {
            self.discard_vm();
        }
        if let Some(vm) = self.vm.as_mut() {
            // Contexts a fault left behind are gone with the VM; these are the case's.
            vm.state().contexts.retain(|id, _| *id == ROOT_CONTEXT);
        }
        let world = self.world_mut();
        observed.logs = std::mem::take(&mut world.logs);
        observed.http_calls = world.http_calls[call_mark..].to_vec();
        observed.metrics = world.metrics.snapshot();
        observed.shared_data = world.shared_data.entries.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect();

        let outcome = match result {
            Err(fault) => {
                let mut lines = vec![fault.0.clone()];
                let loud: Vec<_> = observed.logs.iter().filter(|l| l.level >= LogLevel::Warn).collect();
                let skip = loud.len().saturating_sub(LOG_LINES_ON_FAULT);
                lines.extend(loud[skip..].iter().map(|l| format!("log {}: {}", l.level, l.message)));
                observed.fault = Some(fault.0);
                Verdict::Failed(lines)
            }
            Ok(()) => {
                let differences = expect::compare(&case.expect, &observed, case.is_http());
                if differences.is_empty() { Verdict::Passed } else { Verdict::Failed(differences) }
            }
        };
        CaseReport { name: case.name.clone(), outcome, duration: started.elapsed(), observed, notes: Vec::new() }
    }

    /// Ends the root context (`proxy_on_done`, then `proxy_on_delete` unless the filter
    /// defers it). A fault here is reported as one more failed case.
    fn shutdown(&mut self) -> Option<CaseReport> {
        let mut vm = self.vm.take()?;
        let started = Instant::now();
        let result = (|| -> Result<(), Fault> {
            let done = vm.call("proxy_on_done", ROOT_CONTEXT, &[ROOT_CONTEXT])?;
            if done != Some(0) || vm.state().root_done {
                vm.call("proxy_on_delete", ROOT_CONTEXT, &[ROOT_CONTEXT])?;
            }
            Ok(())
        })();
        self.world = Some(vm.into_world());
        result.err().map(|fault| CaseReport {
            name: "plugin shutdown".into(),
            outcome: Verdict::Failed(vec![fault.0]),
            duration: started.elapsed(),
            observed: Observed::default(),
            notes: Vec::new(),
        })
    }
}

fn run_steps(vm: &mut Vm, case: &Case, run: CaseRun<'_>) -> Result<(), Fault> {
    let answers = run.answers;
    if let Some(ms) = case.tick {
        steps::tick(vm, ms, answers)?;
    }
    for item in &case.enqueue {
        let state = vm.state();
        let vm_id = item.vm_id.clone().unwrap_or_else(|| state.world.plugin.vm_id.clone());
        let Some(token) = state.world.queues.token(&vm_id, &item.queue) else {
            return Err(Fault(format!(
                "enqueue: no queue {:?} (vm_id {vm_id:?}) is registered; the filter registers queues with \
                 proxy_register_shared_queue",
                item.queue
            )));
        };
        let queue = state.world.queues.get_mut(token).expect("the token was just resolved");
        queue.items.push_back(item.value.clone().into_bytes());
        let owner = queue.owner;
        state.queue_ready.push_back((owner, token));
        steps::drain(vm, answers)?;
    }
    if let Some(connection) = &case.connection {
        tcp::run(vm, connection, run)
    } else if case.is_http() {
        http::run(vm, case, run)
    } else {
        steps::drain(vm, answers)
    }
}

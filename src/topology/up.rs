//! `gw run` in a project: echo upstreams, then the service Envoys, then the
//! front, from configs checked before any process starts; everything
//! stopped in reverse order; with `--watch`, each successful rebuild swapped
//! into the running Envoys by replacing their listener files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::render::{self, FRONT, Plan};
use super::spec::Spec;
use super::{Error, ProjectModule, plan, render_checked, sources};
use crate::echo::Echo;
use crate::envoy::{self, Ended, Fleet, Member, Stop};
use crate::report::{Event, Reporter};

/// Where an Envoy's stdout and stderr go (besides its log files).
pub type Output = (Box<dyn Write + Send>, Box<dyn Write + Send>);

pub struct Request<'a> {
    pub envoy: PathBuf,
    pub spec: Spec,
    pub project: ProjectModule,
    /// `$GW_HOME/runs`: the topology gets `runs/<id>/`, each Envoy a directory inside.
    pub runs_dir: PathBuf,
    pub output: &'a dyn Fn(&str) -> Output,
    /// Rebuilds on a source change (`--watch`): the new module, or why not.
    pub rebuild: Option<&'a mut dyn FnMut() -> Result<PathBuf, String>>,
    /// The sources' newest mtime when the module was built: a later change means a rebuild.
    pub built_from: Option<SystemTime>,
    pub ready_timeout: Duration,
}

pub struct Outcome {
    pub stop: Stop,
    pub run_dir: PathBuf,
    pub ended: Vec<(String, Ended)>,
}

pub fn up(request: Request<'_>, reporter: &dyn Reporter) -> Result<Outcome, Error> {
    let Request { envoy, spec, mut project, runs_dir, output, mut rebuild, built_from, ready_timeout } = request;
    let run_dir = envoy::new_run_dir(&runs_dir)?;
    let config_dir = run_dir.join("config");
    std::fs::create_dir_all(&config_dir).map_err(io(&config_dir))?;
    project.wasm = stage_module(&run_dir, &project.wasm)?;

    let mut echoes = Vec::new();
    let mut echo_port = |service: &str| {
        let echo = Echo::start(service).map_err(|e| Error::Topology(format!("cannot start the echo upstream: {e}")))?;
        let port = echo.port();
        echoes.push(echo);
        Ok(port)
    };
    let mut plan = plan(&spec, &project, &mut echo_port, Some(config_dir.clone()))?;
    let files = render_checked(&plan)?;
    for file in &files {
        write_atomically(&config_dir.join(&file.name), &file.yaml)?;
    }

    // Services first, the front last: it routes to them.
    let names = plan.services.iter().map(|s| s.name.clone()).chain([FRONT.to_string()]);
    let members = names
        .map(|name| {
            let config =
                config_dir.join(if name == FRONT { format!("{FRONT}.yaml") } else { render::service_file(&name) });
            let (echo_stdout, echo_stderr) = output(&name);
            let args = vec!["-c".into(), config.into(), "--disable-hot-restart".into()];
            Member { name, binary: envoy.clone(), args, echo_stdout, echo_stderr }
        })
        .collect();
    let mut fleet = Fleet::start(&run_dir, members, reporter)?;
    let stop = match fleet.wait_ready(ready_timeout, reporter)? {
        Some(stop) => stop,
        None => {
            reporter.event(Event::TopologyReady { urls: urls(&plan) });
            let mut watch = rebuild.as_mut().map(|rebuild| Watch {
                root: project.root.clone(),
                seen: built_from,
                current: project.wasm.clone(),
                rebuild: &mut **rebuild,
            });
            let mut tick = || {
                if let Some(watch) = watch.as_mut()
                    && let Some(event) = watch.check(&run_dir, &config_dir, &mut plan)
                {
                    reporter.event(event);
                }
            };
            fleet.wait(&mut tick, reporter)?
        }
    };
    let ended = fleet.stop(reporter)?;
    drop(echoes);
    Ok(Outcome { stop, run_dir, ended })
}

/// Where to send requests: the front listener, one URL per route.
fn urls(plan: &Plan) -> Vec<String> {
    let front = plan.front.port;
    plan.routes.iter().map(|(prefix, service)| format!("http://127.0.0.1:{front}{prefix}  → {service}")).collect()
}

struct Watch<'a> {
    root: PathBuf,
    seen: Option<SystemTime>,
    /// The staged module the filters run now.
    current: PathBuf,
    rebuild: &'a mut dyn FnMut() -> Result<PathBuf, String>,
}

impl Watch<'_> {
    /// On a source change: rebuild, and on success point every filter that
    /// runs the project's module at the new one and replace the listener files.
    fn check(&mut self, run_dir: &Path, config_dir: &Path, plan: &mut Plan) -> Option<Event> {
        let newest = sources::newest(&self.root);
        if newest <= self.seen {
            return None;
        }
        self.seen = newest;
        let built = match (self.rebuild)() {
            Ok(built) => built,
            Err(reason) => return Some(Event::RebuildFailed { reason }),
        };
        let result = stage_module(run_dir, &built).and_then(|staged| {
            let mut next = plan.clone();
            let filters =
                next.front.filters.iter_mut().chain(next.services.iter_mut().flat_map(|s| &mut s.node.filters));
            for filter in filters.filter(|f| f.wasm == self.current) {
                filter.wasm = staged.clone();
            }
            let files = render_checked(&next)?;
            // Listener files only: Envoy watches them; the bootstraps are read once.
            for file in files.iter().filter(|f| f.schema == render::Schema::Discovery) {
                write_atomically(&config_dir.join(&file.name), &file.yaml)?;
            }
            *plan = next;
            Ok(staged)
        });
        Some(match result {
            Ok(staged) => {
                self.current = staged.clone();
                Event::Reloaded { module: staged }
            }
            Err(e) => Event::RebuildFailed { reason: e.to_string() },
        })
    }
}

/// Copies the module into the run, named by its content: a new build gets a
/// new name, so a listener that points at it is a changed listener.
fn stage_module(run_dir: &Path, wasm: &Path) -> Result<PathBuf, Error> {
    let bytes = std::fs::read(wasm).map_err(io(wasm))?;
    let digest = crate::download::Sha256::of_bytes(&bytes);
    let dir = run_dir.join("modules");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let stem = wasm.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "filter".into());
    let staged = dir.join(format!("{stem}-{}.wasm", &digest.as_str()[..12]));
    std::fs::write(&staged, bytes).map_err(io(&staged))?;
    Ok(staged)
}

/// Whole files only: Envoy sees the new listener file or the old one.
fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    crate::fsutil::write_atomically(path, text.as_bytes(), 0o644).map_err(io(path))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

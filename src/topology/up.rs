//! `gw run` in a project: echo upstreams, then the service Envoys, then the
//! front, from configs checked before any process starts; everything
//! stopped in reverse order; with `--watch`, each successful rebuild swapped
//! into the running Envoys by replacing their listener files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use std::time::Instant;

use super::accesslog::Tail;
use super::echo::Echo;
use super::render::{self, FRONT, Plan, RoutePlan};
use super::serving::{self, Expected};
use super::spec::Spec;
use super::{Error, ProjectModule, Refused, plan, render_checked, sources};
use crate::envoy::{self, Ended, Fleet, Launch, Member, Stop, Stopping, Waited};
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
    /// Report each request the Envoys log (`--access-log`).
    pub access_log: bool,
    /// Set when the topology runs in a network lab's gateway namespace: where the lab's
    /// clients reach the front.
    pub lab_front: Option<std::net::Ipv4Addr>,
}

pub struct Finished {
    pub stop: Stop,
    pub run_dir: PathBuf,
    pub ended: Vec<(String, Ended)>,
}

impl Finished {
    /// gw's exit code: 0 after Ctrl-C or SIGTERM; an Envoy that exited by itself passes its
    /// code on, 1 if that was 0 (a topology is not meant to end by itself).
    pub fn exit_code(&self) -> i32 {
        match self.stop {
            Stop::Signal(_) => 0,
            Stop::Exited { code: 0, .. } => 1,
            Stop::Exited { code, .. } => code,
        }
    }
}

pub fn up(request: Request<'_>, reporter: &dyn Reporter) -> Result<Finished, Error> {
    let Request {
        envoy,
        spec,
        mut project,
        runs_dir,
        output,
        mut rebuild,
        built_from,
        ready_timeout,
        access_log,
        lab_front,
    } = request;
    let run_dir = envoy::new_run_dir(&runs_dir)?;
    let config_dir = run_dir.join("config");
    fs_err::create_dir_all(&config_dir)?;
    project.wasm = stage_module(&run_dir, &project.wasm)?;

    let mut echoes = Vec::new();
    let mut echo_port = |service: &str, endpoint: usize| {
        let echo =
            Echo::start(service, endpoint).map_err(|source| Error::Echo { service: service.to_string(), source })?;
        let port = echo.port();
        echoes.push(echo);
        Ok(port)
    };
    // runs_dir is $GW_HOME/runs: the development certificate is kept beside it.
    let home = runs_dir.parent().unwrap_or(&runs_dir).to_path_buf();
    let mut plan = plan(&spec, &project, &mut echo_port, Some(config_dir.clone()), &home)?;
    plan.lab_front = lab_front;
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
            // Warnings and up, and what the filters log: Envoy's start-up inventory at info
            // level would bury them (everything Envoy logs still goes to its log file).
            let args = vec![
                "-c".into(),
                config.into(),
                "--disable-hot-restart".into(),
                "--log-level".into(),
                "warning".into(),
                "--component-log-level".into(),
                "wasm:info".into(),
                // Access logs reach their files within a second (Envoy's default is 10 s).
                "--file-flush-interval-msec".into(),
                "1000".into(),
            ];
            let launch = Launch { binary: envoy.clone(), args, echo_stdout, echo_stderr };
            Member { run_dir: run_dir.join(&name), name, launch }
        })
        .collect();
    let mut fleet = Fleet::start(members, reporter)?;
    let envoys: Vec<String> = plan.services.iter().map(|s| s.name.clone()).chain([FRONT.to_string()]).collect();
    let stop = match fleet.wait_ready(ready_timeout, reporter)? {
        Some(stop) => stop,
        None => match await_serving(&mut fleet, &envoys, &plan, ready_timeout) {
            Ok(Some(stop)) => stop,
            Ok(None) => {
                // In a lab the admin page is on the gateway's loopback.
                let inside = if plan.lab_front.is_some() { "gw lab exec gateway -- curl " } else { "" };
                let stats = fleet.admin(FRONT).map(|a| format!("{inside}http://{}/stats?filter=wasm", a.address()));
                reporter.event(Event::TopologyReady { urls: urls(&plan), stats });
                let mut watch = rebuild.as_mut().map(|rebuild| Watch {
                    root: project.root.clone(),
                    seen: built_from,
                    current: project.wasm.clone(),
                    rebuild: &mut **rebuild,
                    pending: None,
                });
                let mut tail = access_log.then(|| Tail::new(&run_dir, &envoys));
                let mut tick = |fleet: &Fleet| {
                    if let Some(watch) = watch.as_mut()
                        && let Some(event) = watch.check(fleet, &run_dir, &config_dir, &mut plan)
                    {
                        reporter.event(event);
                    }
                    for (envoy, line) in tail.as_mut().map(Tail::poll).unwrap_or_default() {
                        let line = line.map_or_else(|raw| raw, |entry| entry.to_string());
                        reporter.event(Event::Request { envoy, line });
                    }
                };
                fleet.wait(&mut tick)?
            }
            Err(error) => {
                // Stopped in order, bundles written: the run directory shows what Envoy saw.
                fleet.stop(Stopping::TOPOLOGY, reporter)?;
                return Err(error);
            }
        },
    };
    if let Stop::Exited { name, code, log } = &stop {
        reporter.event(Event::EnvoyExited { name: name.clone(), code: *code, log: log.clone() });
    }
    let ended = fleet.stop(Stopping::TOPOLOGY, reporter)?;
    drop(echoes);
    Ok(Finished { stop, run_dir, ended })
}

/// After /ready: every listener serving what gw wrote (`Ok(None)`), a reason to stop that
/// came first, or Envoy's refusal with the plugins' log lines and where their configuration
/// came from.
fn await_serving(fleet: &mut Fleet, envoys: &[String], plan: &Plan, timeout: Duration) -> Result<Option<Stop>, Error> {
    let expected = serving::at_start(fleet, envoys);
    match fleet.wait_for(Some(timeout), &mut |fleet| serving::verdict(fleet, &expected))? {
        Waited::Stopped(stop) => Ok(Some(stop)),
        Waited::Done(Ok(())) => Ok(None),
        Waited::Done(Err(refusal)) => {
            let filters = filters_of(plan, &refusal.envoy);
            Err(Error::Refused(Box::new(Refused { refusal, filters })))
        }
        Waited::TimedOut => Err(crate::envoy::Error::NotServing { seconds: timeout.as_secs() }.into()),
    }
}

/// The filters of the Envoy called `envoy`, with where their configuration came from.
fn filters_of(plan: &Plan, envoy: &str) -> Vec<(String, String)> {
    let node = if envoy == FRONT {
        Some(&plan.front)
    } else {
        plan.services.iter().find(|s| s.name == envoy).map(|s| &s.node)
    };
    node.map(|n| n.filters.iter().map(|f| (f.name.clone(), f.config_origin.clone())).collect()).unwrap_or_default()
}

/// Where to send requests: the front listener, one URL per route. In a lab, from its client.
fn urls(plan: &Plan) -> Vec<String> {
    let front = plan.front.port;
    let tls = plan.tls.is_some();
    // The development certificate names localhost: in a lab, curl resolves it to the gateway.
    let (host, resolve) = match plan.lab_front {
        Some(address) if tls => ("localhost".to_string(), format!(" --resolve localhost:{front}:{address}")),
        Some(address) => (address.to_string(), String::new()),
        None if tls => ("localhost".to_string(), String::new()),
        None => ("127.0.0.1".to_string(), String::new()),
    };
    let base = format!("{}://{host}:{front}", if tls { "https" } else { "http" });
    let curl = if plan.lab_front.is_some() { "gw lab exec client -- curl" } else { "curl" };
    let open = |r: &RoutePlan| if plan.jwt.is_some() && !r.jwt { " (no token needed)" } else { "" };
    let mut urls: Vec<String> =
        plan.routes.iter().map(|r| format!("{base}{}  → {}{}", r.prefix, r.describe(), open(r))).collect();
    let h2 = if plan.tls.as_ref().is_some_and(|t| t.http2) { " --http2" } else { "" };
    let ca = plan.tls.as_ref().and_then(|t| t.ca.as_ref());
    if let Some(ca) = ca {
        urls.push(format!("(gw's development CA: {curl}{h2}{resolve} --cacert {} {base}/)", ca.display()));
    } else if plan.lab_front.is_some() {
        urls.push(format!("(from the lab's client: {curl}{h2}{resolve} {base}/)"));
    }
    // With a development token, the lines that show the gateway at work.
    let token = plan.jwt.as_ref().and_then(|j| j.dev_token.as_ref());
    let guarded = plan.routes.iter().find(|r| {
        r.jwt && r.headers_match.is_empty() && (r.methods.is_empty() || r.methods.iter().any(|m| m == "GET"))
    });
    if let (Some(token), Some(route)) = (token, guarded) {
        let curl = match ca {
            Some(ca) => format!("{curl} -i{h2}{resolve} --cacert {}", ca.display()),
            None => format!("{curl} -i{h2}{resolve}"),
        };
        let url = format!("{base}{}", route.prefix);
        urls.push(format!("401 without a token: {curl} {url}"));
        let with_token = format!("{curl} -H \"authorization: Bearer $(cat {})\" {url}", token.display());
        urls.push(format!("200 with the development token: {with_token}"));
        if let Some(limit) = &plan.rate_limit {
            let per = crate::topology::policy::envoy_duration(limit.per);
            urls.push(format!("429 past {} requests per {per}: the same again", limit.requests));
        }
    }
    urls
}

struct Watch<'a> {
    root: PathBuf,
    seen: Option<SystemTime>,
    /// The staged module the filters run now.
    current: PathBuf,
    rebuild: &'a mut dyn FnMut() -> Result<PathBuf, String>,
    /// A swap written, not yet judged by Envoy.
    pending: Option<Swap>,
}

/// Listener files rewritten for a new module, waiting for Envoy's verdict.
struct Swap {
    staged: PathBuf,
    expected: Vec<Expected>,
    /// The plan as it was, taken back if Envoy refuses: Envoy keeps serving it.
    previous: Plan,
    since: Instant,
    warned: bool,
}

/// How long a swap may take before gw says Envoy has not taken it yet.
const SWAP_PATIENCE: Duration = Duration::from_secs(30);

impl Watch<'_> {
    /// On a source change: rebuild, and on success point every filter that runs the
    /// project's module at the new one and replace those Envoys' listener files; on later
    /// calls, report whether Envoy took the new listeners or refused them.
    fn check(&mut self, fleet: &Fleet, run_dir: &Path, config_dir: &Path, plan: &mut Plan) -> Option<Event> {
        if let Some(swap) = &mut self.pending {
            return match serving::verdict(fleet, &swap.expected) {
                None if swap.since.elapsed() > SWAP_PATIENCE && !swap.warned => {
                    swap.warned = true;
                    Some(Event::Warning(format!(
                        "Envoy has not taken the rebuilt filter after {} s; still waiting",
                        SWAP_PATIENCE.as_secs()
                    )))
                }
                None => None,
                Some(Ok(())) => {
                    let swap = self.pending.take().expect("pending");
                    self.current = swap.staged.clone();
                    Some(Event::Reloaded { module: swap.staged })
                }
                Some(Err(refusal)) => {
                    let swap = self.pending.take().expect("pending");
                    *plan = swap.previous;
                    Some(Event::SwapRefused { envoy: refusal.envoy, reason: refusal.reason, log: refusal.log })
                }
            };
        }
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
            let mut changed = Vec::new();
            let nodes = std::iter::once((FRONT.to_string(), &mut next.front))
                .chain(next.services.iter_mut().map(|s| (s.name.clone(), &mut s.node)));
            for (envoy, node) in nodes {
                let mut touched = false;
                for filter in node.filters.iter_mut().filter(|f| f.wasm == self.current) {
                    filter.wasm = staged.clone();
                    touched = true;
                }
                if touched {
                    changed.push(envoy);
                }
            }
            let files = render_checked(&next)?;
            // Listener files only (Envoy watches them; the bootstraps are read once), and
            // only those that changed.
            let expected = serving::after_swap(fleet, &changed, &staged.display().to_string());
            for envoy in &changed {
                let name = render::listeners_file(envoy);
                if let Some(file) = files.iter().find(|f| f.name == name) {
                    write_atomically(&config_dir.join(&file.name), &file.yaml)?;
                }
            }
            Ok((staged, next, expected))
        });
        match result {
            Ok((staged, next, expected)) => {
                let previous = std::mem::replace(plan, next);
                self.pending = Some(Swap { staged, expected, previous, since: Instant::now(), warned: false });
                None
            }
            Err(e) => Some(Event::RebuildFailed { reason: e.to_string() }),
        }
    }
}

/// Copies the module into the run, named by its content: a new build gets a
/// new name, so a listener that points at it is a changed listener.
fn stage_module(run_dir: &Path, wasm: &Path) -> Result<PathBuf, Error> {
    let bytes = fs_err::read(wasm)?;
    let digest = crate::download::Sha256::of_bytes(&bytes);
    let dir = run_dir.join("modules");
    fs_err::create_dir_all(&dir)?;
    let stem = wasm.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "filter".into());
    let staged = dir.join(format!("{stem}-{}.wasm", &digest.as_str()[..12]));
    fs_err::write(&staged, bytes)?;
    Ok(staged)
}

/// Whole files only: Envoy sees the new listener file or the old one.
fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    Ok(crate::fsutil::write_atomically(path, text.as_bytes(), 0o644)?)
}

//! `gw lab`: the network lab that `gw run` keeps up in an eBPF project, from
//! another terminal: run commands in its namespaces, read and write its maps.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;

use crate::Result;
use crate::bpftest::value::Value;
use crate::cli::Terminal;
use crate::lab::{self, Role, exec, maps};
use crate::settings::Settings;

/// Work with a running lab (`gw run` in an eBPF project starts one).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the running labs.
    List,
    /// Run a command inside the lab: in client, gateway or server's network namespace (and the
    /// lab's cgroup, when its programs attach to one). E.g. `gw lab exec client -- curl -s
    /// http://10.200.2.2:8080/`. Exits with the command's code.
    Exec {
        /// Where: client, gateway or server.
        place: Role,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<OsString>,
        #[command(flatten)]
        lab: Which,
    },
    /// Show a map of the running program, or change it: `gw lab map BLOCKLIST set
    /// ipv4:10.200.1.2 u32:1`, `gw lab map BLOCKLIST delete ipv4:10.200.1.2`. Keys and values
    /// are TYPE:VALUE (ipv4, ipv6, port, u8, u16, u32, u64, be16, be32, hex) or YAML as in a
    /// scenario (`[{ipv4: 10.0.0.1}, {port: 80}]`).
    Map {
        /// The map's name in the object.
        name: String,
        #[command(subcommand)]
        change: Option<Change>,
        #[command(flatten)]
        lab: Which,
    },
}

#[derive(Debug, clap::Subcommand)]
enum Change {
    /// Write VALUE under KEY (in a per-CPU map, as CPU 0's value).
    Set { key: String, value: String },
    /// Remove KEY (hash maps; an array's entries always exist).
    Delete { key: String },
}

#[derive(Debug, clap::Args)]
struct Which {
    /// The lab's id, when more than one runs (`gw lab list`).
    #[arg(long = "lab", value_name = "ID")]
    id: Option<String>,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let labs = settings.layout.labs();
    match args.command {
        Command::List => {
            let running: Vec<_> = lab::record::all(&labs)?.into_iter().map(|(_, r)| r).filter(|r| r.alive()).collect();
            if running.is_empty() {
                terminal.status("no lab is running");
            }
            for record in running {
                let place = match &record.iface {
                    Some(iface) => format!("on the host's {iface}"),
                    None => format!("namespaces {}", record.namespaces.join(" ")),
                };
                println!("{}  gw pid {}  {place}", record.id, record.pid);
            }
            Ok(0)
        }
        Command::Exec { place, command, lab } => {
            let record = lab::find(&labs, lab.id.as_deref())?;
            let (program, rest) = command.split_first().expect("clap requires a command");
            let status = exec::command(&record, place, program)?.args(rest).status().map_err(|e| {
                crate::Error::Io(std::io::Error::new(e.kind(), format!("{}: {e}", program.to_string_lossy())))
            })?;
            // A command killed by a signal exits as a shell reports it: 128 + the signal.
            Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
        }
        Command::Map { name, change, lab } => {
            let record = lab::find(&labs, lab.id.as_deref())?;
            let map = maps::open(&record, &name)?;
            let arg = |text: &str| -> Result<Value> { Ok(Value::from_arg(text).map_err(lab::Error::Map)?) };
            match change {
                None => {
                    for (key, value) in map.list()? {
                        println!("{key} = {value}");
                    }
                }
                Some(Change::Set { key, value }) => {
                    map.set(&arg(&key)?, &arg(&value)?)?;
                    terminal.status(format!("{name}: {key} = {value}"));
                }
                Some(Change::Delete { key }) => {
                    let deleted = map.delete(&arg(&key)?)?;
                    terminal.status(if deleted {
                        format!("{name}: {key} deleted")
                    } else {
                        format!("{name}: no {key}")
                    });
                }
            }
            Ok(0)
        }
    }
}

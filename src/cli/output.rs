//! Everything gw shows on the terminal: status lines and warnings on stderr,
//! progress bars only when stderr is a terminal, colour unless NO_COLOR.

use std::io::IsTerminal;
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressStyle};

use crate::report::{Event, Progress, Reporter};
use crate::{Error, env_vars};

pub struct Terminal {
    quiet: bool,
    bars: bool,
    color: bool,
}

impl Terminal {
    pub fn new(quiet: bool) -> Terminal {
        let tty = std::io::stderr().is_terminal();
        let color = tty && env_vars::path(&env_vars::NO_COLOR).is_none();
        Terminal { quiet, bars: tty && !quiet, color }
    }

    fn style(&self, style: Style) -> Style {
        style.force_styling(self.color)
    }

    /// A status line (silenced by --quiet).
    pub fn status(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A line of a sub-step's output (an image build), dimmed; silenced by --quiet.
    pub fn detail(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{}", self.style(Style::new().dim()).apply_to(text));
        }
    }

    /// Whether child processes (cargo) may colour what they print on stderr.
    pub fn colors_for_children(&self) -> bool {
        self.color
    }

    pub fn warning(&self, text: impl std::fmt::Display) {
        eprintln!("{} {text}", self.style(Style::new().yellow().bold()).apply_to("warning:"));
    }

    /// The one place errors are shown: the message, then each hint on its own line.
    pub fn error(&self, error: &Error) {
        eprintln!("{} {error}", self.style(Style::new().red().bold()).apply_to("error:"));
        if let Some(hint) = error.hint() {
            self.hint(hint);
        }
    }

    /// Advice after a failure that was reported by someone else (a child process).
    pub fn hint(&self, text: impl std::fmt::Display) {
        eprintln!("  {} {text}", self.style(Style::new().cyan()).apply_to("hint:"));
    }

    /// `text` in `style`, when colours are on.
    pub fn paint(&self, style: Style, text: impl std::fmt::Display) -> String {
        self.style(style).apply_to(text).to_string()
    }

    pub fn bold(&self, text: impl std::fmt::Display) -> String {
        self.style(Style::new().bold()).apply_to(text).to_string()
    }
}

impl Reporter for Terminal {
    fn event(&self, event: Event) {
        match event {
            Event::Warning(text) => self.warning(text),
            // What the topology served: output, like the Envoys' own lines.
            Event::Request { .. } => println!("{event}"),
            Event::OfflineIndex { .. }
            | Event::OfflineInstalled { .. }
            | Event::SourceUnreachable { next: None, .. }
            | Event::Retrying { .. } => self.warning(event),
            Event::EnvoyExited { .. } | Event::RebuildFailed { .. } | Event::SwapRefused { .. } => self.warning(event),
            Event::Installed { .. }
            | Event::EnvoyReady { .. }
            | Event::TopologyReady { .. }
            | Event::Reloaded { .. } => {
                self.status(format!("{} {event}", self.style(Style::new().green().bold()).apply_to("✓")))
            }
            _ => self.status(event),
        }
    }

    fn progress(&self, label: &str, total: Option<u64>) -> Box<dyn Progress> {
        if !self.bars {
            return Box::new(Hidden);
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}").expect("a valid template"),
            ),
        };
        bar.set_message(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Box::new(Bar(bar))
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

struct Hidden;

impl Progress for Hidden {
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

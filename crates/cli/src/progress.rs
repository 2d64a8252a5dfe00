//! Progress while a transaction waits for inclusion and finality: a spinner on stderr when
//! stderr is a terminal, plain lines otherwise, nothing with `--json`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Spinner frames (braille dots).
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/// Redraw period.
const TICK: Duration = Duration::from_millis(100);

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Quiet,
    Lines,
    Spinner,
}

/// A progress display; [`Progress::finish`] ends it with a last line.
pub struct Progress {
    mode: Mode,
    message: Arc<Mutex<String>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts showing `message` (quiet when `quiet`, e.g. under `--json`). Must run inside a
    /// tokio runtime.
    pub fn start(quiet: bool, message: &str) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Spinner
        } else {
            Mode::Lines
        };
        let shared = Arc::new(Mutex::new(message.to_owned()));
        let ticker = (mode == Mode::Spinner).then(|| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                for frame in FRAMES.iter().cycle() {
                    let text = shared.lock().map(|m| m.clone()).unwrap_or_default();
                    {
                        let mut err = std::io::stderr().lock();
                        let _ = write!(
                            err,
                            "\r\x1b[2K{frame} {text} ({:.1} s)",
                            started.elapsed().as_secs_f64()
                        );
                        let _ = err.flush();
                    }
                    tokio::time::sleep(TICK).await;
                }
            })
        });
        if mode == Mode::Lines {
            eprintln!("… {message}");
        }
        Progress {
            mode,
            message: shared,
            ticker,
        }
    }

    /// Replaces the message (a new line when there is no spinner).
    pub fn set(&self, message: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => eprintln!("… {message}"),
            Mode::Spinner => {
                if let Ok(mut current) = self.message.lock() {
                    *current = message.to_owned();
                }
            }
        }
    }

    /// Stops the spinner and prints `line` (nothing when quiet).
    pub fn finish(mut self, line: &str) {
        self.stop();
        if self.mode != Mode::Quiet {
            eprintln!("{line}");
        }
    }

    fn stop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
            eprint!("\r\x1b[2K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

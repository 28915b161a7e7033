//! Progress of a long import on a terminal: one bar per phase (reading, replaying the log,
//! checking rows, writing), with percentage and time left once the phase's total is known,
//! and a one-line summary at the end. The write counts into a shared `Progress`; a thread here
//! reads it ten times a second and draws, so drawing never slows the write. On a pipe nothing
//! is drawn (indicatif hides itself when standard error is not a terminal) and no summary is
//! printed.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use steadfast_app::{Phase, Progress};

/// Draws a `Progress` until finished.
#[derive(Debug)]
pub struct Bars {
    stop: Arc<AtomicBool>,
    drawer: Option<JoinHandle<Vec<(Phase, u64, Duration)>>>,
    started: Instant,
}

fn bar_for(phase: Phase, total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(total) => {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>32} [{bar:30}] {percent:>3}% {human_pos}/{human_len} {prefix} · {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{msg:>32} {spinner} {human_pos} {prefix}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    };
    bar.set_message(phase.describe());
    bar.set_prefix(phase.units());
    bar
}

impl Bars {
    /// Starts drawing `progress` (on a terminal).
    pub fn start(progress: &Progress) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let drawer = {
            let progress = progress.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut done_phases = Vec::new();
                // The phase drawn, its bar and since when; a phase that ended is counted at its
                // total when it had one (the last count drawn may be a tick behind).
                let mut shown: Option<(Phase, ProgressBar, Instant)> = None;
                let ended = |bar: &ProgressBar| bar.length().unwrap_or(bar.position());
                loop {
                    let finishing = stop.load(Ordering::Acquire);
                    let (phase, done, total) = progress.read();
                    let changed = shown.as_ref().is_none_or(|(p, _, _)| *p != phase);
                    if changed && phase != Phase::Idle {
                        if let Some((p, bar, since)) = shown.take() {
                            let count = ended(&bar);
                            bar.finish_and_clear();
                            done_phases.push((p, count, since.elapsed()));
                        }
                        shown = Some((phase, bar_for(phase, total), Instant::now()));
                    }
                    if let Some((_, bar, _)) = &shown {
                        if let Some(total) = total {
                            bar.set_length(total);
                        }
                        bar.set_position(done);
                        bar.tick();
                    }
                    if finishing {
                        if let Some((p, bar, since)) = shown.take() {
                            let count = ended(&bar);
                            bar.finish_and_clear();
                            done_phases.push((p, count, since.elapsed()));
                        }
                        return done_phases;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Bars {
            stop,
            drawer: Some(drawer),
            started: Instant::now(),
        }
    }

    /// Stops drawing and clears the bars, with no summary (opening a ledger to read it).
    pub fn clear(mut self) {
        self.stop_drawing();
    }

    fn stop_drawing(&mut self) -> Vec<(Phase, u64, Duration)> {
        self.stop.store(true, Ordering::Release);
        self.drawer
            .take()
            .and_then(|d| d.join().ok())
            .unwrap_or_default()
    }

    /// Stops drawing; on a terminal, prints one line: how long each phase took.
    pub fn finish(mut self, what: &str) {
        let phases = self.stop_drawing();
        if !std::io::stderr().is_terminal() || phases.is_empty() {
            return;
        }
        let parts: Vec<String> = phases
            .iter()
            .map(|(p, n, t)| {
                format!(
                    "{} {n} {} {:.1} s",
                    p.describe(),
                    p.units(),
                    t.as_secs_f64()
                )
            })
            .collect();
        eprintln!(
            "{what} in {:.1} s: {}",
            self.started.elapsed().as_secs_f64(),
            parts.join(", ")
        );
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.stop_drawing();
    }
}

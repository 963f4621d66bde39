//! What `bench` shows while it works. On a terminal (indicatif): the last
//! line of an image build beside a spinner, and a bar for each level or
//! capacity probe with its elapsed time, its length and live req/s. Not a
//! terminal: plain lines, one per step, as a log wants them.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How often a bar reads the run's live counts.
const TICK: Duration = Duration::from_millis(250);

/// The bar or spinner on screen, if any; a line printed clears it first.
pub struct Screen {
    tty: bool,
    shown: Mutex<Option<ProgressBar>>,
}

impl Screen {
    pub fn new(tty: bool) -> Screen {
        Screen { tty, shown: Mutex::new(None) }
    }

    /// A line of detail (build output): on the spinner, or printed.
    pub fn detail(&self, line: &str) {
        if !self.tty {
            return eprintln!("    {line}");
        }
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let spinner = match shown.as_ref().filter(|bar| bar.length().is_none()) {
            Some(spinner) => spinner.clone(),
            None => {
                if let Some(bar) = shown.take() {
                    bar.finish_and_clear();
                }
                let spinner = ProgressBar::new_spinner().with_style(style("    {spinner} {elapsed:>4} {wide_msg}"));
                spinner.enable_steady_tick(Duration::from_millis(120));
                *shown = Some(spinner.clone());
                spinner
            }
        };
        spinner.set_message(line.chars().take(160).collect::<String>());
    }

    /// A load run of `length` starts; its bar follows `control` until the next line.
    pub fn measuring(&self, length: Duration, control: &loadgen::Control) {
        if !self.tty {
            return;
        }
        let bar = ProgressBar::new(length.as_millis() as u64)
            .with_style(style("    [{bar:30}] {elapsed:>4} of {prefix} {msg}").progress_chars("=> "))
            .with_prefix(humantime::format_duration(length).to_string());
        if let Some(old) = self.shown.lock().unwrap_or_else(PoisonError::into_inner).replace(bar.clone()) {
            old.finish_and_clear();
        }
        let control = control.clone();
        std::thread::spawn(move || {
            let mut last = (Duration::ZERO, 0);
            while !bar.is_finished() {
                std::thread::sleep(TICK);
                if let Some(p) = control.progress() {
                    let rate = rate_since(&mut last, &p);
                    let phase = if p.measuring { "" } else { " (warm-up)" };
                    bar.set_position(p.elapsed.as_millis() as u64);
                    bar.set_message(format!("{} req/s, {} errors{phase}", report::units::metric(rate), p.errors));
                }
            }
        });
    }

    /// Clears the bar or spinner, so that a line can be printed.
    pub fn clear(&self) {
        if let Some(bar) = self.shown.lock().unwrap_or_else(PoisonError::into_inner).take() {
            bar.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("the templates are fixed and valid")
}

/// Responses per second since the previous reading `last` (elapsed, completed), which it moves on.
pub fn rate_since(last: &mut (Duration, u64), p: &loadgen::Progress) -> f64 {
    let rate = p.completed.saturating_sub(last.1) as f64 / (p.elapsed.saturating_sub(last.0)).as_secs_f64().max(1e-9);
    *last = (p.elapsed, p.completed);
    rate
}

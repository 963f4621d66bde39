//! A suite: the scenarios of one `bench` invocation run `repeat` times,
//! interleaved (A B A B, not A A B B), on CPUs no other run measures on, going
//! on with one that stopped (`resume`); and how it ended. A verification (no
//! load) runs several at once instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plan::Hosts;
use record::{RunRecord, RunStatus};
use scenario::Loaded;

use crate::cpulock::{CpuLockError, CpuLocks};
use crate::{Error, Event, Runner};

/// Runs a verification (`verify_only`) carries out at once.
pub const VERIFY_AT_ONCE: usize = 4;

/// How a suite is run, beyond what each run needs ([`crate::RunOptions`], whose `suite_id` names it).
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Each scenario this many times, interleaved.
    pub repeat: u32,
    /// Go on with the stored runs of the suite `RunOptions::suite_id` names.
    pub resume: bool,
    /// When another run holds the CPUs, wait for it to end instead of refusing.
    pub wait: bool,
}

/// How a suite ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuiteEnd {
    /// Every run finished (a level the server failed under load is a result).
    Complete,
    /// A scenario could not be built, started or verified.
    Failed,
    /// Cancelled: what finished is kept.
    Interrupted,
    /// Cancelled while waiting for the CPUs: nothing ran.
    NothingRan,
}

/// What a suite measured, in the order run, and how it ended.
#[derive(Debug)]
pub struct SuiteRun {
    pub records: Vec<RunRecord>,
    pub end: SuiteEnd,
}

/// The runs of a suite stored in a results folder, by stack and repeat.
#[derive(Debug)]
pub struct StoredSuite {
    pub id: String,
    runs: BTreeMap<(String, u32), (PathBuf, RunRecord)>,
}

impl StoredSuite {
    /// Suite `which` (`latest`: the newest, `record::folder::latest_suite`) from the results files in
    /// `results`; a file that does not read is named in a warning through `warn`, and left.
    pub fn read(results: &Path, which: &str, warn: &mut dyn FnMut(&str)) -> Result<StoredSuite, Error> {
        let no_suite = |why: String| Error::NoSuite(why);
        let files = match record::folder::files(results) {
            Ok(files) => files,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(no_suite(format!("--resume: cannot read the results in {}: {e}", results.display()))),
        };
        let mut all = Vec::new();
        for path in files {
            match RunRecord::read(&path) {
                Ok(record) => all.push((path, record)),
                Err(e) => {
                    warn(&format!("--resume: {} is not a results file stackbench can read ({e}): left", path.display()))
                }
            }
        }
        let id = match which {
            "latest" => match record::folder::latest_suite(all.iter().map(|(_, r)| r)) {
                Some(id) => id.to_string(),
                None => return Err(no_suite(format!("--resume: no results in {} to go on with", results.display()))),
            },
            id => id.to_string(),
        };
        let runs: BTreeMap<_, _> = all
            .into_iter()
            .filter(|(_, r)| record::folder::suite_of(r) == id)
            .map(|(path, r)| ((r.scenario.name.clone(), r.repeat), (path, r)))
            .collect();
        if runs.is_empty() {
            return Err(no_suite(format!(
                "--resume {id}: no run of that suite in {} (its id is printed at its start)",
                results.display()
            )));
        }
        Ok(StoredSuite { id, runs })
    }
}

/// What to say when a suite goes on on another CPU model than its earlier runs (a VM moved to another host):
/// the report pools only one model's runs (`report::machine`), so the two halves will not make one figure.
fn other_machine<'a>(earlier: impl Iterator<Item = &'a RunRecord>, cpu_model: &str) -> Option<String> {
    let mut others: Vec<&str> = earlier.map(|r| r.provenance.cpu_model.as_str()).filter(|m| *m != cpu_model).collect();
    let runs = others.len();
    others.sort_unstable();
    others.dedup();
    (runs > 0).then(|| {
        format!(
            "--resume: {runs} earlier run(s) of this suite ran on another CPU ({}); this one is {cpu_model}. The \
             report ranks and pools the runs of one CPU model only, the one most runs used: for figures of one \
             machine, run the suite again whole",
            others.join(", ")
        )
    })
}

impl Runner<'_> {
    /// Runs `loaded` as one suite (a verification: [`Runner::verify_suite`]): holds the CPUs it
    /// measures on, then each scenario `repeat` times, interleaved; with `resume`, a
    /// run the stored suite finished is kept as it is and one it left half-way goes
    /// on from its first unfinished level. `Err` is for what stops the whole suite.
    pub async fn run_suite(&self, loaded: &[Loaded], suite: &SuiteOptions) -> Result<SuiteRun, Error> {
        if self.options.verify_only {
            return self.verify_suite(loaded, suite.repeat).await;
        }
        let suite_id = self.options.suite_id.clone();
        // A flag that no scenario can take is the command's mistake: said before the CPUs are asked for (a
        // scenario's own mistakes, or a flag only some cannot take, fail their runs and the suite goes on).
        let flag_errors: Vec<plan::Error> = loaded
            .iter()
            .filter_map(|l| plan::Plan::new(l, &self.options.choices, self.hosts()).err())
            .filter(|e| matches!(e, plan::Error::Flag { .. }))
            .collect();
        if !loaded.is_empty() && flag_errors.len() == loaded.len() {
            return Err(flag_errors.into_iter().next().expect("one per scenario").into());
        }
        // Held to the end of the suite.
        let names: Vec<String> = loaded.iter().map(Loaded::stack_name).collect();
        let holder = format!(
            "pid {}, scenario {}, since {}",
            std::process::id(),
            names.join(", "),
            crate::compact_utc(std::time::SystemTime::now())
        );
        let Some(_cpus) = self.hold_cpus(&holder, suite.wait).await? else {
            self.emit(Event::Step("interrupted while waiting for the CPUs: nothing ran"));
            return Ok(SuiteRun { records: Vec::new(), end: SuiteEnd::NothingRan });
        };
        self.emit(Event::Step(&format!(
            "suite {suite_id}: if it stops, the same command with --resume goes on from where it stopped"
        )));
        self.measure_speed().await;
        // Read again now that the CPUs are this run's: a run of the suite that held them (`--wait`) has ended.
        let mut earlier = if suite.resume {
            StoredSuite::read(&self.options.results, &suite_id, &mut |w| self.emit(Event::Warning(w)))?.runs
        } else {
            BTreeMap::new()
        };
        if let Some(words) = other_machine(earlier.values().map(|(_, r)| r), &self.hosts.server().cpu_model) {
            self.emit(Event::Warning(&words));
        }
        let mut records = Vec::new();
        // Each run's estimated time, for the suite's time left (a plan that cannot be made fails in its run).
        let searched = crate::estimate::searched_times(&self.options.results);
        let costs: Vec<f64> = loaded
            .iter()
            .map(|l| {
                plan::Plan::new(l, &self.options.choices, self.hosts()).map_or(0.0, |p| {
                    crate::estimate::run_cost(&p, self.options.sweep, self.options.capacity, &searched).seconds
                })
            })
            .collect();
        let mut done = 0;
        'suite: for round in 1..=suite.repeat {
            for scenario in loaded {
                if self.cancel.is_cancelled() {
                    break 'suite;
                }
                let name = scenario.stack_name();
                let left = crate::estimate::words(crate::estimate::left(&costs, suite.repeat, done));
                done += 1;
                self.emit(Event::Step(&format!(
                    "scenario {name} ({}), run {round} of {}; about {left} left in the suite",
                    scenario.path.display(),
                    suite.repeat
                )));
                let (path, record) = match earlier.remove(&(name.clone(), round)) {
                    Some((path, record)) if record.is_finished() => {
                        self.emit(Event::Step(&format!("finished before ({}): {}", record.status, path.display())));
                        records.push(record);
                        continue;
                    }
                    Some((path, mut record)) => {
                        record.drop_interrupted();
                        self.emit(Event::Step(&format!(
                            "going on with {} ({} level(s) and {} capacity search(es) kept)",
                            path.display(),
                            record.levels.len(),
                            record.capacities.len()
                        )));
                        self.resume(scenario, path, record).await?
                    }
                    None => self.run(scenario, round).await?,
                };
                self.say_ended(&path, &record);
                records.push(record);
            }
        }
        Ok(SuiteRun { end: self.end_of(&records), records })
    }

    /// Builds, starts and verifies every scenario `repeat` times, [`VERIFY_AT_ONCE`] runs at a time (a
    /// verification waits on builds, starts and readiness checks, not on a CPU, and measures nothing), each
    /// run's lines named by its stack. The records come in the order given; `Err` as for [`Runner::run`].
    async fn verify_suite(&self, loaded: &[Loaded], repeat: u32) -> Result<SuiteRun, Error> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let runs: Vec<(&Loaded, u32)> =
            (1..=repeat).flat_map(|round| loaded.iter().map(move |scenario| (scenario, round))).collect();
        self.emit(Event::Step(&format!(
            "verifying {} run(s), {VERIFY_AT_ONCE} at a time (one build of an image at a time); each line names its stack",
            runs.len()
        )));
        // Unordered: a slow start at the head does not hold the next ones back; sorted after.
        let mut records: Vec<(usize, Option<RunRecord>)> = stream::iter(runs.into_iter().enumerate())
            .map(|(i, (scenario, round))| async move {
                if self.cancel.is_cancelled() {
                    return Ok((i, None));
                }
                let runner = self.naming(scenario.stack_name());
                runner.emit(Event::Step(&format!("{}, run {round} of {repeat}", scenario.path.display())));
                let (path, record) = runner.run(scenario, round).await?;
                runner.say_ended(&path, &record);
                Ok::<_, Error>((i, Some(record)))
            })
            .buffer_unordered(VERIFY_AT_ONCE)
            .try_collect()
            .await?;
        records.sort_by_key(|(i, _)| *i);
        let records: Vec<RunRecord> = records.into_iter().filter_map(|(_, r)| r).collect();
        Ok(SuiteRun { end: self.end_of(&records), records })
    }

    /// Says where a run's results are and, if it did not complete, why.
    fn say_ended(&self, path: &Path, record: &RunRecord) {
        self.emit(Event::Step(&format!("results: {}", path.display())));
        match (&record.status, &record.reason) {
            (RunStatus::Interrupted, Some(reason)) => self.emit(Event::Step(reason)),
            (status, Some(reason)) => self.emit(Event::Step(&format!("{status}: {reason}"))),
            (_, None) => {}
        }
    }

    /// How a suite that ran `records` ended.
    fn end_of(&self, records: &[RunRecord]) -> SuiteEnd {
        if records.iter().any(|r| r.status == RunStatus::Interrupted) || self.cancel.is_cancelled() {
            SuiteEnd::Interrupted
        } else if records.iter().any(|r| r.status == RunStatus::Failed) {
            SuiteEnd::Failed
        } else {
            SuiteEnd::Complete
        }
    }

    /// This machine's CPU speed over two seconds on the server's first CPU (when the server runs here), kept
    /// for every record of the suite and said.
    async fn measure_speed(&self) {
        let Hosts::Shared(machine) = &self.hosts else { return };
        let Some(cpu) = (0..machine.n_cpus).find(|c| !self.options.choices.generator_cpus.contains(c)) else { return };
        let speed = tokio::task::spawn_blocking(move || crate::speed::measure(cpu)).await.ok().flatten();
        if let Some(s) = &speed {
            self.emit(Event::Step(&format!("this machine's speed: {s}")));
        }
        *self.machine_speed.lock().unwrap_or_else(|e| e.into_inner()) = speed;
    }

    /// Takes the lock of each CPU of this machine the run measures on: every CPU
    /// when the server shares the machine, else the generator's. Another run on
    /// them would take CPU time from both, and both would report wrong figures
    /// without a word: this one refuses, naming it, or with `wait` waits for it
    /// (none when cancelled while waiting).
    pub(crate) async fn hold_cpus(&self, holder: &str, wait: bool) -> Result<Option<CpuLocks>, Error> {
        let cpus: Vec<usize> = match &self.hosts {
            Hosts::Shared(machine) => (0..machine.n_cpus).collect(),
            Hosts::Apart { .. } => self.options.choices.generator_cpus.clone(),
        };
        let dir = crate::cpulock::lock_dir();
        let mut said = false;
        loop {
            match CpuLocks::try_acquire(&dir, &cpus, holder) {
                Ok(locks) => return Ok(Some(locks)),
                Err(CpuLockError::Busy { cpu, holder }) if wait => {
                    if !std::mem::replace(&mut said, true) {
                        self.emit(Event::Step(&format!(
                            "waiting for CPU {cpu}: another stackbench run holds it ({holder})"
                        )));
                    }
                    tokio::select! {
                        () = self.cancel.cancelled() => return Ok(None),
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
                Err(e) => return Err(Error::Cpus(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suite_resumed_on_another_cpu_says_so_once_with_its_models() {
        let on = |model: &str| {
            let mut r = record::fixture::run("stack", "1");
            r.provenance.cpu_model = model.into();
            r
        };
        let earlier = [on("AMD EPYC"), on("Intel Xeon"), on("AMD EPYC"), on("Intel Xeon")];
        let words = other_machine(earlier.iter(), "AMD EPYC").unwrap();
        assert!(
            words.starts_with(
                "--resume: 2 earlier run(s) of this suite ran on another CPU (Intel Xeon); this one is AMD EPYC."
            ),
            "{words}"
        );
        assert_eq!(other_machine(earlier[..1].iter(), "AMD EPYC"), None);
        assert_eq!(other_machine(std::iter::empty(), "AMD EPYC"), None);
    }
}

//! The hardware a report's figures come from: one CPU model. Figures measured on two are never pooled into
//! one interval, ranked together or compared across commits: a VM moved to another host changes every figure
//! at once (this project's own suite ran partly on an AMD EPYC and partly on an Intel Xeon host, whose
//! capacities differed by a median 1.45x), which no interval over runs can tell from a stack's own noise.

use record::RunRecord;

/// The runs a report keeps, and those it leaves out as measured on other CPU models.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OneMachine {
    /// The CPU model kept: the one most runs ran on; on a tie, the latest run's.
    pub cpu_model: Option<String>,
    /// Each other CPU model and how many runs ran on it, most first.
    pub left_out: Vec<(String, usize)>,
}

impl OneMachine {
    /// Chooses the CPU model of `records`: the one most of them ran on, the latest run's on a tie.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a RunRecord>) -> OneMachine {
        // model -> (runs, latest start)
        let mut seen: Vec<(String, usize, String)> = Vec::new();
        for r in records {
            let model = &r.provenance.cpu_model;
            match seen.iter_mut().find(|(m, ..)| m == model) {
                Some((_, n, latest)) => {
                    *n += 1;
                    *latest = latest.clone().max(r.started_at.clone());
                }
                None => seen.push((model.clone(), 1, r.started_at.clone())),
            }
        }
        seen.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.2.cmp(&a.2)).then_with(|| a.0.cmp(&b.0)));
        let mut models = seen.into_iter().map(|(model, n, _)| (model, n));
        let cpu_model = models.next().map(|(model, _)| model);
        OneMachine { cpu_model, left_out: models.collect() }
    }

    /// Whether `record` ran on the kept CPU model.
    pub fn keeps(&self, record: &RunRecord) -> bool {
        self.cpu_model.as_ref().is_none_or(|m| *m == record.provenance.cpu_model)
    }

    /// How many runs were left out.
    pub fn left_out_runs(&self) -> usize {
        self.left_out.iter().map(|(_, n)| n).sum()
    }

    /// What the environment says of the runs left out; `None` when every run ran on one CPU model.
    pub fn left_out_words(&self) -> Option<String> {
        if self.left_out.is_empty() {
            return None;
        }
        let each: Vec<String> = self.left_out.iter().map(|(model, n)| format!("{n} on {}", shown(model))).collect();
        Some(format!(
            "{} run(s) left out: {}. The runs ran on more than one CPU model, and figures of two are not pooled, \
             ranked or compared (a different host changes every figure at once); these are {}'s, the model most \
             runs used. Report the others' files alone to see them.",
            self.left_out_runs(),
            each.join(", "),
            shown(self.cpu_model.as_deref().unwrap_or_default())
        ))
    }
}

fn shown(model: &str) -> &str {
    if model.is_empty() {
        "an unrecorded CPU"
    } else {
        model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(model: &str, started: &str) -> RunRecord {
        let mut r = record::fixture::run("stack", started);
        r.provenance.cpu_model = model.into();
        r
    }

    #[test]
    fn the_model_most_runs_used_is_kept_and_the_rest_counted() {
        let runs = [run("A", "1"), run("B", "2"), run("A", "3"), run("C", "4"), run("B", "5"), run("A", "6")];
        let one = OneMachine::of(&runs);
        assert_eq!(one.cpu_model.as_deref(), Some("A"));
        assert_eq!(one.left_out, vec![("B".to_string(), 2), ("C".to_string(), 1)]);
        assert_eq!(runs.iter().filter(|r| one.keeps(r)).count(), 3);
        let words = one.left_out_words().unwrap();
        assert!(words.starts_with("3 run(s) left out: 2 on B, 1 on C."), "{words}");
    }

    #[test]
    fn a_tie_keeps_the_latest_runs_model_and_one_model_says_nothing() {
        let one = OneMachine::of(&[run("A", "1"), run("B", "2")]);
        assert_eq!((one.cpu_model.as_deref(), one.left_out.len()), (Some("B"), 1));
        let one = OneMachine::of(&[run("A", "1"), run("A", "2")]);
        assert_eq!((one.left_out_words(), one.keeps(&run("A", "3")), one.keeps(&run("B", "3"))), (None, true, false));
    }
}

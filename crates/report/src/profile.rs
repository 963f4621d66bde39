//! Profiles read back: folded stacks (`frame;frame;leaf COUNT`, root first),
//! the functions that took the most samples themselves, and flame graphs
//! drawn by inferno.

use std::collections::BTreeMap;

/// One stack and how many samples ended in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack<'a> {
    pub frames: Vec<&'a str>,
    pub count: u64,
}

/// The stacks of folded text; a line that is not `STACK COUNT` is skipped.
pub fn parse(folded: &str) -> Vec<Stack<'_>> {
    folded
        .lines()
        .filter_map(|line| {
            let (stack, count) = line.trim_end().rsplit_once(' ')?;
            let count = count.parse().ok()?;
            (!stack.is_empty()).then(|| Stack { frames: stack.split(';').collect(), count })
        })
        .collect()
}

/// A frame perf could not name: `[unknown]`, or inferno's `[module]` for a
/// module without symbols (`[nginx]`, `[libc.so.6]`).
fn no_symbol(frame: &str) -> bool {
    let frame = frame.strip_suffix("_[k]").unwrap_or(frame);
    frame.starts_with('[') && frame.ends_with(']')
}

/// The share of samples taken in the kernel (a leaf frame marked `_[k]`);
/// none when no frame is marked either way (py-spy sees Python frames only).
pub fn kernel_share(stacks: &[Stack<'_>]) -> Option<f64> {
    let total: u64 = stacks.iter().map(|s| s.count).sum();
    // The vDSO is user space that perf files under the kernel's name.
    let in_kernel = |f: &&str| f.ends_with("_[k]") && !f.contains("vdso");
    let kernel: u64 = stacks.iter().filter(|s| s.frames.last().is_some_and(in_kernel)).map(|s| s.count).sum();
    (kernel > 0 && total > 0).then(|| kernel as f64 / total as f64)
}

/// A function and the share of samples it was the leaf of (its own time).
#[derive(Debug, Clone, PartialEq)]
pub struct Hot {
    /// As py-spy names it: `function (file:line)`, the line dropped so that a
    /// function's lines count together.
    pub function: String,
    pub samples: u64,
    pub share: f64,
}

/// A frame without its line number: `hot (app.py:12)` is `hot (app.py)`.
fn function(frame: &str) -> String {
    match frame.rsplit_once(':') {
        Some((head, tail))
            if tail.trim_end_matches(')').chars().all(|c| c.is_ascii_digit()) && frame.ends_with(')') =>
        {
            format!("{head})")
        }
        _ => frame.to_string(),
    }
}

/// What a py-spy stack holding only its process is counted as.
pub const NO_PYTHON_FRAME: &str = "(no Python frame: native code)";

/// The `n` functions with the most samples of their own, most first (ties by name).
pub fn top_functions(stacks: &[Stack<'_>], n: usize) -> Vec<Hot> {
    let total: u64 = stacks.iter().map(|s| s.count).sum();
    let mut own: BTreeMap<String, u64> = BTreeMap::new();
    for stack in stacks {
        // py-spy with --subprocesses roots each stack at its process (under its parents'): nothing
        // under them is a thread running without a Python frame (native code, as meinheld's C loop).
        let name = match stack.frames.as_slice() {
            [] => continue,
            frames if frames.iter().all(|f| f.starts_with("process ")) => NO_PYTHON_FRAME.to_string(),
            [.., leaf] => function(leaf),
        };
        *own.entry(name).or_default() += stack.count;
    }
    let mut hot: Vec<Hot> = own
        .into_iter()
        .map(|(function, samples)| Hot { function, samples, share: samples as f64 / total.max(1) as f64 })
        .collect();
    hot.sort_by(|a, b| b.samples.cmp(&a.samples).then_with(|| a.function.cmp(&b.function)));
    hot.truncate(n);
    hot
}

/// A flame graph of `folded` as a standalone SVG (inferno's, with its
/// search and zoom script). Colours come from each function's name, so the
/// same input draws the same bytes.
pub fn flame_graph(folded: &str, title: &str) -> Result<String, String> {
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "samples".into();
    options.hash = true;
    options.deterministic = true;
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, folded.lines().filter(|l| !l.trim().is_empty()), &mut svg)
        .map_err(|e| format!("the flame graph could not be drawn: {e}"))?;
    String::from_utf8(svg).map_err(|e| e.to_string())
}

/// The flame graph for inlining in a page that runs no script: the same
/// drawing, without inferno's script and the handlers that call it (each
/// frame keeps its `<title>` tooltip with its samples and share).
pub fn static_flame_graph(folded: &str, title: &str) -> Result<String, String> {
    let svg = flame_graph(folded, title)?;
    let mut svg = match (svg.find("<script"), svg.find("</script>")) {
        (Some(start), Some(end)) => format!("{}{}", &svg[..start], &svg[end + "</script>".len()..]),
        _ => svg,
    };
    for handler in [" onload=\"", " onclick=\"", " onmouseover=\"", " onmouseout=\""] {
        while let Some(start) = svg.find(handler) {
            let value = start + handler.len();
            let end = svg[value..].find('"').map_or(svg.len(), |e| value + e + 1);
            svg.replace_range(start..end, "");
        }
    }
    // From the `<svg` on: no XML declaration or doctype inside HTML.
    Ok(svg.find("<svg").map_or(svg.clone(), |at| svg[at..].to_string()))
}

/// The figure the cost of looking is read in: req/s at a level (closed
/// loop), p99 at a rate (open loop: the rate is offered either way).
struct Figures {
    before: f64,
    with: f64,
    after: Option<f64>,
    /// p99 (higher is worse), else req/s (lower is worse).
    latency: bool,
}

fn figures(profile: &record::ProfileRecord, before_rps: f64) -> Figures {
    match (profile.offered_rps, profile.p99_us) {
        (Some(_), Some([before, with, after])) => {
            Figures { before: before as f64, with: with as f64, after: Some(after as f64), latency: true }
        }
        _ => Figures {
            before: before_rps,
            with: profile.profiled_rps,
            after: profile.unprofiled_again_rps,
            latency: false,
        },
    }
}

impl Figures {
    /// The unprofiled figure: the mean of the runs before and after, when both ran.
    fn unprofiled(&self) -> f64 {
        self.after.map_or(self.before, |after| (self.before + after) / 2.0)
    }
}

/// How much worse the run with the profiler attached was, in percent of the
/// unprofiled figure: fewer req/s at a level, a higher p99 at a rate.
pub fn cost_pct(profile: &record::ProfileRecord, before_rps: f64) -> Option<f64> {
    let f = figures(profile, before_rps);
    let unprofiled = f.unprofiled();
    let worse = if f.latency { f.with - unprofiled } else { unprofiled - f.with };
    (unprofiled > 0.0).then(|| worse / unprofiled * 100.0)
}

/// How far the two unprofiled runs differ, in percent of their mean: a cost
/// smaller than this is within the noise of one run.
pub fn noise_pct(profile: &record::ProfileRecord, before_rps: f64) -> Option<f64> {
    let f = figures(profile, before_rps);
    let mean = f.unprofiled();
    let after = f.after?;
    (mean > 0.0).then(|| (f.before - after).abs() / mean * 100.0)
}

/// A profile in a few lines of words, as the terminal and the stack page say
/// it: what took it and what it cost, how the threads spent the window, and
/// the functions with the most samples of their own. `before_rps` is the
/// req/s of the run it repeats (the level, or the confirming hold).
pub fn describe(profile: &record::ProfileRecord, before_rps: f64) -> Vec<String> {
    if let Some(why) = &profile.unavailable {
        return vec![format!("no profile: {why}")];
    }
    let stacks = parse(&profile.folded);
    let samples: u64 = stacks.iter().map(|s| s.count).sum();
    let f = figures(profile, before_rps);
    let (show, figure, worse, better, runs): (fn(f64) -> String, _, _, _, _) = if f.latency {
        (crate::units::time_us, "p99", "higher", "lower", "the confirming hold and after")
    } else {
        (crate::units::metric, "req/s", "fewer", "more", "before and after")
    };
    let without = match f.after {
        Some(after) => format!("{} and {} without the profiler ({runs})", show(f.before), show(after)),
        None => format!("{} without the profiler", show(f.before)),
    };
    let change = |c: f64| if c < 0.0 { format!("{:.1}% {better}", -c) } else { format!("{c:.1}% {worse}") };
    let cost = match (cost_pct(profile, before_rps), noise_pct(profile, before_rps)) {
        (Some(c), Some(n)) => format!(": {}, where the two runs without it differ by {n:.1}%", change(c)),
        (Some(c), None) => format!(" ({})", change(c)),
        _ => String::new(),
    };
    let at = match profile.offered_rps {
        Some(rate) => format!(
            "; at the capacity, {} req/s offered ({} achieved with the profiler)",
            crate::units::metric(rate),
            crate::units::metric(profile.profiled_rps)
        ),
        None => String::new(),
    };
    let mut lines = vec![format!(
        "{} at {} Hz, {samples} samples{at}; {figure} {without}, {} with it{cost}",
        profile.tool,
        profile.rate_hz,
        show(f.with),
    )];
    if let Some(cpu) = profile.profiler_cpu_pct {
        let cpu = if cpu < 0.1 { "under 0.1%".to_string() } else { format!("{cpu:.1}%") };
        lines.push(format!("the profiler used {cpu} of a CPU itself, on the generator's CPUs"));
    }
    if let Some(states) = &profile.states {
        let seen = (states.idle + states.holding_gil + states.running_without_gil).max(1) as f64;
        let pct = |n: u64| n as f64 / seen * 100.0;
        lines.push(format!(
            "threads in {} snapshots: {:.0}% idle (blocked: I/O, a lock or waiting for the GIL), {:.0}% running \
             Python holding the GIL, {:.0}% running without it (in C code that released it)",
            states.snapshots,
            pct(states.idle),
            pct(states.holding_gil),
            pct(states.running_without_gil)
        ));
    }
    let unknown: u64 = stacks.iter().filter(|s| s.frames.last().is_some_and(|f| no_symbol(f))).map(|s| s.count).sum();
    if unknown * 2 > samples {
        lines.push(format!(
            "{:.0}% of samples end in a frame without a symbol (shown as [module]): its binary has no \
             symbol table (stripped), so the flame graph keeps the shape but not the names",
            unknown as f64 / samples as f64 * 100.0
        ));
    }
    if profile.tool.contains(":u)") {
        lines.push("user space only: the kernel's perf_event_paranoid keeps kernel frames out".to_string());
    } else if let Some(share) = kernel_share(&stacks) {
        lines.push(format!("{:.1}% of samples in the kernel", share * 100.0));
    }
    let listed = |stacks: &[Stack<'_>]| -> String {
        let top = top_functions(stacks, 5);
        top.iter().map(|h| format!("{} {:.1}%", h.function, h.share * 100.0)).collect::<Vec<_>>().join(", ")
    };
    if !stacks.is_empty() {
        // py-spy samples the threads that run (and idle ones too in older records); perf what runs on a CPU.
        let which = match (profile.tool.starts_with("py-spy"), profile.idle_sampled) {
            (true, true) => "idle threads included",
            (true, false) => "running threads",
            (false, _) => "on a CPU",
        };
        lines.push(format!("most samples of their own ({which}): {}", listed(&stacks)));
    }
    if let Some(idle) = profile.states.as_ref().map(|s| parse(&s.idle_folded)).filter(|s| !s.is_empty()) {
        lines.push(format!("where the idle threads waited (in the snapshots): {}", listed(&idle)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOLDED: &str = "\
process 7:\"python app.py\";<module> (app.py:30);serve (app.py:20);handle (app.py:12);burn_cpu_here (app.py:5) 60
process 7:\"python app.py\";<module> (app.py:30);serve (app.py:20);handle (app.py:12);burn_cpu_here (app.py:6) 20
process 7:\"python app.py\";<module> (app.py:30);serve (app.py:20);select (selectors.py:468) 15
not a stack line
process 7:\"python app.py\";<module> (app.py:30);serve (app.py:21) 5
";

    #[test]
    fn folded_stacks_parse() {
        let stacks = parse(FOLDED);
        assert_eq!(stacks.len(), 4);
        assert_eq!(stacks[0].count, 60);
        assert_eq!(stacks[0].frames.last(), Some(&"burn_cpu_here (app.py:5)"));
        assert_eq!(stacks[2].frames.len(), 4);
    }

    #[test]
    fn top_functions_count_own_samples_over_lines() {
        let top = top_functions(&parse(FOLDED), 2);
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].function, "burn_cpu_here (app.py)");
        assert_eq!(top[0].samples, 80);
        assert!((top[0].share - 0.8).abs() < 1e-9, "{top:?}");
        assert_eq!(top[1].function, "select (selectors.py)");
        assert_eq!(function("<module> (app.py:30)"), "<module> (app.py)");
        let folded = "process 7:\"gunicorn\";process 8:\"gunicorn\" 3\nprocess 8:\"gunicorn\";run (m.py:2) 1\n";
        let native = top_functions(&parse(folded), 1);
        assert_eq!((native[0].function.as_str(), native[0].samples), (NO_PYTHON_FRAME, 3));
        assert_eq!(function("nginx"), "nginx");
    }

    /// The cost is read against the mean of the unprofiled runs before and
    /// after the profiled one, beside how far those two differ.
    #[test]
    fn the_cost_of_looking_is_read_against_the_noise() {
        let profile = record::ProfileRecord {
            tool: "py-spy 0.4.1".into(),
            rate_hz: 20,
            folded: FOLDED.into(),
            idle_sampled: false,
            states: None,
            profiled_rps: 900.0,
            profiler_cpu_pct: Some(12.5),
            offered_rps: None,
            p99_us: None,
            unprofiled_again_rps: Some(1100.0),
            unavailable: None,
        };
        assert_eq!(cost_pct(&profile, 900.0), Some(10.0));
        assert_eq!(noise_pct(&profile, 900.0), Some(20.0));
        let lines = describe(&profile, 900.0);
        assert_eq!(lines[1], "the profiler used 12.5% of a CPU itself, on the generator's CPUs");
        assert!(lines[0].contains("900.00 and 1.10k without the profiler (before and after), 900.00 with it: 10.0% fewer, where the two runs without it differ by 20.0%"), "{lines:?}");
        let once = record::ProfileRecord { unprofiled_again_rps: None, ..profile.clone() };
        assert_eq!((cost_pct(&once, 1000.0), noise_pct(&once, 1000.0)), (Some(10.0), None));
        // At the capacity the rate is offered either way: the cost shows in p99.
        let at_rate = record::ProfileRecord { offered_rps: Some(1000.0), p99_us: Some([2000, 2750, 3000]), ..profile };
        assert_eq!(cost_pct(&at_rate, 990.0), Some(10.0));
        assert_eq!(noise_pct(&at_rate, 990.0), Some(40.0));
        let lines = describe(&at_rate, 990.0);
        assert!(lines[0].contains("at the capacity, 1.00k req/s offered (900.00 achieved with the profiler); p99 2.00ms and 3.00ms without the profiler (the confirming hold and after), 2.75ms with it: 10.0% higher, where the two runs without it differ by 40.0%"), "{lines:?}");
    }

    /// perf's stacks mark kernel frames `_[k]` (the vDSO, user space, aside).
    #[test]
    fn the_kernel_share_counts_kernel_leaves() {
        let folded = "server-7;main.main;main.handle 1\nserver-7;main.main;main.handle;tcp_sendmsg_[k] 1\n\
                      server-7;main.main;[[vdso]]_[k] 2\n";
        assert_eq!(kernel_share(&parse(folded)), Some(0.25));
        assert_eq!(kernel_share(&parse(FOLDED)), None);
    }

    /// Well-formed XML with the hot function's frame, the same bytes twice,
    /// and no script in the inline form.
    #[test]
    fn flame_graphs_are_well_formed_and_deterministic() {
        let svg = flame_graph(FOLDED, "t").unwrap();
        assert_eq!(svg, flame_graph(FOLDED, "t").unwrap());
        assert!(svg.contains("burn_cpu_here"), "{svg}");
        let inline = static_flame_graph(FOLDED, "t").unwrap();
        assert!(inline.starts_with("<svg"), "{}", &inline[..100]);
        for banned in ["<script", "onload=", "onmouseover=", "onclick="] {
            assert!(!inline.contains(banned), "{banned} in the inline flame graph");
        }
        for doc in [&svg, &inline] {
            let mut reader = quick_xml::Reader::from_str(doc);
            reader.config_mut().check_end_names = true;
            let mut names = Vec::new();
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                        names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                    }
                    Ok(_) => {}
                    Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
                }
            }
            assert_eq!(names.first().map(String::as_str), Some("svg"));
            assert!(names.iter().any(|n| n == "rect"), "no frames drawn");
        }
        assert!(inline.contains("burn_cpu_here"));
    }
}

//! `stackbench help [TOPIC]`: a command's help, or `help scenario`, the annotated reference of the scenario
//! format. The reference is scenarios/README.md of this repository from its annotated example on, built into
//! the binary: one source, so the page and the command cannot drift.

use std::io::Write;

use clap::CommandFactory;

/// scenarios/README.md, as built into the binary.
const SCENARIO_README: &str = include_str!("../../../scenarios/README.md");

/// Where the reference starts in it: the annotated example (the intro before it speaks of this checkout).
const REFERENCE_FROM: &str = "## A complete, annotated example";

/// The scenario format's reference: every key, annotated, then matrices, profiles, objectives, what the
/// server is told and how a scenario runs.
pub fn scenario_reference() -> &'static str {
    let at = SCENARIO_README.find(REFERENCE_FROM).expect("scenarios/README.md has its annotated example");
    &SCENARIO_README[at..]
}

#[derive(Debug, Clone, clap::Args)]
pub struct HelpOpts {
    /// `scenario` for the scenario file format, or a command (bench, compare, report, ...)
    pub topic: Option<String>,
}

pub fn run(opts: HelpOpts) -> anyhow::Result<()> {
    let mut command = crate::Opts::command();
    // Names each command's usage `stackbench NAME`, as its own --help does.
    command.build();
    let text = match opts.topic.as_deref() {
        Some("scenario" | "scenarios") => {
            format!("# The scenario file (stackbench.toml, scenarios/*.toml)\n\n{}", scenario_reference())
        }
        None => command.render_long_help().to_string(),
        Some(name) => match command.find_subcommand_mut(name) {
            Some(sub) => sub.render_long_help().to_string(),
            None => anyhow::bail!(
                "no help on '{name}': `stackbench help scenario` for the scenario format, or a command: {}",
                command.get_subcommands().map(|c| c.get_name().to_string()).collect::<Vec<_>>().join(", ")
            ),
        },
    };
    // A reader that stops early (`stackbench help scenario | head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

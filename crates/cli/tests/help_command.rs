//! `stackbench help`: a command's help, and `help scenario`, the format's reference from one source.

use crate::util::{stackbench, text};

fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference is scenarios/README.md itself from its annotated example on (built into the binary), and
/// that example is a scenario the parser takes as it stands.
#[test]
fn help_scenario_is_the_readme_and_its_example_parses() {
    let out = stackbench(&["help", "scenario"]);
    assert_eq!(out.status.code(), Some(0));
    let printed = text(&out.stdout);
    let readme = std::fs::read_to_string(repository().join("scenarios/README.md")).unwrap();
    let from = readme.find("## A complete, annotated example").unwrap();
    assert!(printed.ends_with(&readme[from..]), "help scenario and scenarios/README.md differ");
    let example = printed.split("```toml\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap();
    let root = repository();
    scenario::parse(&root.join("scenarios/example.toml"), example, &root)
        .unwrap_or_else(|e| panic!("the annotated example does not parse: {e}"));
}

#[test]
fn help_names_commands_and_refuses_unknown_topics() {
    let out = stackbench(&["help", "compare"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Usage: stackbench compare"), "{}", text(&out.stdout));
    let out = stackbench(&["help", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`stackbench help scenario` for the scenario format"), "{}", text(&out.stderr));
}

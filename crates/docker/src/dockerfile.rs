//! A Dockerfile's stages: the images a build starts from, and the stages its
//! target needs.
//!
//! Debian's engine builds with the legacy builder, which runs every stage of
//! a Dockerfile, used or not, and so needs the base image of each: a
//! `FROM debian:trixie AS python-3.13` that the chosen build argument never
//! reaches would still have to be made (there is no registry to pull from).
//! BuildKit skips such stages; [`without_unused_stages`] does the same before
//! the Dockerfile is sent, and [`base_images`] names only what is needed.

use std::collections::BTreeMap;

/// One `FROM` and the lines up to the next.
#[derive(Debug)]
struct Stage {
    /// The index of its `FROM` line.
    from_line: usize,
    /// One past its last line.
    end: usize,
    /// What it starts from, build arguments expanded: an image, an earlier stage or `scratch`.
    base: String,
    /// `AS name`, lower-cased as Docker compares stage names.
    name: Option<String>,
}

/// The stages of `dockerfile` (lines before the first `FROM` belong to none),
/// with `$NAME` and `${NAME}` in `FROM` lines replaced as Docker does: by the
/// build argument, else the default of the `ARG` declared before the first `FROM`.
fn stages(lines: &[&str], build_args: &BTreeMap<String, String>) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut args_before_from: BTreeMap<String, String> = BTreeMap::new();
    for (idx, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(keyword) = words.first() else { continue };
        if stages.is_empty() && keyword.eq_ignore_ascii_case("ARG") {
            for declared in &words[1..] {
                let (name, default) = declared.split_once('=').unwrap_or((declared, ""));
                let value = build_args.get(name).cloned().unwrap_or_else(|| default.trim_matches('"').to_string());
                args_before_from.insert(name.to_string(), value);
            }
        }
        if !keyword.eq_ignore_ascii_case("FROM") {
            continue;
        }
        let expanded: Vec<String> = words[1..].iter().map(|w| expand_args(w, &args_before_from)).collect();
        let args: Vec<&str> = expanded.iter().map(String::as_str).filter(|w| !w.starts_with("--")).collect();
        let Some(&base) = args.first() else { continue };
        if let Some(last) = stages.last_mut() {
            last.end = idx;
        }
        let name = match (args.get(1), args.get(2)) {
            (Some(kw), Some(name)) if kw.eq_ignore_ascii_case("AS") => Some(name.to_ascii_lowercase()),
            _ => None,
        };
        stages.push(Stage { from_line: idx, end: lines.len(), base: base.to_string(), name });
    }
    stages
}

/// Which stages the last one (the build's target) needs: itself, the stage it
/// starts from, and any stage a `COPY --from=` or `RUN --mount=...,from=`
/// names (by name or index), and so on down.
fn needed(lines: &[&str], stages: &[Stage]) -> Vec<bool> {
    let find = |reference: &str| -> Option<usize> {
        named(stages, reference).or_else(|| reference.parse::<usize>().ok().filter(|&i| i < stages.len()))
    };
    let mut needed = vec![false; stages.len()];
    let mut todo: Vec<usize> = stages.len().checked_sub(1).into_iter().collect();
    while let Some(idx) = todo.pop() {
        if std::mem::replace(&mut needed[idx], true) {
            continue;
        }
        let stage = &stages[idx];
        let mut references = vec![stage.base.as_str()];
        for line in &lines[stage.from_line + 1..stage.end] {
            for word in line.split_whitespace() {
                if let Some(from) = word.strip_prefix("--from=") {
                    references.push(from);
                } else if let Some(mount) = word.strip_prefix("--mount=") {
                    references.extend(mount.split(',').filter_map(|kv| kv.strip_prefix("from=")));
                }
            }
        }
        // Only an earlier stage can be named; a later name is an image.
        todo.extend(references.into_iter().filter_map(find).filter(|&i| i < idx && !needed[i]));
    }
    needed
}

/// The stage `AS name` (Docker compares stage names case-insensitively).
fn named(stages: &[Stage], name: &str) -> Option<usize> {
    let name = name.to_ascii_lowercase();
    stages.iter().position(|s| s.name.as_deref() == Some(name.as_str()))
}

/// The images a Dockerfile's needed stages start from (not `scratch`, not
/// earlier stages), in order of appearance.
pub fn base_images(dockerfile: &str, build_args: &BTreeMap<String, String>) -> Vec<String> {
    let lines: Vec<&str> = dockerfile.lines().collect();
    let stages = stages(&lines, build_args);
    let needed = needed(&lines, &stages);
    let mut images: Vec<String> = Vec::new();
    for (idx, stage) in stages.iter().enumerate().filter(|(idx, _)| needed[*idx]) {
        let is_stage = named(&stages[..idx], &stage.base).is_some();
        if stage.base != "scratch" && !is_stage && !images.contains(&stage.base) {
            images.push(stage.base.clone());
        }
    }
    images
}

/// `dockerfile` with each stage its target does not need reduced to
/// `FROM scratch AS name`: stage names and indices stay as they were, and
/// nothing of the stage is built or pulled.
pub(crate) fn without_unused_stages(dockerfile: &str, build_args: &BTreeMap<String, String>) -> String {
    let lines: Vec<&str> = dockerfile.lines().collect();
    let stages = stages(&lines, build_args);
    let needed = needed(&lines, &stages);
    if needed.iter().all(|&n| n) {
        return dockerfile.to_string();
    }
    let mut out = String::with_capacity(dockerfile.len());
    let first = stages.first().map_or(lines.len(), |s| s.from_line);
    for line in &lines[..first] {
        out.push_str(line);
        out.push('\n');
    }
    for (stage, needed) in stages.iter().zip(needed) {
        if needed {
            for line in &lines[stage.from_line..stage.end] {
                out.push_str(line);
                out.push('\n');
            }
        } else {
            out.push_str("# a stage the target does not need, emptied by stackbench as BuildKit would skip it\n");
            match &stage.name {
                Some(name) => out.push_str(&format!("FROM scratch AS {name}\n")),
                None => out.push_str("FROM scratch\n"),
            }
        }
    }
    out
}

/// `word` with `${NAME}` and `$NAME` replaced from `args` (unknown names become empty, as in Docker).
fn expand_args(word: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, next) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => (inner, ""),
            },
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        out.push_str(args.get(name).map_or("", String::as_str));
        rest = next;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_base_images() {
        let df =
            "FROM golang:1.19 AS build\nRUN go build\nFROM build AS again\nFROM scratch\nCOPY --from=build /a /a\n";
        let none = BTreeMap::new();
        assert_eq!(base_images(df, &none), vec!["golang:1.19"]);
        assert_eq!(base_images("from --platform=linux/amd64 debian:bookworm\n", &none), vec!["debian:bookworm"]);
        // Build arguments in FROM, as Docker expands them; a stage picked by one is a stage.
        let df = "ARG PYTHON=3.11\nARG V\nFROM debian:bookworm AS python-3.11\nFROM debian:trixie AS python-3.13\n\
                  FROM python-${PYTHON}\nFROM stackbench/base-python:$PYTHON$V AS last\nCOPY --from=2 /a /a\n";
        assert_eq!(base_images(df, &none), ["debian:bookworm", "stackbench/base-python:3.11"]);
        let args = BTreeMap::from([("PYTHON".to_string(), "3.13".to_string())]);
        assert_eq!(base_images(df, &args), ["debian:trixie", "stackbench/base-python:3.13"]);
    }

    /// docker/base-python's shape: the suite of the Python the build argument picks, and only that one.
    #[test]
    fn a_build_argument_picks_the_stage_and_the_others_are_emptied() {
        let df = "# comment\nARG PYTHON=3.11\nFROM debian:bookworm AS python-3.11\nFROM debian:trixie AS python-3.13\n\
                  FROM python-${PYTHON}\nRUN apt-get update\n";
        let none = BTreeMap::new();
        assert_eq!(base_images(df, &none), ["debian:bookworm"]);
        assert_eq!(
            without_unused_stages(df, &none),
            "# comment\nARG PYTHON=3.11\nFROM debian:bookworm AS python-3.11\n\
             # a stage the target does not need, emptied by stackbench as BuildKit would skip it\n\
             FROM scratch AS python-3.13\nFROM python-${PYTHON}\nRUN apt-get update\n"
        );
        let args = BTreeMap::from([("PYTHON".to_string(), "3.13".to_string())]);
        assert_eq!(base_images(df, &args), ["debian:trixie"]);
        assert!(without_unused_stages(df, &args).contains("FROM scratch AS python-3.11\nFROM debian:trixie"));
    }

    /// Stages reached through `COPY --from` (by name or index) and `RUN --mount=...,from=` are kept.
    #[test]
    fn stages_copied_from_are_needed() {
        let df = "FROM golang:1.19 AS build\nRUN go build\nFROM node:18 AS unused\nRUN npm ci\n\
                  FROM debian:bookworm AS tools\nFROM alpine AS cache\nFROM scratch\nCOPY --from=BUILD /a /a\n\
                  COPY --from=2 /t /t\nRUN --mount=type=cache,from=cache,target=/c true\n";
        let none = BTreeMap::new();
        assert_eq!(base_images(df, &none), ["golang:1.19", "debian:bookworm", "alpine"]);
        let out = without_unused_stages(df, &none);
        assert!(out.contains("FROM scratch AS unused\nFROM debian:bookworm AS tools"), "{out}");
        assert!(!out.contains("npm ci"), "{out}");
        // Everything needed: sent as written.
        let all = "FROM golang:1.19 AS build\nFROM scratch\nCOPY --from=build /a /a";
        assert_eq!(without_unused_stages(all, &none), all);
    }
}

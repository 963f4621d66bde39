//! Value types that check themselves while they are deserialized, so that a
//! bad value is reported at its own line and column.

use std::fmt;
use std::path::{Component, Path};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A name: lower-case letters, digits and dashes, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks `s` against the naming rule; the error says what is wrong.
    pub fn parse(s: &str) -> Result<Name, String> {
        let ok = s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(format!(
                "'{s}' is not a valid name, expected lower-case letters, digits and dashes, starting with a letter"
            ));
        }
        Ok(Name(s.to_string()))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        Name::parse(&String::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// Parses `10s`, `1m30s`, `250ms`, or a bare number of seconds: the one rule
/// for durations, in scenario files and on command lines.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("'{s}' is not a duration"));
    }
    humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration ({e}); try 10s, 500ms or 1m"))
}

/// A duration written as `"10s"`, `"500ms"`, `"1m"`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn secs(s: u64) -> Dur {
        Dur(Duration::from_secs(s))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"10s\", \"500ms\" or \"1m\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|s| Dur(Duration::from_secs(s)))
                    .map_err(|_| E::custom(format!("{v} is negative, expected a duration such as \"10s\"")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                if v.is_finite() && v >= 0.0 {
                    Ok(Dur(Duration::from_secs_f64(v)))
                } else {
                    Err(E::custom(format!("{v} is not a duration, expected one such as \"10s\"")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A CPU limit: more than 0, fractions allowed.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Cpus(pub f64);

impl<'de> Deserialize<'de> for Cpus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cpus, D::Error> {
        let v = f64::deserialize(d)?;
        if !(v.is_finite() && v >= 0.01) {
            return Err(de::Error::custom(format!(
                "cpus = {v} is not a CPU limit, expected a number above 0 such as 1.0 or 0.5"
            )));
        }
        Ok(Cpus(v))
    }
}

/// A size in bytes, written `"512m"`, `"2g"`, `"1024k"` or as a plain number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteSize, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"512m\" or \"2g\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| E::custom(format!("{v} is negative, expected a size")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                let t = v.trim().to_ascii_lowercase();
                let t = t.strip_suffix('b').unwrap_or(&t);
                let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
                let scale: u64 = match unit {
                    "" => 1,
                    "k" => 1 << 10,
                    "m" => 1 << 20,
                    "g" => 1 << 30,
                    _ => {
                        return Err(E::custom(format!("'{v}' is not a size, expected one such as \"512m\" or \"2g\"")))
                    }
                };
                let n: u64 = digits
                    .parse()
                    .map_err(|_| E::custom(format!("'{v}' is not a size, expected one such as \"512m\"")))?;
                let bytes = n.checked_mul(scale).filter(|&b| b >= 6 << 20).ok_or_else(|| {
                    E::custom(format!("'{v}' is too small or too large, expected at least \"6m\" (Docker's minimum)"))
                })?;
                Ok(ByteSize(bytes))
            }
        }
        d.deserialize_any(V)
    }
}

/// A path relative to the project (the scenario file's folder unless `--root`
/// names another) that stays inside it: no absolute paths, no `..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPath(String);

impl ProjectPath {
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProjectPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ProjectPath, D::Error> {
        let s = String::deserialize(d)?;
        let path = Path::new(&s);
        if s.is_empty() || path.is_absolute() {
            return Err(de::Error::custom(format!(
                "'{s}' is not a path inside the project, expected one relative to the project (the scenario file's folder unless --root names another) such as \".\" or \"app\""
            )));
        }
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(de::Error::custom(format!(
                "'{s}' leaves the project through '..', expected a path inside the project (the scenario file's folder unless --root names another) such as \".\" or \"app\""
            )));
        }
        Ok(ProjectPath(s))
    }
}

/// `text` in lower-case letters, digits and single dashes, any other run of
/// characters one dash, none at the ends (`/api/v1/Health` -> `api-v1-health`):
/// the one rule for making names from free text.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            _ if !out.is_empty() && !out.ends_with('-') => out.push('-'),
            _ => {}
        }
    }
    out.trim_end_matches('-').to_string()
}

//! `[matrix]`: one file, many configurations. Each key of the table is a list
//! of values; the file stands for the cartesian product of them (less
//! `exclude`, plus `include`), and `{matrix.KEY}` in the values that may vary
//! is replaced by each variant's value before the variant is parsed like any
//! scenario. A value that is exactly one placeholder takes the value's own
//! type (`cpus = "{matrix.cpus}"` becomes `cpus = 0.5`); anywhere else the
//! placeholder is replaced inside the string.
//!
//! Errors point into the file as written: a variant's text differs from it
//! only inside the placeholders' strings, and `Edits` maps its spans back.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use toml_edit::{Item, Value};

use crate::{located, Error, Loaded};

/// One value of a matrix key: a string, a number or a boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    /// A value typed on a command line: a number or a boolean when it reads as one.
    pub fn typed(s: &str) -> Scalar {
        if let Ok(i) = s.parse::<i64>() {
            Scalar::Int(i)
        } else if let Ok(f) = s.parse::<f64>().map_err(drop).and_then(|f| if f.is_finite() { Ok(f) } else { Err(()) }) {
            Scalar::Float(f)
        } else if let Ok(b) = s.parse::<bool>() {
            Scalar::Bool(b)
        } else {
            Scalar::Str(s.to_string())
        }
    }

    /// Its TOML literal, for a value that is exactly one placeholder.
    fn literal(&self) -> String {
        match self {
            Scalar::Str(s) => quoted(s),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => format!("{f:?}"),
            Scalar::Bool(b) => b.to_string(),
        }
    }

    fn from_toml(value: &Value) -> Option<Scalar> {
        Some(match value {
            Value::String(s) => Scalar::Str(s.value().clone()),
            Value::Integer(i) => Scalar::Int(*i.value()),
            Value::Float(f) => Scalar::Float(*f.value()),
            Value::Boolean(b) => Scalar::Bool(*b.value()),
            _ => return None,
        })
    }
}

/// As it reads in a variant's name and inside strings.
impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => f.write_str(s),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One configuration of a matrix file: its values, in the file's key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The scenario's `name`.
    pub family: String,
    pub values: Vec<(String, Scalar)>,
}

impl Variant {
    /// `family[key=value,...]`: how results, tables and the report name it.
    pub fn name(&self) -> String {
        let values: Vec<String> = self.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}[{}]", self.family, values.join(","))
    }

    /// The name in a form that is a results folder, a file name and a
    /// Docker image name: `family_key-value_...`, lower case.
    pub fn slug(&self) -> String {
        let mut slug = self.family.clone();
        for (key, value) in &self.values {
            let part = format!("{}-{}", safe(key), safe(&value.to_string()));
            slug.push('_');
            slug.push_str(part.trim_end_matches('-'));
        }
        slug
    }

    /// The value of `key`, as text.
    pub fn get(&self, key: &str) -> Option<String> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.to_string())
    }

    /// Whether it has `value` (as text) for `key`: the one rule for `exclude` and `--only`.
    fn has(&self, key: &str, value: &str) -> bool {
        self.get(key).as_deref() == Some(value)
    }
}

/// [`crate::slug`] of each part between dots, the dots kept between parts
/// (`3.11` stays `3.11`): a matrix value in a folder, file and image name.
fn safe(s: &str) -> String {
    s.split('.').map(crate::slug).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(".")
}

/// What the command line picks from matrix files: lists given instead of the
/// file's (`--matrix KEY=V1,V2`) and the variants to keep (`--only`).
#[derive(Debug, Clone, Default)]
pub struct Pick {
    pub lists: Vec<MatrixList>,
    pub only: Vec<Only>,
}

/// `--matrix KEY=V1,V2`: this list for `KEY`, in the files that have that key.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixList {
    pub key: String,
    pub values: Vec<Scalar>,
}

impl FromStr for MatrixList {
    type Err = String;
    fn from_str(s: &str) -> Result<MatrixList, String> {
        let (key, values) = s.split_once('=').ok_or_else(|| format!("'{s}' is not KEY=V1,V2"))?;
        check_key(key)?;
        let values: Vec<Scalar> = values.split(',').map(|v| Scalar::typed(v.trim())).collect();
        if values.iter().any(|v| v.to_string().is_empty()) {
            return Err(format!("'{s}' has an empty value"));
        }
        Ok(MatrixList { key: key.to_string(), values })
    }
}

/// `--only KEY=VALUE[,KEY=VALUE]`: the variants with all these values.
#[derive(Debug, Clone, PartialEq)]
pub struct Only(pub Vec<(String, String)>);

impl FromStr for Only {
    type Err = String;
    fn from_str(s: &str) -> Result<Only, String> {
        s.split(',')
            .map(|pair| {
                let (k, v) = pair.split_once('=').ok_or_else(|| format!("'{pair}' is not KEY=VALUE"))?;
                check_key(k.trim())?;
                Ok((k.trim().to_string(), v.trim().to_string()))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Only)
    }
}

impl Only {
    fn matches(&self, variant: &Variant) -> bool {
        self.0.iter().all(|(k, v)| variant.has(k, v))
    }
}

fn check_key(key: &str) -> Result<(), String> {
    let ok = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(format!("'{key}' is not a matrix key: letters, digits, '_' and '-', starting with a letter"));
    }
    if key == "exclude" || key == "include" {
        return Err(format!("'{key}' is not a matrix key: it lists combinations"));
    }
    Ok(())
}

/// A scenario file's variants as picked, and the matrix's keys.
#[derive(Debug, Clone)]
pub struct Expanded {
    /// One per variant picked, in the matrix's order; one, with no variant,
    /// for a file without `[matrix]` (unless `--only` leaves it out).
    pub variants: Vec<Loaded>,
    /// The matrix's keys, in the file's order (empty without one).
    pub keys: Vec<String>,
    /// How many variants the file has before `--only`.
    pub total: usize,
}

/// Where in a file a variant's text changed: `orig` in the file became `new` in the variant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Edits(Vec<(Range<usize>, Range<usize>)>);

impl Edits {
    /// The span of the file that `span` of the variant's text came from.
    pub(crate) fn to_file(&self, span: Range<usize>) -> Range<usize> {
        let map = |at: usize| {
            let mut shift: isize = 0;
            for (orig, new) in &self.0 {
                if at < new.start {
                    break;
                }
                if at < new.end {
                    return orig.start;
                }
                shift += orig.len() as isize - new.len() as isize;
            }
            (at as isize + shift).max(0) as usize
        };
        let start = map(span.start);
        start..map(span.end).max(start)
    }
}

/// Which keys may vary: the services' command, env, build_args, dockerfile,
/// cpus and memory, the server's tls and http, the workload's connections, rate and slo (its own or
/// an endpoint's), an endpoint's http and streams, and the description.
const SUBSTITUTED_IN: &str = "description; a service's command, env, build_args, dockerfile, cpus and memory; \
                              the server's tls and http; the workload's (or an endpoint's) connections, rate and \
                              slo; an endpoint's http and streams";

/// What a placeholder string at `path` becomes: `None` where nothing may vary.
fn may_vary(path: &[String]) -> Option<Kind> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let service = |rest: &[&str]| match rest.first() {
        Some(&("cpus" | "tls")) => Some(Kind::Typed),
        Some(&"http") => Some(Kind::Text),
        Some(&("command" | "env" | "build_args" | "dockerfile" | "memory")) => Some(Kind::Text),
        _ => None,
    };
    match p.as_slice() {
        ["description"] => Some(Kind::Text),
        ["server", rest @ ..] | ["sidecars", _, rest @ ..] => service(rest),
        ["workload", "connections" | "rate", ..] | ["workload", "endpoints", _, "connections", ..] => Some(Kind::Typed),
        ["workload", "slo", ..] | ["workload", "endpoints", _, "slo" | "http", ..] => Some(Kind::Text),
        ["workload", "endpoints", _, "streams"] => Some(Kind::Typed),
        _ => None,
    }
}

/// How a placeholder's string is rewritten.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Text (a command's argument, an env value): the values replace the placeholders inside the string.
    Text,
    /// A number: a string that is one placeholder becomes the value itself.
    Typed,
}

/// A string value holding placeholders, where it is in the file.
struct Placeholder {
    span: Range<usize>,
    text: String,
    kind: Kind,
}

const OPEN: &str = "{matrix.";

/// The keys `text`'s placeholders name, each with its byte range in `text`.
fn placeholders(text: &str) -> Vec<(Range<usize>, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(OPEN).map(|i| i + from) {
        let key_start = at + OPEN.len();
        let Some(len) = text[key_start..].find('}') else { break };
        found.push((at..key_start + len + 1, &text[key_start..key_start + len]));
        from = key_start + len + 1;
    }
    found
}

/// Reads the scenario file at `path` and gives its variants as `pick` picks them.
pub fn load_file(path: &Path, root: &Path, pick: &Pick) -> Result<Expanded, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    parse_file(path, &text, root, pick)
}

/// Parses scenario `text` (named `path` in errors) into its variants as `pick` picks them.
pub fn parse_file(path: &Path, text: &str, root: &Path, pick: &Pick) -> Result<Expanded, Error> {
    let at = |span: Option<Range<usize>>, message: String, hint: Option<&str>| {
        located(path, text, span.unwrap_or(0..0), message, hint.map(str::to_string))
    };
    // A file without a matrix is one scenario (and text that is not TOML gets the parser's located error).
    let as_one = || Ok(plain(crate::parse_text(path, text, text, root, None, Edits::default())?, pick));
    // Text that is not TOML: the scenario parser says where.
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return as_one();
    };
    let mut found = Vec::new();
    for (key, item) in doc.iter().filter(|(k, _)| *k != "matrix") {
        walk(item, &mut vec![key.to_string()], &mut found, &at)?;
    }
    let Some(table_item) = doc.get("matrix") else {
        if let Some(p) = found.first() {
            return Err(at(
                Some(p.span.clone()),
                format!("'{}' names a matrix key, but the file has no [matrix]", p.text),
                Some("add [matrix] with a list for that key, e.g. workers = [1, 2]"),
            ));
        }
        return as_one();
    };
    let table = table_item.as_table_like().ok_or_else(|| {
        at(table_item.span(), "matrix must be a table of lists".into(), Some("[matrix] then workers = [1, 2]"))
    })?;

    // The lists, in the file's order.
    let mut lists: Vec<List> = Vec::new();
    for (key, item) in table.iter().filter(|(k, _)| !matches!(*k, "exclude" | "include")) {
        check_key(key).map_err(|why| at(item.span(), why, None))?;
        let array = item.as_array().ok_or_else(|| {
            at(item.span(), format!("matrix key '{key}' must be a list"), Some("e.g. workers = [1, 2, 4]"))
        })?;
        if array.is_empty() {
            return Err(at(item.span(), format!("matrix key '{key}' has no values"), Some("give it at least one")));
        }
        let values = array
            .iter()
            .map(|v| {
                Scalar::from_toml(v).ok_or_else(|| {
                    at(v.span(), format!("matrix key '{key}': values are strings, numbers or booleans"), None)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        lists.push((key.to_string(), values, item.span()));
    }
    if lists.is_empty() {
        return Err(at(table_item.span(), "[matrix] has no keys".into(), Some("e.g. workers = [1, 2]")));
    }
    let keys: Vec<String> = lists.iter().map(|(k, _, _)| k.clone()).collect();
    for p in &found {
        for (_, key) in placeholders(&p.text) {
            if !keys.iter().any(|k| k == key) {
                return Err(at(
                    Some(p.span.clone()),
                    format!("{{matrix.{key}}}: the matrix has no key '{key}'"),
                    Some(&format!("its keys: {}", keys.join(", "))),
                ));
            }
        }
    }
    for (key, _, span) in &lists {
        if !found.iter().any(|p| placeholders(&p.text).iter().any(|(_, k)| k == key)) {
            return Err(at(
                span.clone(),
                format!("matrix key '{key}' is used nowhere: every variant would be the same"),
                Some(&format!("use it as \"{{matrix.{key}}}\" in {SUBSTITUTED_IN}")),
            ));
        }
    }
    let excludes = combinations(table.get("exclude"), "exclude", &lists, &at)?;
    let includes = combinations(table.get("include"), "include", &lists, &at)?;
    for (entry, span) in &includes {
        if let Some((key, _, _)) = lists.iter().find(|(k, _, _)| !entry.iter().any(|(ek, _)| ek == k)) {
            return Err(at(span.clone(), format!("an include gives no value for '{key}'"), Some("give every key")));
        }
    }

    // The command line's lists replace the file's.
    for list in &pick.lists {
        if let Some((_, values, _)) = lists.iter_mut().find(|(k, _, _)| *k == list.key) {
            *values = list.values.clone();
        }
    }
    let family = doc.get("name").and_then(Item::as_str).unwrap_or_default().to_string();
    let mut variants: Vec<Variant> = Vec::new();
    for combination in product(&lists) {
        let variant = Variant { family: family.clone(), values: combination };
        let excluded = excludes.iter().any(|(entry, _)| entry.iter().all(|(k, v)| variant.has(k, &v.to_string())));
        if !excluded {
            variants.push(variant);
        }
    }
    for (entry, _) in includes {
        let values =
            keys.iter().map(|k| entry.iter().find(|(ek, _)| ek == k).cloned().expect("checked above")).collect();
        let variant = Variant { family: family.clone(), values };
        if !variants.iter().any(|v| v.name() == variant.name()) {
            variants.push(variant);
        }
    }
    for (i, v) in variants.iter().enumerate() {
        if let Some(other) = variants[..i].iter().find(|o| o.slug() == v.slug()) {
            return Err(at(
                table_item.span(),
                format!("variants {} and {} would share the results folder '{}'", other.name(), v.name(), v.slug()),
                Some("make the values differ in more than punctuation and case"),
            ));
        }
    }
    let total = variants.len();
    let loaded = variants
        .into_iter()
        .filter(|v| pick.only.is_empty() || pick.only.iter().any(|o| o.matches(v)))
        .map(|variant| {
            let (variant_text, edits) = substitute(text, &found, &variant);
            crate::parse_text(path, text, &variant_text, root, Some(variant), edits)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Expanded { variants: loaded, keys, total })
}

/// A file without a matrix: its one scenario, unless `--only` asks for variants.
fn plain(loaded: Loaded, pick: &Pick) -> Expanded {
    let variants = if pick.only.is_empty() { vec![loaded] } else { Vec::new() };
    Expanded { variants, keys: Vec::new(), total: 1 }
}

type At<'a> = dyn Fn(Option<Range<usize>>, String, Option<&str>) -> Error + 'a;

/// The strings holding placeholders under `item` (at `path`), refused where nothing may vary.
fn walk(item: &Item, path: &mut Vec<String>, found: &mut Vec<Placeholder>, at: &At) -> Result<(), Error> {
    match item {
        Item::Value(v) => walk_value(v, path, found, at),
        Item::Table(t) => {
            for (k, it) in t.iter() {
                path.push(k.to_string());
                walk(it, path, found, at)?;
                path.pop();
            }
            Ok(())
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                path.push(i.to_string());
                for (k, it) in t.iter() {
                    path.push(k.to_string());
                    walk(it, path, found, at)?;
                    path.pop();
                }
                path.pop();
            }
            Ok(())
        }
        Item::None => Ok(()),
    }
}

fn walk_value(value: &Value, path: &mut Vec<String>, found: &mut Vec<Placeholder>, at: &At) -> Result<(), Error> {
    match value {
        Value::String(s) if s.value().contains(OPEN) => {
            let Some(kind) = may_vary(path) else {
                return Err(at(
                    value.span(),
                    format!("`{}` cannot take a matrix value", path.join(".")),
                    Some(&format!("{{matrix.KEY}} is replaced in {SUBSTITUTED_IN}")),
                ));
            };
            found.push(Placeholder { span: value.span().unwrap_or(0..0), text: s.value().clone(), kind });
            Ok(())
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                walk_value(v, path, found, at)?;
                path.pop();
            }
            Ok(())
        }
        Value::InlineTable(t) => {
            for (k, v) in t.iter() {
                path.push(k.to_string());
                walk_value(v, path, found, at)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A key's values, with where its list is in the file.
type List = (String, Vec<Scalar>, Option<Range<usize>>);

/// Values by key (an `exclude` or `include` entry), with where it is in the file.
type Entry = (Vec<(String, Scalar)>, Option<Range<usize>>);

/// `exclude` or `include`: a list of tables of matrix values.
fn combinations(item: Option<&Item>, what: &str, lists: &[List], at: &At) -> Result<Vec<Entry>, Error> {
    let Some(item) = item else { return Ok(Vec::new()) };
    let hint = format!("e.g. {what} = [{{ worker = \"sync\", workers = 4 }}]");
    // Each table's pairs, as written, and where it is.
    type Written<'v> = (Vec<(String, &'v Value)>, Option<Range<usize>>);
    let tables: Vec<Written> = match item {
        Item::ArrayOfTables(a) => a
            .iter()
            .map(|t| {
                let pairs = t
                    .iter()
                    .map(|(k, it)| {
                        it.as_value().map(|v| (k.to_string(), v)).ok_or_else(|| {
                            at(it.span(), format!("{what}: values are strings, numbers or booleans"), None)
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((pairs, t.span()))
            })
            .collect::<Result<_, Error>>()?,
        Item::Value(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::InlineTable(t) => Ok((t.iter().map(|(k, v)| (k.to_string(), v)).collect(), v.span())),
                _ => Err(at(v.span(), format!("each {what} is a table of matrix values"), Some(&hint))),
            })
            .collect::<Result<_, Error>>()?,
        _ => return Err(at(item.span(), format!("{what} must be a list of tables"), Some(&hint))),
    };
    let mut out = Vec::new();
    for (pairs, span) in tables {
        let mut entry = Vec::new();
        for (key, value) in pairs {
            let Some((_, values, _)) = lists.iter().find(|(k, _, _)| *k == key) else {
                return Err(at(
                    value.span().or(span.clone()),
                    format!("{what}: the matrix has no key '{key}'"),
                    Some(&format!(
                        "its keys: {}",
                        lists.iter().map(|(k, _, _)| k.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                ));
            };
            let scalar = Scalar::from_toml(value)
                .ok_or_else(|| at(value.span(), format!("{what}: values are strings, numbers or booleans"), None))?;
            if what == "exclude" && !values.iter().any(|v| v.to_string() == scalar.to_string()) {
                return Err(at(
                    value.span(),
                    format!("exclude: '{scalar}' is not one of {key}'s values"),
                    Some("an exclude names values from the lists"),
                ));
            }
            entry.push((key, scalar));
        }
        out.push((entry, span));
    }
    Ok(out)
}

/// Every combination of the lists' values, the first key varying slowest.
fn product(lists: &[List]) -> Vec<Vec<(String, Scalar)>> {
    lists.iter().fold(vec![Vec::new()], |acc, (key, values, _)| {
        acc.iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((key.clone(), v.clone()));
                    next
                })
            })
            .collect()
    })
}

/// The variant's text: each placeholder string rewritten, and where it changed.
fn substitute(text: &str, found: &[Placeholder], variant: &Variant) -> (String, Edits) {
    let mut ordered: Vec<&Placeholder> = found.iter().collect();
    ordered.sort_by_key(|p| p.span.start);
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::new();
    let mut from = 0;
    for p in ordered {
        out.push_str(&text[from..p.span.start]);
        let keys = placeholders(&p.text);
        let literal = match keys.as_slice() {
            [(range, key)] if p.kind == Kind::Typed && *range == (0..p.text.len()) => {
                variant.values.iter().find(|(k, _)| k == key).expect("keys checked").1.literal()
            }
            _ => {
                let mut s = p.text.clone();
                for (k, v) in &variant.values {
                    s = s.replace(&format!("{OPEN}{k}}}"), &v.to_string());
                }
                quoted(&s)
            }
        };
        let start = out.len();
        out.push_str(&literal);
        edits.push((p.span.clone(), start..out.len()));
        from = p.span.end;
    }
    out.push_str(&text[from..]);
    (out, Edits(edits))
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_image_names() {
        let v = Variant {
            family: "gunicorn-flask".into(),
            values: vec![
                ("worker".into(), Scalar::Str("uvicorn_worker.UvicornWorker".into())),
                ("cpus".into(), Scalar::Float(0.25)),
                ("tls".into(), Scalar::Bool(true)),
            ],
        };
        assert_eq!(v.name(), "gunicorn-flask[worker=uvicorn_worker.UvicornWorker,cpus=0.25,tls=true]");
        assert_eq!(v.slug(), "gunicorn-flask_worker-uvicorn-worker.uvicornworker_cpus-0.25_tls-true");
    }

    #[test]
    fn edits_map_back_to_the_file() {
        // "ab{x}cd" -> "ab12345cd": the placeholder 2..5 became 2..7.
        let edits = Edits(vec![(2..5, 2..7)]);
        assert_eq!(edits.to_file(0..1), 0..1);
        assert_eq!(edits.to_file(3..6), 2..2);
        assert_eq!(edits.to_file(7..9), 5..7);
    }

    #[test]
    fn command_line_values_are_typed() {
        assert_eq!(Scalar::typed("2"), Scalar::Int(2));
        assert_eq!(Scalar::typed("0.5"), Scalar::Float(0.5));
        assert_eq!(Scalar::typed("true"), Scalar::Bool(true));
        assert_eq!(Scalar::typed("gevent"), Scalar::Str("gevent".into()));
        assert_eq!(Scalar::typed("inf"), Scalar::Str("inf".into()));
        assert!("workers".parse::<MatrixList>().is_err());
        assert!("exclude=1".parse::<MatrixList>().is_err());
        assert_eq!("w=1,x".parse::<MatrixList>().unwrap().values, vec![Scalar::Int(1), Scalar::Str("x".into())]);
        assert_eq!("a=1, b=x".parse::<Only>().unwrap(), Only(vec![("a".into(), "1".into()), ("b".into(), "x".into())]));
    }
}

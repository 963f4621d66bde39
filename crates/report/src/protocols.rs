//! What TLS and HTTP/2 cost: one stack's request measured in several protocols, side by side, each
//! against HTTP/1.1 (in the clear when it was measured so, else over TLS).
//!
//! Invariant: like the scaling sections, it picks from the summary's rows (the figure a comparison reads
//! and CPU per request, with their 95% intervals) and computes only ratios of medians; a ratio is called a
//! difference only where `Spread::apart` tells the two figures apart, else it reads "within noise".

use std::collections::BTreeMap;

use record::{Protocol, Workload};
use serde::Serialize;

use crate::model::Spread;
use crate::scaling::StackOf;
use crate::summary::{SummaryGroup, SummaryRow};

/// What the section says before its tables.
pub const INTRO: &str = "One stack's request in each protocol it was measured in: the figure the summary ranks by (a \
capacity found, else peak req/s when no capacity was searched) and the server's CPU per request, with their 95% \
intervals, each against HTTP/1.1 (in the clear when it was measured so, else over TLS). A change is called one only \
where the two intervals do not overlap (a figure of one run: more than 2x); otherwise it is within noise.";

/// Matrix keys that pick a protocol: variants that differ only in these are one stack in two protocols.
const PROTOCOL_KEYS: [&str; 3] = ["tls", "http", "streams"];

/// One stack's request in each protocol it was measured in.
#[derive(Debug, Clone, Serialize)]
pub struct Protocols {
    /// The family (with its other matrix values) and the request: `tls-go: GET /health`.
    pub title: String,
    /// By protocol: HTTP/1.1 in the clear first, then over TLS, then HTTP/2.
    pub rows: Vec<ProtocolRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProtocolRow {
    pub protocol: Protocol,
    pub stack: String,
    pub endpoint: String,
    #[serde(skip)]
    pub row: SummaryRow,
}

/// The stack's family and its matrix values but the protocol's, and the request (method, path, keep-alive).
type Key = (String, Vec<(String, String)>, String, String, bool);

/// Every stack's request that was measured in two protocols or more.
pub fn build(summary: &[SummaryGroup], stacks: &BTreeMap<String, StackOf>) -> Vec<Protocols> {
    let mut found: BTreeMap<Key, Vec<ProtocolRow>> = BTreeMap::new();
    for group in summary {
        let Workload { endpoint, method, path, keepalive, protocol } = &group.workload;
        for row in &group.rows {
            let of = stacks.get(&row.stack).cloned().unwrap_or_default();
            let family = if of.family.is_empty() { row.stack.clone() } else { of.family };
            let others = of.matrix.into_iter().filter(|(k, _)| !PROTOCOL_KEYS.contains(&k.as_str())).collect();
            let key = (family, others, method.clone(), path.clone(), *keepalive);
            let endpoint = endpoint.clone();
            let entry = ProtocolRow { protocol: *protocol, stack: row.stack.clone(), endpoint, row: row.clone() };
            found.entry(key).or_default().push(entry);
        }
    }
    found
        .into_iter()
        .filter(|(_, rows)| rows.iter().any(|r| r.protocol != rows[0].protocol))
        .map(|((family, others, method, path, keepalive), mut rows)| {
            rows.sort_by(|a, b| (a.protocol, &a.stack, &a.endpoint).cmp(&(b.protocol, &b.stack, &b.endpoint)));
            let values: Vec<String> = others.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let stack = if values.is_empty() { family } else { format!("{family} [{}]", values.join(", ")) };
            let keepalive = if keepalive { "" } else { ", keep-alive off" };
            Protocols { title: format!("{stack}: {method} {path}{keepalive}"), rows }
        })
        .collect()
}

/// The table's headers; the reference's protocol names the ratio columns.
pub fn headers(p: &Protocols) -> Vec<String> {
    let reference = reference(p).map_or("-".to_string(), |r| r.protocol.to_string());
    ["protocol", "stack (endpoint)", "figure", "vs REF", "CPU/req", "CPU/req vs REF"]
        .iter()
        .map(|h| h.replace("REF", &reference))
        .collect()
}

/// A row's cells: its figure and CPU per request with their intervals, each against the reference's.
pub fn cells(p: &Protocols, r: &ProtocolRow) -> Vec<String> {
    let reference = reference(p).filter(|reference| !std::ptr::eq(*reference, r));
    let figure = r.row.compared_figure();
    let their = reference.and_then(|reference| reference.row.compared_figure());
    let cpu = r.row.cpu_per_request();
    let their_cpu = reference.and_then(|reference| reference.row.cpu_per_request());
    let vs = match (reference, figure, their) {
        (None, _, _) => "reference".to_string(),
        (Some(_), Some((kind, s)), Some((their_kind, t))) if kind == their_kind => ratio(s, t),
        (Some(_), Some(_), Some(_)) => "not comparable (a capacity against peak req/s)".to_string(),
        _ => "-".to_string(),
    };
    let cpu_vs = match (reference, cpu, their_cpu) {
        (None, _, _) => "reference".to_string(),
        (Some(_), Some(s), Some(t)) => ratio(&s, &t),
        _ => "-".to_string(),
    };
    vec![
        r.protocol.to_string(),
        format!("{} ({})", r.stack, r.endpoint),
        figure.map_or("-".to_string(), |(kind, s)| {
            format!("{kind} {}", crate::model::with_interval(crate::units::metric(s.median), s, crate::units::metric))
        }),
        vs,
        cpu.map_or("-".to_string(), |s| {
            crate::model::with_interval(crate::units::time_us(s.median), &s, crate::units::time_us)
        }),
        cpu_vs,
    ]
}

/// The row the others are compared with: HTTP/1.1, in the clear when there is such a row.
fn reference(p: &Protocols) -> Option<&ProtocolRow> {
    p.rows.iter().find(|r| r.protocol.http2_streams.is_none())
}

/// `-38% (beyond the noise)` or `+3% (within noise)`: this figure's median against the reference's.
fn ratio(this: &Spread, reference: &Spread) -> String {
    if reference.median <= 0.0 {
        return "-".to_string();
    }
    let change = (this.median / reference.median - 1.0) * 100.0;
    let noise = if this.apart(reference) { "beyond the noise" } else { "within noise" };
    format!("{change:+.0}% ({noise})")
}

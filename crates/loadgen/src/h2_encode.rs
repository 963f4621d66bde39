//! A request as HTTP/2 sends it. Its head is parsed once per kind into HPACK fields (`Field`), and each
//! connection's `Encoder` writes them (RFC 7541) as browsers' and h2load's encoders do: a field the
//! connection sent before as an index into its dynamic table (one or two bytes), a new one as a literal
//! added to that table while it has room. A server then decodes a repeated request as it would a
//! browser's. Nothing is ever evicted: a field that would not fit goes as a literal without indexing, so
//! the encoder's table is known without modelling eviction.

use super::Request;

/// One field of a request's header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A whole field from HPACK's static table (`:method: GET`, `:scheme: https`, `:path: /`): its
    /// indexed representation's byte.
    Static(u8),
    /// A value under a static table name (`index`, e.g. 4 for `:path`) or under a new `name` (index 0).
    Literal { index: u8, name: Vec<u8>, value: Vec<u8> },
}

/// A value longer than this is never added to the table: it would crowd out the fields that repeat.
const MAX_INDEXED_VALUE: usize = 1024;

/// One connection's HPACK encoder: its dynamic table as the server's decoder holds it.
#[derive(Debug)]
pub struct Encoder {
    /// Fields added to the table, oldest first (`(static name index, name, value)`).
    entries: Vec<(u8, Vec<u8>, Vec<u8>)>,
    /// Their size by RFC 7541 4.1 (name + value + 32 each), and the most the table may hold.
    size: usize,
    capacity: usize,
    /// The server lowered its table size: the next block starts with the size updates that say so.
    resized: bool,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder { entries: Vec::new(), size: 0, capacity: super::hpack::MAX_TABLE, resized: false }
    }
}

impl Encoder {
    /// The server's SETTINGS_HEADER_TABLE_SIZE: below what this encoder uses, the table is emptied and the
    /// next block starts with size updates to 0 and then the new size (RFC 7541 4.2, RFC 9113 4.3.1).
    pub fn limit(&mut self, server_max: u32) {
        let server_max = server_max as usize;
        if server_max < self.capacity {
            (self.capacity, self.resized) = (server_max, true);
            self.entries.clear();
            self.size = 0;
        }
    }

    /// `fields` as this connection's next header block, appended to `out`.
    pub fn encode(&mut self, fields: &[Field], out: &mut Vec<u8>) {
        if std::mem::take(&mut self.resized) {
            integer(out, 5, 0x20, 0);
            integer(out, 5, 0x20, self.capacity);
        }
        for field in fields {
            let (index, name, value) = match field {
                Field::Static(byte) => {
                    out.push(*byte);
                    continue;
                }
                Field::Literal { index, name, value } => (*index, name.as_slice(), value.as_slice()),
            };
            let seen = self.entries.iter().rposition(|(i, n, v)| *i == index && n == name && v == value);
            if let Some(at) = seen {
                // The newest entry is 62, the one before it 63, ... (RFC 7541 2.3.3).
                integer(out, 7, 0x80, 62 + self.entries.len() - 1 - at);
                continue;
            }
            let name_len =
                if index == 0 { name.len() } else { super::hpack::STATIC_NAMES[usize::from(index) - 1].len() };
            let size = name_len + value.len() + 32;
            if value.len() <= MAX_INDEXED_VALUE && self.size + size <= self.capacity {
                self.entries.push((index, name.to_vec(), value.to_vec()));
                self.size += size;
                literal(out, 6, 0x40, index, name, value);
            } else {
                literal(out, 4, 0x00, index, name, value);
            }
        }
    }
}

/// Headers HTTP/2 forbids (RFC 9113 8.2.2), and Host, which becomes :authority.
const CONNECTION_SPECIFIC: [&str; 6] =
    ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"];

/// `http1`, a whole HTTP/1.1 request as the generator renders it, as HTTP/2 sends it: the request line
/// and Host become pseudo-header fields, names are lower-cased, connection-specific fields are dropped.
pub fn encode_request(http1: &[u8], https: bool) -> Result<Request, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(http1) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("the request's head is not whole".into()),
        Err(e) => return Err(format!("the request does not parse: {e}")),
    };
    let (method, path) = (parsed.method.unwrap_or("GET"), parsed.path.unwrap_or("/"));
    let by_static = |index: u8, value: &[u8]| Field::Literal { index, name: Vec::new(), value: value.to_vec() };
    let mut fields = Vec::with_capacity(4 + parsed.headers.len());
    fields.push(match method {
        "GET" => Field::Static(0x82),
        "POST" => Field::Static(0x83),
        other => by_static(2, other.as_bytes()),
    });
    fields.push(Field::Static(if https { 0x87 } else { 0x86 }));
    fields.push(match path {
        "/" => Field::Static(0x84),
        other => by_static(4, other.as_bytes()),
    });
    let host = parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case("host"));
    if let Some(host) = host {
        fields.push(by_static(1, host.value));
    }
    for header in parsed.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        if CONNECTION_SPECIFIC.contains(&name.as_str()) || (name == "te" && header.value != b"trailers") {
            continue;
        }
        fields.push(Field::Literal { index: 0, name: name.into_bytes(), value: header.value.to_vec() });
    }
    Ok(Request { fields, body: http1[head_len..].to_vec() })
}

/// A literal header field (RFC 7541 6.2): with incremental indexing (a 6-bit prefix, 0x40) or without
/// (4 bits, 0x00); its name by static table index, or (index 0) as a string.
fn literal(out: &mut Vec<u8>, prefix_bits: u8, high: u8, index: u8, name: &[u8], value: &[u8]) {
    integer(out, prefix_bits, high, usize::from(index));
    if index == 0 {
        string(out, name);
    }
    string(out, value);
}

/// A string literal, not Huffman-coded.
fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    integer(out, 7, 0x00, bytes.len());
    out.extend_from_slice(bytes);
}

/// An integer with an N-bit prefix (RFC 7541 5.1), `high` holding the first byte's other bits.
pub(super) fn integer(out: &mut Vec<u8>, prefix_bits: u8, high: u8, mut value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(high | value as u8);
        return;
    }
    out.push(high | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

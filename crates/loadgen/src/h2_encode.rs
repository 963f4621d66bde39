//! A request as HTTP/2 sends it: its head as an HPACK block of literals without indexing (RFC 7541
//! 6.2.2), encoded once per kind, so only the stream id changes from one request to the next.

use super::Request;

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
    let mut block = Vec::with_capacity(64 + http1.len());
    match method {
        "GET" => block.push(0x82),
        "POST" => block.push(0x83),
        other => literal(&mut block, 2, None, other.as_bytes()),
    }
    block.push(if https { 0x87 } else { 0x86 });
    match path {
        "/" => block.push(0x84),
        other => literal(&mut block, 4, None, other.as_bytes()),
    }
    let host = parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case("host"));
    if let Some(host) = host {
        literal(&mut block, 1, None, host.value);
    }
    for header in parsed.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        if CONNECTION_SPECIFIC.contains(&name.as_str()) || (name == "te" && header.value != b"trailers") {
            continue;
        }
        literal(&mut block, 0, Some(name.as_bytes()), header.value);
    }
    Ok(Request { block, body: http1[head_len..].to_vec() })
}

/// A literal header field without indexing (RFC 7541 6.2.2): by its static table index, or a new name.
fn literal(out: &mut Vec<u8>, index: u8, name: Option<&[u8]>, value: &[u8]) {
    integer(out, 4, 0x00, usize::from(index));
    if let Some(name) = name {
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

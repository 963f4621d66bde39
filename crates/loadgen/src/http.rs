//! Streaming HTTP/1.1 response framing: finds where each response ends.
//!
//! The parser sees the bytes of one connection in whatever pieces the socket
//! hands over. The header block goes to `httparse` straight from the caller's
//! buffer when it arrives whole (the common case) and is copied only when it is
//! split across reads. Bodies are never buffered: Content-Length and chunked
//! bodies are counted down, and the decoded body bytes are handed to a callback
//! so that a body check can look at them without a copy; [`BodyMatch`] is that check.

use std::fmt;

use memchr::memmem::Finder;

/// Header blocks larger than this are a parse error, so a server that sends
/// endless headers cannot make the generator grow without bound.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Headers beyond this count are a parse error.
const MAX_HEADERS: usize = 64;

/// What is wrong with a response. Every variant is counted as a parse error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// `httparse` rejected the status line or a header.
    Head(httparse::Error),
    /// The header block exceeded [`MAX_HEAD_BYTES`].
    HeadTooLarge,
    /// A Content-Length header that is not a plain decimal number, or two that disagree.
    ContentLength,
    /// A chunk-size line that is not hexadecimal, or overflows.
    ChunkSize,
    /// A chunk whose data is not followed by CRLF.
    ChunkDelimiter,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Head(e) => write!(f, "malformed response head: {e}"),
            ParseError::HeadTooLarge => {
                write!(f, "response head larger than {MAX_HEAD_BYTES} bytes")
            }
            ParseError::ContentLength => write!(f, "invalid Content-Length"),
            ParseError::ChunkSize => write!(f, "invalid chunk size"),
            ParseError::ChunkDelimiter => write!(f, "chunk data not followed by CRLF"),
        }
    }
}

impl std::error::Error for ParseError {}

/// What the caller needs to know about a response once it is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The server will close the connection after this response
    /// (`Connection: close`, an HTTP/1.0 response without keep-alive, or a
    /// body delimited by the end of the connection).
    pub close: bool,
}

/// The result of feeding bytes to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// How many bytes of the input were used. Bytes past a completed response
    /// belong to the next one (pipelining) and are not consumed.
    pub consumed: usize,
    /// Set when a response ended inside the consumed bytes.
    pub complete: Option<Response>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits of a chunk size; `digits` counts them.
    Size {
        size: u64,
        digits: u8,
    },
    /// After the size: a chunk extension or whitespace, up to the line feed.
    SizeRest {
        size: u64,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// Start of a trailer line (or the empty line that ends the body).
    TrailerStart,
    /// A carriage return at the start of a trailer line: the body ends at LF.
    TrailerEndLf,
    /// Inside a non-empty trailer line.
    TrailerLine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body { body: Body, response: Response },
}

/// Incremental response parser for one connection. Reuse it: after a response
/// completes it is ready for the next one.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    state: State,
    /// The start of a header block that was split across reads. Empty, and
    /// without an allocation, on the fast path.
    partial_head: Vec<u8>,
    /// The request was HEAD: responses carry no body whatever they announce.
    head_request: bool,
}

impl ResponseParser {
    pub fn new(head_request: bool) -> Self {
        Self { state: State::Head, partial_head: Vec::new(), head_request }
    }

    /// Forgets any response in progress, for a new connection.
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.partial_head.clear();
    }

    /// True when no byte of a response has been seen since the last one ended.
    pub fn is_idle(&self) -> bool {
        self.state == State::Head && self.partial_head.is_empty()
    }

    /// Feeds bytes, stopping at the end of the first response that completes.
    /// `on_body` receives the decoded body bytes in order.
    pub fn feed(&mut self, input: &[u8], mut on_body: impl FnMut(&[u8])) -> Result<Fed, ParseError> {
        let mut pos = 0;
        loop {
            match self.state {
                State::Head => {
                    let Some(used) = self.parse_head(&input[pos..])? else {
                        return Ok(Fed { consumed: input.len(), complete: None });
                    };
                    pos += used;
                    if let State::Head = self.state {
                        // An interim (1xx) response: the real one follows.
                        continue;
                    }
                }
                State::Body { body, response } => {
                    let (used, done) = self.parse_body(body, &input[pos..], &mut on_body)?;
                    pos += used;
                    if done {
                        self.state = State::Head;
                        return Ok(Fed { consumed: pos, complete: Some(response) });
                    }
                    return Ok(Fed { consumed: pos, complete: None });
                }
            }
            if pos == input.len() {
                // A response whose body is empty completes with its head.
                if let State::Body { body: Body::Length(0), response } = self.state {
                    self.state = State::Head;
                    return Ok(Fed { consumed: pos, complete: Some(response) });
                }
                return Ok(Fed { consumed: pos, complete: None });
            }
        }
    }

    /// The connection reached end of file. Returns the response that the end of
    /// file completes (a body delimited by close), or `None` when the peer
    /// closed in the middle of a response or between responses.
    pub fn finish(&mut self) -> Option<Response> {
        let done = match self.state {
            State::Body { body: Body::UntilClose, response } => Some(response),
            _ => None,
        };
        self.reset();
        done
    }

    /// Parses a header block from `input`, prepending any partial block kept
    /// from earlier reads. Returns how many bytes of `input` were used, or
    /// `None` if the block is still incomplete (all of `input` was kept).
    fn parse_head(&mut self, input: &[u8]) -> Result<Option<usize>, ParseError> {
        let kept = self.partial_head.len();
        let parsed = if kept == 0 {
            parse_head_block(input, self.head_request)?
        } else {
            self.partial_head.extend_from_slice(input);
            parse_head_block(&self.partial_head, self.head_request)?
        };
        match parsed {
            Some((len, state)) => {
                self.partial_head.clear();
                self.state = state;
                Ok(Some(len - kept))
            }
            None => {
                if kept == 0 {
                    self.partial_head.extend_from_slice(input);
                }
                if self.partial_head.len() > MAX_HEAD_BYTES {
                    return Err(ParseError::HeadTooLarge);
                }
                Ok(None)
            }
        }
    }

    /// Advances through body bytes. Returns how many bytes were used and
    /// whether the body ended.
    fn parse_body(
        &mut self,
        body: Body,
        input: &[u8],
        on_body: &mut impl FnMut(&[u8]),
    ) -> Result<(usize, bool), ParseError> {
        match body {
            Body::Length(remaining) => {
                let take = (input.len() as u64).min(remaining) as usize;
                if take > 0 {
                    on_body(&input[..take]);
                }
                let left = remaining - take as u64;
                self.set_body(Body::Length(left));
                Ok((take, left == 0))
            }
            Body::UntilClose => {
                if !input.is_empty() {
                    on_body(input);
                }
                Ok((input.len(), false))
            }
            Body::Chunked(chunk) => self.parse_chunked(chunk, input, on_body),
        }
    }

    fn parse_chunked(
        &mut self,
        mut chunk: Chunk,
        input: &[u8],
        on_body: &mut impl FnMut(&[u8]),
    ) -> Result<(usize, bool), ParseError> {
        let mut pos = 0;
        while pos < input.len() {
            let b = input[pos];
            chunk = match chunk {
                Chunk::Size { size, digits } => match hex_value(b) {
                    Some(v) => {
                        if digits >= 15 {
                            return Err(ParseError::ChunkSize);
                        }
                        pos += 1;
                        Chunk::Size { size: size << 4 | v, digits: digits + 1 }
                    }
                    None if digits == 0 => return Err(ParseError::ChunkSize),
                    None => Chunk::SizeRest { size },
                },
                Chunk::SizeRest { size } => {
                    pos += 1;
                    match b {
                        b'\n' if size == 0 => Chunk::TrailerStart,
                        b'\n' => Chunk::Data(size),
                        b'\r' | b';' | b' ' | b'\t' => Chunk::SizeRest { size },
                        // Inside a chunk extension anything but LF may appear.
                        _ => Chunk::SizeRest { size },
                    }
                }
                Chunk::Data(remaining) => {
                    let take = ((input.len() - pos) as u64).min(remaining) as usize;
                    on_body(&input[pos..pos + take]);
                    pos += take;
                    if remaining == take as u64 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(remaining - take as u64)
                    }
                }
                Chunk::DataCr => {
                    pos += 1;
                    match b {
                        b'\r' => Chunk::DataLf,
                        b'\n' => Chunk::Size { size: 0, digits: 0 },
                        _ => return Err(ParseError::ChunkDelimiter),
                    }
                }
                Chunk::DataLf => {
                    pos += 1;
                    match b {
                        b'\n' => Chunk::Size { size: 0, digits: 0 },
                        _ => return Err(ParseError::ChunkDelimiter),
                    }
                }
                Chunk::TrailerStart => {
                    pos += 1;
                    match b {
                        b'\n' => {
                            self.set_body(Body::Length(0));
                            return Ok((pos, true));
                        }
                        b'\r' => Chunk::TrailerEndLf,
                        _ => Chunk::TrailerLine,
                    }
                }
                Chunk::TrailerEndLf => {
                    pos += 1;
                    match b {
                        b'\n' => {
                            self.set_body(Body::Length(0));
                            return Ok((pos, true));
                        }
                        _ => return Err(ParseError::ChunkDelimiter),
                    }
                }
                Chunk::TrailerLine => {
                    // Skip to the end of the trailer line in one search.
                    match memchr::memchr(b'\n', &input[pos..]) {
                        Some(i) => {
                            pos += i + 1;
                            Chunk::TrailerStart
                        }
                        None => {
                            pos = input.len();
                            Chunk::TrailerLine
                        }
                    }
                }
            };
        }
        // A zero-size last chunk whose line ended exactly here still needs its
        // trailer section; a data chunk that ended here needs its CRLF.
        self.set_body(Body::Chunked(chunk));
        Ok((pos, false))
    }

    fn set_body(&mut self, new_body: Body) {
        if let State::Body { body, .. } = &mut self.state {
            *body = new_body;
        }
    }
}

/// Parses one complete header block: its length and the state that follows it
/// (still `State::Head` after an interim 1xx response). `None` when the block
/// is not complete yet.
fn parse_head_block(block: &[u8], head_request: bool) -> Result<Option<(usize, State)>, ParseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    let len = match res.parse(block) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ParseError::Head(e)),
    };
    let status = res.code.unwrap_or(0);
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut close = res.version == Some(0);
    for h in res.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_decimal(h.value).ok_or(ParseError::ContentLength)?;
            if content_length.is_some_and(|old| old != n) {
                return Err(ParseError::ContentLength);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
            chunked = last_token_is(h.value, b"chunked");
        } else if name.eq_ignore_ascii_case(b"connection") {
            if contains_token(h.value, b"close") {
                close = true;
            } else if contains_token(h.value, b"keep-alive") {
                close = false;
            }
        }
    }
    if (100..200).contains(&status) {
        // Interim responses have no body; the final response follows.
        return Ok(Some((len, State::Head)));
    }
    let no_body = head_request || status == 204 || status == 304;
    let body = if no_body {
        Body::Length(0)
    } else if transfer_encoding {
        if chunked {
            Body::Chunked(Chunk::Size { size: 0, digits: 0 })
        } else {
            Body::UntilClose
        }
    } else if let Some(n) = content_length {
        Body::Length(n)
    } else {
        Body::UntilClose
    };
    if body == Body::UntilClose {
        close = true;
    }
    Ok(Some((len, State::Body { body, response: Response { status, close } })))
}

fn parse_decimal(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n)
}

fn hex_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(b - b'A' + 10)),
        _ => None,
    }
}

/// True if `token` appears, case-insensitively, in a comma-separated list.
fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// True if the last element of a comma-separated list is `token`.
fn last_token_is(value: &[u8], token: &[u8]) -> bool {
    value.rsplit(|&b| b == b',').next().is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// A property of the parser, checked by the fuzz target `http_response` and by
/// the replay of its corpus in `cargo test`: feeding the same bytes in one read
/// or in many small reads gives the same responses, bodies and error, the parser
/// always moves forward, and it never panics.
#[doc(hidden)]
pub mod fuzzing {
    use super::{ParseError, Response, ResponseParser};

    /// What the parser made of a byte stream.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Outcome {
        pub responses: Vec<(Response, Vec<u8>)>,
        pub error: Option<ParseError>,
        pub at_eof: Option<Response>,
    }

    /// Feeds `reads` one after another, as a connection's reads, then end of file.
    pub fn drive(head_request: bool, reads: &[&[u8]]) -> Outcome {
        let mut parser = ResponseParser::new(head_request);
        let (mut responses, mut body) = (Vec::new(), Vec::new());
        for read in reads {
            let mut rest = *read;
            loop {
                match parser.feed(rest, |b| body.extend_from_slice(b)) {
                    Err(error) => return Outcome { responses, error: Some(error), at_eof: None },
                    Ok(progress) => {
                        assert!(progress.consumed <= rest.len(), "consumed more than it was given");
                        rest = &rest[progress.consumed..];
                        match progress.complete {
                            Some(response) => responses.push((response, std::mem::take(&mut body))),
                            // Without a completed response the parser must take the whole read.
                            None => assert!(rest.is_empty(), "stalled with {} bytes left", rest.len()),
                        }
                    }
                }
                if rest.is_empty() {
                    break;
                }
            }
        }
        let at_eof = parser.finish();
        assert!(parser.is_idle(), "finish() leaves the parser idle");
        Outcome { responses, error: None, at_eof }
    }

    /// `data[0]` picks HEAD or not and the read sizes; the rest is the byte stream.
    pub fn check(data: &[u8]) {
        let Some((&seed, stream)) = data.split_first() else { return };
        // Beyond MAX_HEAD_BYTES a split head is refused where a whole one is not; stay below it.
        let stream = &stream[..stream.len().min(super::MAX_HEAD_BYTES / 2)];
        let head_request = seed & 1 == 1;
        let whole = drive(head_request, &[stream]);
        let mut reads = Vec::new();
        let (mut state, mut rest) = (u32::from(seed) | 1, stream);
        while !rest.is_empty() {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let size = (1 + (state >> 16) % 17) as usize;
            let (read, after) = rest.split_at(size.min(rest.len()));
            reads.push(read);
            rest = after;
        }
        let split = drive(head_request, &reads);
        assert_eq!(whole, split, "one read and {} reads disagree", reads.len());
    }
}

/// A streaming substring search over a body that arrives in pieces.
#[derive(Debug, Default)]
pub(crate) struct BodyMatch {
    found: bool,
    /// The last `needle - 1` bytes seen, to find a match split across pieces.
    tail: Vec<u8>,
}

impl BodyMatch {
    pub(crate) fn feed(&mut self, finder: &Finder<'_>, chunk: &[u8]) {
        if self.found {
            return;
        }
        let keep = finder.needle().len().saturating_sub(1);
        if keep == 0 {
            self.found = true;
            return;
        }
        self.tail.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        if finder.find(&self.tail).is_some() || finder.find(chunk).is_some() {
            self.found = true;
            return;
        }
        if chunk.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
    }

    /// Whether the needle was seen; resets for the next response.
    pub(crate) fn take(&mut self) -> bool {
        self.tail.clear();
        std::mem::take(&mut self.found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` split into pieces of `piece` bytes and returns the
    /// completed responses with their bodies, or the first error.
    fn run(input: &[u8], piece: usize) -> Result<Vec<(Response, Vec<u8>)>, ParseError> {
        let mut p = ResponseParser::new(false);
        let mut out = Vec::new();
        let mut body = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            let mut pos = 0;
            while pos < chunk.len() {
                let prog = p.feed(&chunk[pos..], |b| body.extend_from_slice(b))?;
                pos += prog.consumed;
                if let Some(r) = prog.complete {
                    out.push((r, std::mem::take(&mut body)));
                }
            }
        }
        if let Some(r) = p.finish() {
            out.push((r, body));
        }
        Ok(out)
    }

    /// Checks that every way of splitting `input` gives `expected`.
    fn check(input: &str, expected: &[(u16, bool, &str)]) {
        for piece in 1..=input.len() {
            let got = run(input.as_bytes(), piece).unwrap_or_else(|e| panic!("piece {piece}: {e}"));
            let got: Vec<_> =
                got.iter().map(|(r, b)| (r.status, r.close, String::from_utf8_lossy(b).into_owned())).collect();
            let want: Vec<_> = expected.iter().map(|&(s, c, b)| (s, c, b.to_string())).collect();
            assert_eq!(got, want, "split into pieces of {piece}");
        }
    }

    #[test]
    fn content_length() {
        check("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &[(200, false, "ok")]);
        check("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", &[(404, false, "")]);
    }

    #[test]
    fn chunked_with_extension_and_trailer() {
        check(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
            &[(200, false, "ok0123456789")],
        );
    }

    #[test]
    fn pipelined_responses() {
        let one = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let two = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        check(&format!("{one}{two}{one}"), &[(200, false, "ok"), (200, false, "hi"), (200, false, "ok")]);
    }

    #[test]
    fn close_delimited_and_connection_close() {
        check("HTTP/1.1 200 OK\r\n\r\nuntil close", &[(200, true, "until close")]);
        check("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", &[(200, true, "x")]);
        check("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", &[(200, true, "x")]);
        check("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", &[(200, false, "x")]);
    }

    #[test]
    fn interim_and_bodiless() {
        check("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", &[(204, false, "")]);
        check("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", &[(304, false, "")]);
    }

    #[test]
    fn head_request_has_no_body() {
        let mut p = ResponseParser::new(true);
        let prog = p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", |_| {}).unwrap();
        assert_eq!(prog.complete, Some(Response { status: 200, close: false }));
    }

    #[test]
    fn errors() {
        let bad = |input: &str| run(input.as_bytes(), input.len()).unwrap_err();
        assert!(matches!(bad("HTTP/1.1 abc OK\r\n\r\n"), ParseError::Head(_)));
        assert_eq!(bad("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), ParseError::ContentLength);
        assert_eq!(bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), ParseError::ContentLength);
        assert_eq!(bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), ParseError::ChunkSize);
        assert_eq!(
            bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"),
            ParseError::ChunkSize
        );
        assert_eq!(bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy"), ParseError::ChunkDelimiter);
    }

    #[test]
    fn huge_head_is_refused_in_any_split() {
        let head = format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n", "a".repeat(MAX_HEAD_BYTES));
        for piece in [1000, 4096, MAX_HEAD_BYTES * 2] {
            assert_eq!(run(head.as_bytes(), piece).unwrap_err(), ParseError::HeadTooLarge, "piece {piece}");
        }
    }

    #[test]
    fn eof_mid_response_completes_nothing() {
        let mut p = ResponseParser::new(false);
        p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", |_| {}).unwrap();
        assert!(!p.is_idle());
        assert_eq!(p.finish(), None);
        assert!(p.is_idle());
    }
}

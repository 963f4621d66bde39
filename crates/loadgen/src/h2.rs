//! HTTP/2 for the generator (RFC 9113), sans I/O: one connection's frames in, events and frames out.
//!
//! Invariant: `Connection` never touches a socket; the worker feeds it what it read (`on_bytes`), writes
//! what it queued (`out`), and maps streams to its own request slots by the tag given at `open`.
//!
//! What is hand-written and what is not, and why:
//! - Framing is hand-written: a frame is a 9-byte header and a payload, parsed in place from the read
//!   buffer (only a frame split across reads is copied), and the hot path needs nothing more.
//! - Requests are parsed once per kind into HPACK fields and encoded by hand per connection
//!   (`h2_encode.rs`): a field sent before as an index into the connection's dynamic table, as servers
//!   see from browsers and h2load, so they decode a repeated request from a few bytes.
//! - Responses' header blocks are read by hand (`h2_hpack.rs`: the dynamic table kept, only `:status`
//!   decoded), Huffman strings by `httlib-huffman`: a general decoder cost most of the CPU per response.

use std::borrow::Cow;
use std::collections::HashMap;

#[path = "h2_encode.rs"]
mod encode;
#[path = "h2_hpack.rs"]
mod hpack;
pub use encode::{encode_request, Field};

/// What a client writes first (RFC 9113 3.4), before its SETTINGS.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const HEADER_LEN: usize = 9;
/// The largest frame payload a peer may send before it learns otherwise (and all this client allows).
const DEFAULT_MAX_FRAME: usize = 16_384;
const DEFAULT_WINDOW: i64 = 65_535;
const MAX_WINDOW: i64 = (1 << 31) - 1;

mod kind {
    pub const DATA: u8 = 0;
    pub const HEADERS: u8 = 1;
    pub const PRIORITY: u8 = 2;
    pub const RST_STREAM: u8 = 3;
    pub const SETTINGS: u8 = 4;
    pub const PUSH_PROMISE: u8 = 5;
    pub const PING: u8 = 6;
    pub const GOAWAY: u8 = 7;
    pub const WINDOW_UPDATE: u8 = 8;
    pub const CONTINUATION: u8 = 9;
}

mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// Error codes (RFC 9113 7).
pub mod code {
    use std::borrow::Cow;

    pub const NO_ERROR: u32 = 0x0;
    pub const PROTOCOL_ERROR: u32 = 0x1;
    pub const FLOW_CONTROL_ERROR: u32 = 0x3;
    pub const STREAM_CLOSED: u32 = 0x5;
    pub const FRAME_SIZE_ERROR: u32 = 0x6;
    pub const REFUSED_STREAM: u32 = 0x7;
    pub const CANCEL: u32 = 0x8;
    pub const COMPRESSION_ERROR: u32 = 0x9;
    pub const HTTP_1_1_REQUIRED: u32 = 0xd;

    /// The code's name, as RFC 9113 gives it.
    pub fn name(code: u32) -> Cow<'static, str> {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        NAMES.get(code as usize).map_or_else(|| Cow::Owned(format!("error code {code:#x}")), |n| Cow::Borrowed(*n))
    }
}

/// How this client sets up a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE), in bytes.
    pub stream_window: u32,
    /// The connection's receive window, in bytes.
    pub connection_window: u32,
}

impl Default for Settings {
    /// Windows of 2^30 - 1 bytes, as h2load's defaults: flow control never holds a benchmark back.
    fn default() -> Settings {
        Settings { stream_window: (1 << 30) - 1, connection_window: (1 << 30) - 1 }
    }
}

/// A connection error: the connection is over (a GOAWAY with `code` is queued in `out`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", code::name(*.code))]
pub struct ConnectionError {
    pub code: u32,
    pub reason: Cow<'static, str>,
}

fn fail<T>(code: u32, reason: impl Into<Cow<'static, str>>) -> Result<T, ConnectionError> {
    Err(ConnectionError { code, reason: reason.into() })
}

/// Why a stream ended without a whole response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFailure {
    /// The server reset it (RST_STREAM) with this code; REFUSED_STREAM means it was never processed.
    Reset(u32),
    /// The server's GOAWAY said it will not process it: it may be sent again on another connection.
    Refused,
    /// The response broke HTTP/2's rules for a message (a reset with PROTOCOL_ERROR is queued).
    Malformed(&'static str),
}

/// What a read brought, per stream (by the tag its request was opened with) or for the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A response's final header block: its status.
    Status { tag: u32, status: u16 },
    /// Bytes of a response's body.
    Data { tag: u32, data: &'a [u8] },
    /// The response is complete.
    End { tag: u32 },
    /// The stream ended without a whole response.
    Failed { tag: u32, failure: StreamFailure },
    /// The server will take no new streams (GOAWAY): the connection ends once the open ones have.
    GoAway { code: u32, debug: &'a [u8] },
    /// More streams or request bytes may go out now (SETTINGS or WINDOW_UPDATE from the server).
    Opened,
}

/// A request as HTTP/2 sends it: its header fields (each connection encodes them) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub fields: Vec<Field>,
    pub body: Vec<u8>,
}

/// Why a request cannot be opened yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// The server's first SETTINGS have not come yet: until they do, how many streams it allows is not
    /// known (opening more than it allows would get them refused).
    Starting,
    /// As many streams are open as the server allows; one must end first.
    Streams,
    /// The body does not fit the connection's send window; a WINDOW_UPDATE must come first.
    Window,
    /// The server sent GOAWAY: no new stream on this connection.
    GoingAway,
    /// The body is larger than the server's stream window, which only a stream's own WINDOW_UPDATE
    /// could open: stackbench sends bodies whole (a limitation, said when the run starts).
    BodyTooLarge,
}

/// An open stream: its tag and what came of it.
#[derive(Debug)]
struct Open {
    tag: u32,
    /// Its final (non-1xx) header block came.
    answered: bool,
    /// Receive window left, and bytes taken since the last WINDOW_UPDATE for it.
    recv_left: i64,
    recv_taken: u32,
}

/// A header block gathered from HEADERS and CONTINUATION frames.
#[derive(Debug, Default)]
struct Block {
    stream: u32,
    end_stream: bool,
    bytes: Vec<u8>,
}

/// One HTTP/2 connection's state, client side.
pub struct Connection {
    settings: Settings,
    /// Frames to write, in order: the preface first.
    pub out: Vec<u8>,
    /// A frame split across reads, gathered here until whole.
    carry: Vec<u8>,
    decoder: hpack::Decoder,
    /// Requests' header blocks: the encoder's table, and the block being written (kept for its allocation).
    encoder: encode::Encoder,
    request_block: Vec<u8>,
    /// The `:status` fields of the block being read (kept for its allocation), and a gathered block's.
    statuses: Vec<hpack::Status>,
    spare_block: Vec<u8>,
    /// A header block not ended yet (HEADERS without END_HEADERS): only CONTINUATION may follow.
    block: Option<Block>,
    streams: HashMap<u32, Open>,
    next_id: u32,
    /// The server's settings: how many streams it allows open, its streams' initial window, its largest
    /// frame.
    max_streams: u32,
    peer_initial_window: i64,
    peer_max_frame: usize,
    /// The connection's send window, its receive window left and bytes taken since the last update.
    send_window: i64,
    recv_left: i64,
    recv_taken: u32,
    /// The server's first SETTINGS came.
    started: bool,
    /// The server sent GOAWAY.
    going_away: bool,
}

impl Connection {
    /// A connection about to start: `out` holds the preface, this client's SETTINGS and, with a larger
    /// connection window than the default, its WINDOW_UPDATE.
    pub fn new(settings: Settings) -> Connection {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(PREFACE);
        let params: [(u16, u32); 2] = [(0x2, 0), (0x4, settings.stream_window)]; // ENABLE_PUSH, INITIAL_WINDOW_SIZE
        frame_header(&mut out, params.len() * 6, kind::SETTINGS, 0, 0);
        for (id, value) in params {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&value.to_be_bytes());
        }
        let connection_window = i64::from(settings.connection_window.min(MAX_WINDOW as u32));
        if connection_window > DEFAULT_WINDOW {
            window_update(&mut out, 0, (connection_window - DEFAULT_WINDOW) as u32);
        }
        Connection {
            settings,
            out,
            carry: Vec::new(),
            decoder: hpack::Decoder::default(),
            encoder: encode::Encoder::default(),
            request_block: Vec::new(),
            statuses: Vec::new(),
            spare_block: Vec::new(),
            block: None,
            streams: HashMap::new(),
            next_id: 1,
            max_streams: u32::MAX,
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame: DEFAULT_MAX_FRAME,
            send_window: DEFAULT_WINDOW,
            recv_left: connection_window.max(DEFAULT_WINDOW),
            recv_taken: 0,
            started: false,
            going_away: false,
        }
    }

    /// The server's first SETTINGS came: streams may be opened.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// The server sent GOAWAY: no new stream.
    pub fn going_away(&self) -> bool {
        self.going_away
    }

    /// How many streams the server allows open at once (u32::MAX until it says).
    pub fn max_streams(&self) -> u32 {
        self.max_streams
    }

    /// Queues `request`'s frames on a new stream tagged `tag` (its HEADERS, any CONTINUATION, its
    /// body's DATA): the stream's id, or why it must wait.
    pub fn open(&mut self, tag: u32, request: &Request) -> Result<u32, Blocked> {
        if self.going_away || self.next_id > MAX_WINDOW as u32 {
            return Err(Blocked::GoingAway);
        }
        if !self.started {
            return Err(Blocked::Starting);
        }
        if self.streams.len() >= self.max_streams as usize {
            return Err(Blocked::Streams);
        }
        let body = request.body.len() as i64;
        if body > self.peer_initial_window {
            return Err(Blocked::BodyTooLarge);
        }
        if body > self.send_window {
            return Err(Blocked::Window);
        }
        let id = self.next_id;
        self.next_id += 2;
        self.send_window -= body;
        let end_stream = if request.body.is_empty() { flag::END_STREAM } else { 0 };
        let mut block = std::mem::take(&mut self.request_block);
        block.clear();
        self.encoder.encode(&request.fields, &mut block);
        let mut chunks = block.chunks(self.peer_max_frame);
        let first = chunks.next().unwrap_or(&[]);
        let rest = chunks.len();
        frame_header(&mut self.out, first.len(), kind::HEADERS, end_stream | end_headers(rest == 0), id);
        self.out.extend_from_slice(first);
        for (i, chunk) in chunks.enumerate() {
            frame_header(&mut self.out, chunk.len(), kind::CONTINUATION, end_headers(i + 1 == rest), id);
            self.out.extend_from_slice(chunk);
        }
        self.request_block = block;
        let n_data = request.body.len().div_ceil(self.peer_max_frame);
        for (i, chunk) in request.body.chunks(self.peer_max_frame).enumerate() {
            let last = if i + 1 == n_data { flag::END_STREAM } else { 0 };
            frame_header(&mut self.out, chunk.len(), kind::DATA, last, id);
            self.out.extend_from_slice(chunk);
        }
        let recv_left = i64::from(self.settings.stream_window);
        self.streams.insert(id, Open { tag, answered: false, recv_left, recv_taken: 0 });
        Ok(id)
    }

    /// Gives up on stream `id` (a timeout): RST_STREAM with CANCEL is queued; what still comes for it is
    /// dropped.
    pub fn cancel(&mut self, id: u32) {
        if self.streams.remove(&id).is_some() {
            rst_stream(&mut self.out, id, code::CANCEL);
        }
    }

    /// Reads `input`, reporting what it brought through `on`; frames to send in answer (SETTINGS and PING
    /// acknowledgements, WINDOW_UPDATE) are queued in `out`. A connection error ends the connection: a
    /// GOAWAY is queued and the open streams are not reported one by one.
    pub fn on_bytes(&mut self, input: &[u8], on: &mut dyn FnMut(Event<'_>)) -> Result<(), ConnectionError> {
        let result = self.read_frames(input, on);
        if let Err(e) = &result {
            let last = self.next_id.saturating_sub(2);
            goaway(&mut self.out, last, e.code);
            self.streams.clear();
            self.going_away = true;
        }
        result
    }

    fn read_frames(&mut self, mut input: &[u8], on: &mut dyn FnMut(Event<'_>)) -> Result<(), ConnectionError> {
        if !self.carry.is_empty() {
            let missing = self.frame_len_in(&self.carry)?.map_or(HEADER_LEN, |len| HEADER_LEN + len);
            let take = (missing - self.carry.len()).min(input.len());
            self.carry.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.carry.len() == HEADER_LEN {
                // Its header just came whole: now its length is known.
                let len = self.frame_len_in(&self.carry)?.unwrap_or(0);
                let take = len.min(input.len());
                self.carry.extend_from_slice(&input[..take]);
                input = &input[take..];
            }
            match self.frame_len_in(&self.carry)? {
                Some(len) if self.carry.len() == HEADER_LEN + len => {
                    let frame = std::mem::take(&mut self.carry);
                    let result = self.frame(&frame, on);
                    self.carry = frame;
                    self.carry.clear();
                    result?;
                }
                _ => return Ok(()),
            }
        }
        while let Some(len) = self.frame_len_in(input)? {
            if input.len() < HEADER_LEN + len {
                break;
            }
            let (frame, rest) = input.split_at(HEADER_LEN + len);
            self.frame(frame, on)?;
            input = rest;
        }
        self.carry.extend_from_slice(input);
        Ok(())
    }

    /// The payload length of the frame whose header starts `bytes`, if the header is whole.
    fn frame_len_in(&self, bytes: &[u8]) -> Result<Option<usize>, ConnectionError> {
        if bytes.len() < HEADER_LEN {
            return Ok(None);
        }
        if !self.started && bytes.starts_with(b"HTTP/1.") {
            return fail(
                code::HTTP_1_1_REQUIRED,
                "the server answered in HTTP/1.1: it does not speak HTTP/2 with prior knowledge (h2c) here",
            );
        }
        let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        if len > DEFAULT_MAX_FRAME {
            return fail(
                code::FRAME_SIZE_ERROR,
                format!("a frame of {len} bytes, more than the {DEFAULT_MAX_FRAME} allowed"),
            );
        }
        Ok(Some(len))
    }

    /// One whole frame.
    fn frame(&mut self, frame: &[u8], on: &mut dyn FnMut(Event<'_>)) -> Result<(), ConnectionError> {
        let (kind, flags) = (frame[3], frame[4]);
        let stream = u32::from_be_bytes([frame[5], frame[6], frame[7], frame[8]]) & 0x7fff_ffff;
        let payload = &frame[HEADER_LEN..];
        if self.block.is_some() && kind != kind::CONTINUATION {
            return fail(code::PROTOCOL_ERROR, "a header block was interrupted by another frame");
        }
        match kind {
            kind::DATA => self.data(stream, flags, payload, on),
            kind::HEADERS => {
                let fragment = headers_fragment(stream, flags, payload)?;
                let end_stream = flags & flag::END_STREAM != 0;
                if flags & flag::END_HEADERS != 0 {
                    // The whole block in one frame (the usual case): read in place.
                    return self.header_block(stream, end_stream, fragment, on);
                }
                let bytes = std::mem::take(&mut self.spare_block);
                self.block = Some(Block { stream, end_stream, bytes });
                self.fragment(flags, fragment, on)
            }
            kind::CONTINUATION => match &self.block {
                Some(block) if block.stream == stream => self.fragment(flags, payload, on),
                _ => fail(code::PROTOCOL_ERROR, "CONTINUATION without a header block to continue"),
            },
            kind::PRIORITY => match (stream, payload.len()) {
                (0, _) => fail(code::PROTOCOL_ERROR, "PRIORITY on stream 0"),
                (_, 5) => Ok(()),
                _ => fail(code::FRAME_SIZE_ERROR, "a PRIORITY frame not 5 bytes long"),
            },
            kind::RST_STREAM => {
                let Ok(bytes) = <[u8; 4]>::try_from(payload) else {
                    return fail(code::FRAME_SIZE_ERROR, "an RST_STREAM frame not 4 bytes long");
                };
                self.known(stream, "RST_STREAM")?;
                if let Some(open) = self.streams.remove(&stream) {
                    let failure = StreamFailure::Reset(u32::from_be_bytes(bytes));
                    on(Event::Failed { tag: open.tag, failure });
                }
                Ok(())
            }
            kind::SETTINGS => self.settings(stream, flags, payload, on),
            kind::PUSH_PROMISE => fail(code::PROTOCOL_ERROR, "PUSH_PROMISE, though this client turned push off"),
            kind::PING => match (stream, payload.len()) {
                (0, 8) => {
                    if flags & flag::ACK == 0 {
                        frame_header(&mut self.out, 8, kind::PING, flag::ACK, 0);
                        self.out.extend_from_slice(payload);
                    }
                    Ok(())
                }
                (0, _) => fail(code::FRAME_SIZE_ERROR, "a PING frame not 8 bytes long"),
                _ => fail(code::PROTOCOL_ERROR, "PING on a stream"),
            },
            kind::GOAWAY => self.goaway(stream, payload, on),
            kind::WINDOW_UPDATE => self.window_update(stream, payload, on),
            // Unknown frame types are ignored (RFC 9113 5.5).
            _ => Ok(()),
        }
    }

    /// Fails on a frame for a stream this client never opened (an idle stream); a stream it opened and
    /// has forgotten (ended, reset, cancelled) may still get frames in flight, which are dropped.
    fn known(&self, stream: u32, what: &str) -> Result<(), ConnectionError> {
        if stream == 0 {
            return fail(code::PROTOCOL_ERROR, format!("{what} on stream 0"));
        }
        if stream.is_multiple_of(2) || stream >= self.next_id {
            return fail(code::PROTOCOL_ERROR, format!("{what} on stream {stream}, which this client never opened"));
        }
        Ok(())
    }

    fn data(
        &mut self,
        stream: u32,
        flags: u8,
        payload: &[u8],
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), ConnectionError> {
        self.known(stream, "DATA")?;
        let body = unpad(flags, payload)?;
        // Flow control counts the whole payload, padding too.
        let len = payload.len() as i64;
        self.recv_left -= len;
        if self.recv_left < 0 {
            return fail(code::FLOW_CONTROL_ERROR, "DATA beyond the connection's window");
        }
        self.recv_taken += payload.len() as u32;
        if i64::from(self.recv_taken) >= i64::from(self.settings.connection_window) / 2 {
            let taken = std::mem::take(&mut self.recv_taken);
            window_update(&mut self.out, 0, taken);
            self.recv_left += i64::from(taken);
        }
        let Some(open) = self.streams.get_mut(&stream) else {
            return Ok(());
        };
        open.recv_left -= len;
        if open.recv_left < 0 {
            return fail(code::FLOW_CONTROL_ERROR, format!("DATA beyond stream {stream}'s window"));
        }
        let tag = open.tag;
        if !open.answered {
            self.malformed(stream, "DATA before the response's headers", on);
            return Ok(());
        }
        if !body.is_empty() {
            on(Event::Data { tag, data: body });
        }
        if flags & flag::END_STREAM != 0 {
            self.streams.remove(&stream);
            on(Event::End { tag });
        } else if let Some(open) = self.streams.get_mut(&stream) {
            open.recv_taken += payload.len() as u32;
            if i64::from(open.recv_taken) >= i64::from(self.settings.stream_window) / 2 {
                let taken = std::mem::take(&mut open.recv_taken);
                open.recv_left += i64::from(taken);
                window_update(&mut self.out, stream, taken);
            }
        }
        Ok(())
    }

    /// A fragment of the header block being gathered; decoded once it ends.
    fn fragment(&mut self, flags: u8, fragment: &[u8], on: &mut dyn FnMut(Event<'_>)) -> Result<(), ConnectionError> {
        let block = self.block.as_mut().expect("a block is being gathered");
        block.bytes.extend_from_slice(fragment);
        if block.bytes.len() > 1 << 20 {
            return fail(code::PROTOCOL_ERROR, "a header block over 1 MiB");
        }
        if flags & flag::END_HEADERS == 0 {
            return Ok(());
        }
        let Block { stream, end_stream, mut bytes } = self.block.take().expect("a block is being gathered");
        let result = self.header_block(stream, end_stream, &bytes, on);
        bytes.clear();
        self.spare_block = bytes;
        result
    }

    /// A whole header block for `stream`: the response's status, its trailers, or why it is malformed.
    fn header_block(
        &mut self,
        stream: u32,
        end_stream: bool,
        bytes: &[u8],
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), ConnectionError> {
        self.known(stream, "HEADERS")?;
        // Decoded whatever the stream's fate: the decoder's table must follow the server's.
        let mut statuses = std::mem::take(&mut self.statuses);
        statuses.clear();
        let decoded = self.decoder.decode(bytes, &mut statuses);
        let status = match statuses.as_slice() {
            [] => Ok(None),
            [one] => one.map(Some),
            _ => Err("a response with two :status fields"),
        };
        self.statuses = statuses;
        if let Err(e) = decoded {
            return fail(code::COMPRESSION_ERROR, format!("the server's header block does not decode: {e}"));
        }
        let Some(&Open { tag, answered, .. }) = self.streams.get(&stream) else {
            return Ok(());
        };
        match status {
            Err(why) => self.malformed(stream, why, on),
            // Trailers end the response.
            Ok(None) if answered && end_stream => {
                self.streams.remove(&stream);
                on(Event::End { tag });
            }
            Ok(None) if answered => self.malformed(stream, "trailers that do not end the stream", on),
            Ok(None) => self.malformed(stream, "a response without :status", on),
            Ok(Some(_)) if answered => self.malformed(stream, "a second response on one stream", on),
            Ok(Some(101)) => self.malformed(stream, "101 Switching Protocols, which HTTP/2 forbids", on),
            Ok(Some(status)) if status < 200 => {
                if end_stream {
                    self.malformed(stream, "an informational (1xx) response that ends the stream", on);
                }
            }
            Ok(Some(status)) => {
                if let Some(open) = self.streams.get_mut(&stream) {
                    open.answered = true;
                }
                on(Event::Status { tag, status });
                if end_stream {
                    self.streams.remove(&stream);
                    on(Event::End { tag });
                }
            }
        }
        Ok(())
    }

    /// Stream `stream` broke the rules of a response: it is reset (PROTOCOL_ERROR) and reported.
    fn malformed(&mut self, stream: u32, why: &'static str, on: &mut dyn FnMut(Event<'_>)) {
        if let Some(open) = self.streams.remove(&stream) {
            rst_stream(&mut self.out, stream, code::PROTOCOL_ERROR);
            on(Event::Failed { tag: open.tag, failure: StreamFailure::Malformed(why) });
        }
    }

    fn settings(
        &mut self,
        stream: u32,
        flags: u8,
        payload: &[u8],
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), ConnectionError> {
        if stream != 0 {
            return fail(code::PROTOCOL_ERROR, "SETTINGS on a stream");
        }
        if flags & flag::ACK != 0 {
            return match payload.len() {
                0 => Ok(()),
                _ => fail(code::FRAME_SIZE_ERROR, "a SETTINGS acknowledgement with a payload"),
            };
        }
        if !payload.len().is_multiple_of(6) {
            return fail(code::FRAME_SIZE_ERROR, "a SETTINGS frame whose length is not a multiple of 6");
        }
        for param in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([param[0], param[1]]);
            let value = u32::from_be_bytes([param[2], param[3], param[4], param[5]]);
            match id {
                0x2 if value > 1 => return fail(code::PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1"),
                0x3 => self.max_streams = value,
                0x4 => {
                    if i64::from(value) > MAX_WINDOW {
                        return fail(code::FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1");
                    }
                    self.peer_initial_window = i64::from(value);
                }
                0x5 => {
                    if !(16_384..=16_777_215).contains(&value) {
                        return fail(code::PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1");
                    }
                    self.peer_max_frame = value as usize;
                }
                0x1 => self.encoder.limit(value),
                // MAX_HEADER_LIST_SIZE, unknown ones.
                _ => {}
            }
        }
        frame_header(&mut self.out, 0, kind::SETTINGS, flag::ACK, 0);
        self.started = true;
        on(Event::Opened);
        Ok(())
    }

    fn goaway(&mut self, stream: u32, payload: &[u8], on: &mut dyn FnMut(Event<'_>)) -> Result<(), ConnectionError> {
        if stream != 0 {
            return fail(code::PROTOCOL_ERROR, "GOAWAY on a stream");
        }
        if payload.len() < 8 {
            return fail(code::FRAME_SIZE_ERROR, "a GOAWAY frame shorter than 8 bytes");
        }
        let last = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]) & 0x7fff_ffff;
        let error = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
        self.going_away = true;
        let mut refused: Vec<(u32, u32)> =
            self.streams.iter().filter(|(&id, _)| id > last).map(|(&id, open)| (id, open.tag)).collect();
        refused.sort_unstable();
        for (id, tag) in refused {
            self.streams.remove(&id);
            on(Event::Failed { tag, failure: StreamFailure::Refused });
        }
        on(Event::GoAway { code: error, debug: &payload[8..] });
        Ok(())
    }

    fn window_update(
        &mut self,
        stream: u32,
        payload: &[u8],
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), ConnectionError> {
        let Ok(bytes) = <[u8; 4]>::try_from(payload) else {
            return fail(code::FRAME_SIZE_ERROR, "a WINDOW_UPDATE frame not 4 bytes long");
        };
        let increment = i64::from(u32::from_be_bytes(bytes) & 0x7fff_ffff);
        if stream != 0 {
            // Bodies go whole within the stream's initial window: nothing waits on a stream's own window.
            self.known(stream, "WINDOW_UPDATE")?;
            return Ok(());
        }
        if increment == 0 {
            return fail(code::PROTOCOL_ERROR, "a WINDOW_UPDATE of 0 for the connection");
        }
        self.send_window += increment;
        if self.send_window > MAX_WINDOW {
            return fail(code::FLOW_CONTROL_ERROR, "the connection's send window over 2^31-1");
        }
        on(Event::Opened);
        Ok(())
    }
}

fn end_headers(last: bool) -> u8 {
    if last {
        flag::END_HEADERS
    } else {
        0
    }
}

/// A HEADERS frame's header block fragment, without its padding and priority fields.
fn headers_fragment(stream: u32, flags: u8, payload: &[u8]) -> Result<&[u8], ConnectionError> {
    if stream == 0 {
        return fail(code::PROTOCOL_ERROR, "HEADERS on stream 0");
    }
    let fragment = unpad(flags, payload)?;
    if flags & flag::PRIORITY == 0 {
        return Ok(fragment);
    }
    match fragment.get(5..) {
        Some(rest) => Ok(rest),
        None => fail(code::FRAME_SIZE_ERROR, "a HEADERS frame too short for its priority fields"),
    }
}

/// A DATA or HEADERS payload without its padding (RFC 9113 6.1).
fn unpad(flags: u8, payload: &[u8]) -> Result<&[u8], ConnectionError> {
    if flags & flag::PADDED == 0 {
        return Ok(payload);
    }
    let Some((&pad, rest)) = payload.split_first() else {
        return fail(code::FRAME_SIZE_ERROR, "a padded frame without its pad length");
    };
    match rest.len().checked_sub(usize::from(pad)) {
        Some(len) => Ok(&rest[..len]),
        None => fail(code::PROTOCOL_ERROR, "padding longer than the frame"),
    }
}

fn parse_status(value: &[u8]) -> Result<u16, &'static str> {
    match value {
        [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err("a :status that is not three digits"),
    }
}

fn frame_header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    let len = len as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
}

fn window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    frame_header(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

fn rst_stream(out: &mut Vec<u8>, stream: u32, error: u32) {
    frame_header(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&error.to_be_bytes());
}

fn goaway(out: &mut Vec<u8>, last: u32, error: u32) {
    frame_header(out, 8, kind::GOAWAY, 0, 0);
    out.extend_from_slice(&last.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
}

#[doc(hidden)]
#[path = "h2_fuzzing.rs"]
pub mod fuzzing;

#[cfg(test)]
#[path = "h2_tests.rs"]
mod tests;

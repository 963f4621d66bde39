use super::encode::integer;
use super::*;

/// What the connection reported, owned.
fn feed(conn: &mut Connection, bytes: &[u8]) -> (Vec<String>, Result<(), ConnectionError>) {
    let mut seen = Vec::new();
    let result = conn.on_bytes(bytes, &mut |event| seen.push(format!("{event:?}")));
    (seen, result)
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame_header(&mut out, payload.len(), kind, flags, stream);
    out.extend_from_slice(payload);
    out
}

fn get() -> Request {
    encode_request(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", false).unwrap()
}

/// A connection that read the server's first (empty) SETTINGS.
fn started(settings: Settings) -> Connection {
    let mut conn = Connection::new(settings);
    assert_eq!(conn.open(0, &get()), Err(Blocked::Starting));
    feed(&mut conn, &frame(kind::SETTINGS, 0, 0, &[])).1.unwrap();
    assert!(conn.started());
    conn
}

/// A connection past its preface, with `n` GET streams open (ids 1, 3, ...; tags 0, 1, ...).
fn open(n: u32) -> Connection {
    let mut conn = started(Settings { stream_window: 65_535, connection_window: 65_535 });
    for tag in 0..n {
        conn.open(tag, &get()).unwrap();
    }
    conn.out.clear();
    conn
}

/// The frames in `out`: (kind, flags, stream, payload).
fn frames(mut out: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut frames = Vec::new();
    while !out.is_empty() {
        let len = usize::from(out[0]) << 16 | usize::from(out[1]) << 8 | usize::from(out[2]);
        let stream = u32::from_be_bytes([out[5], out[6], out[7], out[8]]);
        frames.push((out[3], out[4], stream, out[9..9 + len].to_vec()));
        out = &out[9 + len..];
    }
    frames
}

#[test]
fn integers_are_encoded_as_rfc_7541_shows() {
    // C.1.1-C.1.3: 10 and 1337 with a 5-bit prefix, 42 with 8 bits.
    let mut out = Vec::new();
    integer(&mut out, 5, 0, 10);
    integer(&mut out, 5, 0, 1337);
    integer(&mut out, 8, 0, 42);
    assert_eq!(out, [0x0a, 0x1f, 0x9a, 0x0a, 0x2a]);
}

/// `request`'s block as a connection's `encoder` writes it, and as a decoder that read the blocks before it
/// reads it (the decoder's table follows the encoder's from block to block).
fn encoded(
    encoder: &mut encode::Encoder,
    decoder: &mut loona_hpack::Decoder,
    request: &Request,
) -> (Vec<u8>, Vec<(String, String)>) {
    let mut block = Vec::new();
    encoder.encode(&request.fields, &mut block);
    let decoded = decoder.decode(&block).unwrap();
    let decoded =
        decoded.into_iter().map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap())).collect();
    (block, decoded)
}

#[test]
fn a_request_is_encoded_as_a_decoder_reads_it_and_repeats_as_indexes() {
    let http1 = b"POST /login?next=%2F HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nConnection: keep-alive\r\n\
        Content-Type: application/json\r\nContent-Length: 2\r\nX-Trace: a\r\n\r\n{}";
    let request = encode_request(http1, true).unwrap();
    let want = [
        (":method", "POST"),
        (":scheme", "https"),
        (":path", "/login?next=%2F"),
        (":authority", "127.0.0.1:8000"),
        ("content-type", "application/json"),
        ("content-length", "2"),
        ("x-trace", "a"),
    ]
    .map(|(n, v)| (n.to_string(), v.to_string()));
    assert_eq!(request.body, b"{}");
    let (mut encoder, mut decoder) = (encode::Encoder::default(), loona_hpack::Decoder::new());
    let (first, decoded) = encoded(&mut encoder, &mut decoder, &request);
    assert_eq!(decoded, want);
    // Again on the same connection: two static bytes and an index byte per field the first one added.
    let (again, decoded) = encoded(&mut encoder, &mut decoder, &request);
    assert_eq!(decoded, want);
    assert_eq!(again, [0x83, 0x87, 0x80 | 66, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62]);
    assert!(first.len() > 60, "{first:?}");
    // Another kind on the same connection: its own fields added, the first kind's still indexed.
    let other = encode_request(b"DELETE /item/7 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n", false).unwrap();
    let (_, decoded) = encoded(&mut encoder, &mut decoder, &other);
    assert_eq!(decoded[0], (":method".to_string(), "DELETE".to_string()));
    assert_eq!(decoded[1], (":scheme".to_string(), "http".to_string()));
    assert_eq!(decoded[2], (":path".to_string(), "/item/7".to_string()));
    assert_eq!(decoded[3], (":authority".to_string(), "127.0.0.1:8000".to_string()));
    assert_eq!(encoded(&mut encoder, &mut decoder, &request).1, want);
    assert_eq!(encoded(&mut encoder, &mut decoder, &other).1, decoded);
}

#[test]
fn the_table_never_outgrows_what_the_server_allows() {
    let request = |path: &str| encode_request(format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(), false);
    let (mut encoder, mut decoder) = (encode::Encoder::default(), loona_hpack::Decoder::new());
    // Drawn paths: each new one is added while the 4,096 bytes have room, then sent as a literal; every
    // block still decodes, and a path seen before is an index while it is in the table.
    for i in 0..200 {
        let (_, decoded) = encoded(&mut encoder, &mut decoder, &request(&format!("/item/{i:040}")).unwrap());
        assert_eq!(decoded[2].1, format!("/item/{i:040}"));
    }
    let (block, _) = encoded(&mut encoder, &mut decoder, &request(&format!("/item/{:040}", 3)).unwrap());
    assert_eq!(block.len(), 4, "{block:?}");
    // The server lowers its table to 100 bytes: the next block says so first (to 0, then 100), and the
    // table starts again within it.
    encoder.limit(100);
    let (block, decoded) = encoded(&mut encoder, &mut decoder, &request("/a").unwrap());
    assert_eq!(&block[..3], [0x20, 0x3f, 100 - 31]);
    assert_eq!(decoded[2].1, "/a");
    for path in ["/a", "/b", "/c", "/a"] {
        assert_eq!(encoded(&mut encoder, &mut decoder, &request(path).unwrap()).1[2].1, path);
    }
    // A server that allows no table gets literals only.
    let (mut encoder, mut decoder) = (encode::Encoder::default(), loona_hpack::Decoder::new());
    encoder.limit(0);
    let literals = [0x82, 0x86, 0x04, 2, b'/', b'a', 0x01, 1, b'h'];
    let (block, decoded) = encoded(&mut encoder, &mut decoder, &request("/a").unwrap());
    assert_eq!((decoded[2].1.as_str(), &block[..2], &block[2..]), ("/a", &[0x20, 0x20][..], &literals[..]));
    let (block, decoded) = encoded(&mut encoder, &mut decoder, &request("/a").unwrap());
    assert_eq!((decoded[2].1.as_str(), &block[..]), ("/a", &literals[..]));
}

#[test]
fn the_preface_turns_push_off_and_opens_the_windows() {
    let conn = Connection::new(Settings::default());
    assert!(conn.out.starts_with(PREFACE));
    let frames = frames(&conn.out[PREFACE.len()..]);
    assert_eq!(frames.len(), 2);
    let (kind, flags, stream, payload) = &frames[0];
    assert_eq!((*kind, *flags, *stream), (kind::SETTINGS, 0, 0));
    assert_eq!(payload, &[0, 2, 0, 0, 0, 0, 0, 4, 0x3f, 0xff, 0xff, 0xff]);
    assert_eq!(frames[1], (kind::WINDOW_UPDATE, 0, 0, ((1u32 << 30) - 1 - 65_535).to_be_bytes().to_vec()));
}

#[test]
fn a_response_is_its_status_its_body_and_its_end() {
    let mut conn = open(2);
    let mut bytes = frame(kind::HEADERS, flag::END_HEADERS, 3, &[0x88]);
    bytes.extend(frame(kind::DATA, 0, 3, b"hel"));
    // Padded: a pad length of 2, then the data, then two bytes of padding.
    bytes.extend(frame(kind::DATA, flag::PADDED | flag::END_STREAM, 3, b"\x02lo\0\0"));
    bytes.extend(frame(kind::HEADERS, flag::END_HEADERS | flag::END_STREAM, 1, &[0x8d]));
    let (seen, result) = feed(&mut conn, &bytes);
    result.unwrap();
    assert_eq!(
        seen,
        [
            "Status { tag: 1, status: 200 }",
            "Data { tag: 1, data: [104, 101, 108] }",
            "Data { tag: 1, data: [108, 111] }",
            "End { tag: 1 }",
            "Status { tag: 0, status: 404 }",
            "End { tag: 0 }",
        ]
    );
    assert_eq!(conn.open_streams(), 0);
}

#[test]
fn a_header_block_may_span_continuation_frames_and_nothing_may_interrupt_it() {
    let mut conn = open(1);
    // :status 503 as a literal with the indexed name :status (8), then a header split over two frames.
    let block = [&[0x08, 3][..], b"503", &[0x40, 1], b"x", &[1], b"y"].concat();
    let mut bytes = frame(kind::HEADERS, flag::END_STREAM, 1, &block[..4]);
    bytes.extend(frame(kind::CONTINUATION, flag::END_HEADERS, 1, &block[4..]));
    let (seen, result) = feed(&mut conn, &bytes);
    result.unwrap();
    assert_eq!(seen, ["Status { tag: 0, status: 503 }", "End { tag: 0 }"]);

    let mut conn = open(1);
    let mut bytes = frame(kind::HEADERS, 0, 1, &[0x88]);
    bytes.extend(frame(kind::PING, 0, 0, &[0; 8]));
    let (_, result) = feed(&mut conn, &bytes);
    assert_eq!(result.unwrap_err().to_string(), "PROTOCOL_ERROR: a header block was interrupted by another frame");
    // A GOAWAY tells the server why.
    assert_eq!(frames(&conn.out).last().unwrap().0, kind::GOAWAY);
}

#[test]
fn an_informational_response_waits_for_the_final_one() {
    let mut conn = open(1);
    let mut bytes = frame(kind::HEADERS, flag::END_HEADERS, 1, &[0x08, 3, b'1', b'0', b'3']);
    bytes.extend(frame(kind::HEADERS, flag::END_HEADERS | flag::END_STREAM, 1, &[0x89]));
    let (seen, result) = feed(&mut conn, &bytes);
    result.unwrap();
    assert_eq!(seen, ["Status { tag: 0, status: 204 }", "End { tag: 0 }"]);
}

#[test]
fn a_malformed_response_fails_its_stream_only() {
    let mut conn = open(2);
    let mut bytes = frame(kind::DATA, 0, 1, b"early");
    bytes.extend(frame(kind::HEADERS, flag::END_HEADERS | flag::END_STREAM, 3, &[0x40, 1, b'x', 1, b'y']));
    let (seen, result) = feed(&mut conn, &bytes);
    result.unwrap();
    assert_eq!(
        seen,
        [
            "Failed { tag: 0, failure: Malformed(\"DATA before the response's headers\") }",
            "Failed { tag: 1, failure: Malformed(\"a response without :status\") }",
        ]
    );
    let resets: Vec<_> = frames(&conn.out).into_iter().map(|(k, _, s, p)| (k, s, p)).collect();
    assert_eq!(resets, [(kind::RST_STREAM, 1, vec![0, 0, 0, 1]), (kind::RST_STREAM, 3, vec![0, 0, 0, 1])]);
}

#[test]
fn settings_are_applied_and_acknowledged() {
    let mut conn = open(0);
    // MAX_CONCURRENT_STREAMS 2, MAX_FRAME_SIZE 20000.
    let bytes = frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 2, 0, 5, 0, 0, 0x4e, 0x20]);
    let (seen, result) = feed(&mut conn, &bytes);
    result.unwrap();
    assert_eq!(seen, ["Opened"]);
    assert_eq!(frames(&conn.out), [(kind::SETTINGS, flag::ACK, 0, vec![])]);
    assert_eq!(conn.open(0, &get()), Ok(1));
    assert_eq!(conn.open(1, &get()), Ok(3));
    assert_eq!(conn.open(2, &get()), Err(Blocked::Streams));
    // A block larger than the server's frame: HEADERS, then CONTINUATION.
    let mut conn = open(0);
    let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(20_000));
    conn.open(0, &encode_request(long.as_bytes(), false).unwrap()).unwrap();
    let sent: Vec<_> = frames(&conn.out).into_iter().map(|(k, f, s, p)| (k, f, s, p.len())).collect();
    assert_eq!((sent[0].0, sent[0].2), (kind::HEADERS, 1));
    assert_eq!((sent[0].1, sent[0].3), (flag::END_STREAM, 16_384));
    assert_eq!((sent[1].0, sent[1].1), (kind::CONTINUATION, flag::END_HEADERS));
    // Bad values are connection errors.
    let mut conn = open(0);
    let (_, result) = feed(&mut conn, &frame(kind::SETTINGS, 0, 0, &[0, 5, 0, 0, 0, 1]));
    assert_eq!(result.unwrap_err().code, code::PROTOCOL_ERROR);
}

#[test]
fn flow_control_is_kept_both_ways() {
    // Receiving: a window update once half the window is taken; beyond the window, an error.
    let mut conn = open(1);
    let mut bytes = frame(kind::HEADERS, flag::END_HEADERS, 1, &[0x88]);
    for _ in 0..3 {
        bytes.extend(frame(kind::DATA, 0, 1, &[0; 16_000]));
    }
    feed(&mut conn, &bytes).1.unwrap();
    let updates: Vec<_> = frames(&conn.out).into_iter().map(|(k, _, s, p)| (k, s, p)).collect();
    let taken = 48_000u32.to_be_bytes().to_vec();
    assert_eq!(updates, [(kind::WINDOW_UPDATE, 0, taken.clone()), (kind::WINDOW_UPDATE, 1, taken)]);
    // A stream window of 10,000 bytes, and a frame of 16,000.
    let mut conn = started(Settings { stream_window: 10_000, connection_window: 65_535 });
    conn.open(0, &get()).unwrap();
    let mut bytes = frame(kind::HEADERS, flag::END_HEADERS, 1, &[0x88]);
    bytes.extend(frame(kind::DATA, 0, 1, &[0; 16_000]));
    let (_, result) = feed(&mut conn, &bytes);
    assert_eq!(result.unwrap_err().to_string(), "FLOW_CONTROL_ERROR: DATA beyond stream 1's window");

    // Sending: a body waits for the connection's window, and one over the stream's window is refused.
    let mut conn = open(0);
    let post = |n: usize| Request { fields: [0x83, 0x86, 0x84].map(Field::Static).to_vec(), body: vec![0; n] };
    assert_eq!(conn.open(0, &post(40_000)), Ok(1));
    assert_eq!(conn.open(1, &post(40_000)), Err(Blocked::Window));
    let (seen, result) = feed(&mut conn, &frame(kind::WINDOW_UPDATE, 0, 0, &40_000u32.to_be_bytes()));
    result.unwrap();
    assert_eq!(seen, ["Opened"]);
    assert_eq!(conn.open(1, &post(40_000)), Ok(3));
    assert_eq!(conn.open(2, &post(70_000)), Err(Blocked::BodyTooLarge));
}

#[test]
fn resets_and_goaway_end_streams_with_their_reason() {
    let mut conn = open(3);
    let mut bytes = frame(kind::RST_STREAM, 0, 1, &code::REFUSED_STREAM.to_be_bytes());
    // GOAWAY: streams above 3 will not be processed.
    bytes.extend(frame(kind::GOAWAY, 0, 0, &[&3u32.to_be_bytes()[..], &[0, 0, 0, 0], b"bye"].concat()));
    let (seen, result) = feed(&mut conn, &bytes);
    result.unwrap();
    assert_eq!(
        seen,
        [
            "Failed { tag: 0, failure: Reset(7) }",
            "Failed { tag: 2, failure: Refused }",
            "GoAway { code: 0, debug: [98, 121, 101] }",
        ]
    );
    assert_eq!(conn.open_streams(), 1);
    assert_eq!(conn.open(9, &get()), Err(Blocked::GoingAway));
}

#[test]
fn pings_are_answered_and_pushes_refused() {
    let mut conn = open(1);
    feed(&mut conn, &frame(kind::PING, 0, 0, b"12345678")).1.unwrap();
    assert_eq!(frames(&conn.out), [(kind::PING, flag::ACK, 0, b"12345678".to_vec())]);
    let (_, result) = feed(&mut conn, &frame(kind::PUSH_PROMISE, flag::END_HEADERS, 1, &[0, 0, 0, 2, 0x82]));
    assert_eq!(result.unwrap_err().code, code::PROTOCOL_ERROR);
}

#[test]
fn frames_for_streams_never_opened_or_too_large_end_the_connection() {
    let mut conn = open(1);
    let (_, result) = feed(&mut conn, &frame(kind::HEADERS, flag::END_HEADERS, 5, &[0x88]));
    assert_eq!(result.unwrap_err().to_string(), "PROTOCOL_ERROR: HEADERS on stream 5, which this client never opened");
    let mut conn = open(1);
    let (_, result) = feed(&mut conn, &frame(kind::DATA, 0, 1, &[0; 16_385]));
    assert_eq!(result.unwrap_err().code, code::FRAME_SIZE_ERROR);
    // A cancelled stream's late frames are dropped.
    let mut conn = open(1);
    conn.cancel(1);
    assert_eq!(frames(&conn.out), [(kind::RST_STREAM, 0, 1, code::CANCEL.to_be_bytes().to_vec())]);
    let (seen, result) = feed(&mut conn, &frame(kind::HEADERS, flag::END_HEADERS | flag::END_STREAM, 1, &[0x88]));
    result.unwrap();
    assert!(seen.is_empty());
}

#[test]
fn reads_of_any_size_give_the_same_events() {
    let mut bytes = frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
    bytes.extend(frame(kind::HEADERS, flag::END_HEADERS, 1, &[0x88]));
    bytes.extend(frame(kind::DATA, flag::END_STREAM, 1, b"body"));
    bytes.extend(frame(kind::HEADERS, flag::END_HEADERS | flag::END_STREAM, 3, &[0x8d]));
    for seed in 0..=255u8 {
        fuzzing::check(&[&[seed][..], &bytes].concat());
    }
}

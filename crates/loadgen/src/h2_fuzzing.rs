//! The properties `fuzz/fuzz_targets/h2_frames.rs` checks, and the replay of its corpus in `cargo test`:
//! a connection fed any bytes, in any split, ends in events or one connection error, never a panic.

use super::{Connection, Event, Field, Request, Settings, StreamFailure};

/// What a connection made of a byte stream: its events, owned, and how it ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    Status(u32, u16),
    Data(u32, Vec<u8>),
    End(u32),
    Failed(u32, StreamFailure),
    GoAway(u32, Vec<u8>),
    Opened,
    Error(String),
}

/// A connection started (the server's SETTINGS read) with three streams open (ids 1, 3, 5), fed
/// `reads` one after another. Data events are joined per stream, since where a read ends decides how
/// a body is cut.
pub fn drive(reads: &[&[u8]]) -> (Vec<Seen>, Vec<u8>) {
    let mut conn = Connection::new(Settings { stream_window: 65_535, connection_window: 1 << 20 });
    conn.on_bytes(&[0, 0, 0, super::kind::SETTINGS, 0, 0, 0, 0, 0], &mut |_| {}).expect("empty SETTINGS");
    conn.out.clear();
    let request = Request { fields: [0x82, 0x86, 0x84].map(Field::Static).to_vec(), body: Vec::new() };
    for tag in 0..3 {
        conn.open(tag, &request).expect("three streams open on a new connection");
    }
    let mut seen = Vec::new();
    for read in reads {
        let result = conn.on_bytes(read, &mut |event| {
            let event = match event {
                Event::Status { tag, status } => Seen::Status(tag, status),
                Event::Data { tag, data } => {
                    if let Some(Seen::Data(last, bytes)) = seen.last_mut() {
                        if *last == tag {
                            bytes.extend_from_slice(data);
                            return;
                        }
                    }
                    Seen::Data(tag, data.to_vec())
                }
                Event::End { tag } => Seen::End(tag),
                Event::Failed { tag, failure } => Seen::Failed(tag, failure),
                Event::GoAway { code, debug } => Seen::GoAway(code, debug.to_vec()),
                Event::Opened => Seen::Opened,
            };
            seen.push(event);
        });
        if let Err(e) = result {
            seen.push(Seen::Error(e.to_string()));
            break;
        }
        assert!(conn.carry.len() < super::HEADER_LEN + super::DEFAULT_MAX_FRAME, "carries more than a frame");
    }
    (seen, conn.out)
}

/// `data[0]` picks the read sizes; the rest is what the server sent. One read and many small ones
/// give the same events, the same error and the same frames in answer; nothing panics.
pub fn check(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else { return };
    let whole = drive(&[stream]);
    let mut reads = Vec::new();
    let (mut state, mut rest) = (u32::from(seed) | 1, stream);
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = (1 + (state >> 16) % 23) as usize;
        let (read, after) = rest.split_at(size.min(rest.len()));
        reads.push(read);
        rest = after;
    }
    let split = drive(&reads);
    assert_eq!(whole, split, "one read and {} reads disagree", reads.len());
}

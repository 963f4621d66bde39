//! Reading a response's header block (RFC 7541): the dynamic table kept as the server drives it, and
//! the one field the generator uses, `:status`.
//!
//! Invariant: the table's entries and sizes are exactly the server's encoder's (names and values counted
//! decoded), so every later block reads right; a field's value is decoded only when the table needs its
//! length or it is the status. Hand-written because the general decoders tried (`loona-hpack`) built a
//! Huffman table per string and decoded every value: three quarters of the generator's CPU per response
//! against nginx. Huffman strings are decoded by `httlib-huffman`'s flattened tables.

use std::collections::VecDeque;

use httlib_huffman::{decode as huffman, DecoderSpeed};

/// The table size HTTP/2 starts with (SETTINGS_HEADER_TABLE_SIZE's default): the most this client allows
/// the server's table (it sends no SETTINGS_HEADER_TABLE_SIZE), and the most its own encoder uses.
pub(super) const MAX_TABLE: usize = 4_096;

/// RFC 7541 Appendix A, names only (index 1 first): the values that matter are `:status`'s (8 to 14).
pub(super) const STATIC_NAMES: [&str; 61] = [
    ":authority",
    ":method",
    ":method",
    ":path",
    ":path",
    ":scheme",
    ":scheme",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "accept",
    "access-control-allow-origin",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "link",
    "location",
    "max-forwards",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
];

/// The statuses of static entries 8 to 14.
const STATIC_STATUSES: [u16; 7] = [200, 204, 206, 304, 400, 404, 500];

/// What a `:status` field said: a status, or why it is not one.
pub type Status = Result<u16, &'static str>;

/// A dynamic table entry, as far as the generator needs it.
#[derive(Debug, Clone)]
struct Entry {
    /// Its name's decoded length, and the name's and value's plus 32 (RFC 7541 4.1).
    name_len: usize,
    size: usize,
    /// Its name is `:status`: what its value says.
    status: Option<Status>,
}

/// One connection's decoder.
#[derive(Debug)]
pub struct Decoder {
    /// Newest first: dynamic index 62 is `entries[0]`.
    entries: VecDeque<Entry>,
    size: usize,
    max: usize,
    /// Decoded Huffman strings land here (kept for its allocation).
    scratch: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder { entries: VecDeque::new(), size: 0, max: MAX_TABLE, scratch: Vec::with_capacity(64) }
    }
}

/// A string literal, not yet decoded.
struct Literal<'a> {
    huffman: bool,
    bytes: &'a [u8],
}

impl Decoder {
    /// Reads a whole header block: the `:status` fields it holds, in order (a response has one), or why the
    /// block does not decode (a connection error: the table can no longer be trusted).
    pub fn decode(&mut self, mut block: &[u8], statuses: &mut Vec<Status>) -> Result<(), String> {
        let mut first = true;
        while let Some(&byte) = block.first() {
            if byte & 0x80 != 0 {
                let index = integer(&mut block, 7)?;
                if let Some(status) = self.field(index)?.1 {
                    statuses.push(status);
                }
            } else if byte & 0x40 != 0 {
                // Literal with incremental indexing: it joins the table.
                let (name_len, name_status) = self.name(&mut block, 6)?;
                let value = literal(&mut block)?;
                let value_len = self.length(&value)?;
                let status = match name_status {
                    true => Some(self.status(&value)?),
                    false => None,
                };
                if let Some(status) = status {
                    statuses.push(status);
                }
                self.insert(Entry { name_len, size: name_len + value_len + 32, status });
            } else if byte & 0x20 != 0 {
                if !first {
                    return Err("a dynamic table size update after the block's first field".into());
                }
                let max = integer(&mut block, 5)?;
                if max > MAX_TABLE {
                    return Err(format!("a dynamic table of {max} bytes, over the {MAX_TABLE} allowed"));
                }
                self.max = max;
                self.evict(0);
                continue;
            } else {
                // Literal without indexing or never indexed: read, and forgotten.
                let (_, name_status) = self.name(&mut block, 4)?;
                let value = literal(&mut block)?;
                if name_status {
                    statuses.push(self.status(&value)?);
                }
            }
            first = false;
        }
        Ok(())
    }

    /// Field `index` of the tables: its name's length and, for `:status`, what its value says.
    fn field(&self, index: usize) -> Result<(usize, Option<Status>), String> {
        match index {
            0 => Err("index 0".into()),
            8..=14 => Ok((":status".len(), Some(Ok(STATIC_STATUSES[index - 8])))),
            1..=61 => Ok((STATIC_NAMES[index - 1].len(), None)),
            _ => match self.entries.get(index - 62) {
                Some(entry) => Ok((entry.name_len, entry.status)),
                None => Err(format!("index {index}, beyond the table's {} entries", 61 + self.entries.len())),
            },
        }
    }

    /// A literal field's name, by index (`prefix` bits) or as a string: its decoded length, and whether it
    /// is `:status`.
    fn name(&mut self, block: &mut &[u8], prefix: u8) -> Result<(usize, bool), String> {
        let index = integer(block, prefix)?;
        if index > 0 {
            return self.field(index).map(|(len, status)| (len, status.is_some()));
        }
        let name = literal(block)?;
        let bytes = self.decoded(&name)?;
        Ok((bytes.len(), bytes == b":status"))
    }

    /// A literal's decoded length.
    fn length(&mut self, literal: &Literal<'_>) -> Result<usize, String> {
        Ok(match literal.huffman {
            true => self.decoded(literal)?.len(),
            false => literal.bytes.len(),
        })
    }

    fn status(&mut self, value: &Literal<'_>) -> Result<Status, String> {
        Ok(super::parse_status(self.decoded(value)?))
    }

    /// A literal's bytes, Huffman-decoded if need be.
    fn decoded<'a>(&'a mut self, literal: &Literal<'a>) -> Result<&'a [u8], String> {
        if !literal.huffman {
            return Ok(literal.bytes);
        }
        self.scratch.clear();
        huffman(literal.bytes, &mut self.scratch, DecoderSpeed::FourBits)
            .map_err(|e| format!("a Huffman string does not decode ({e:?})"))?;
        Ok(&self.scratch)
    }

    fn insert(&mut self, entry: Entry) {
        self.evict(entry.size);
        if entry.size <= self.max {
            self.size += entry.size;
            self.entries.push_front(entry);
        }
    }

    /// Drops the oldest entries until `room` more bytes fit (all of them if it never does).
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max {
            match self.entries.pop_back() {
                Some(old) => self.size -= old.size,
                None => break,
            }
        }
    }
}

/// A string literal (RFC 7541 5.2), taken off the front of `block`.
fn literal<'a>(block: &mut &'a [u8]) -> Result<Literal<'a>, String> {
    let huffman = block.first().is_some_and(|b| b & 0x80 != 0);
    let len = integer(block, 7)?;
    if block.len() < len {
        return Err(format!("a string of {len} bytes where {} are left", block.len()));
    }
    let (bytes, rest) = block.split_at(len);
    *block = rest;
    Ok(Literal { huffman, bytes })
}

/// An integer with a `prefix`-bit prefix (RFC 7541 5.1), taken off the front of `block`.
fn integer(block: &mut &[u8], prefix: u8) -> Result<usize, String> {
    let (&first, mut rest) = block.split_first().ok_or("an integer cut short")?;
    let max = (1usize << prefix) - 1;
    let mut value = usize::from(first) & max;
    if value == max {
        let mut shift = 0;
        loop {
            let (&byte, after) = rest.split_first().ok_or("an integer cut short")?;
            rest = after;
            if shift > 21 {
                return Err("an integer over 2^28".into());
            }
            value += usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
    }
    *block = rest;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::{Decoder, Status};

    fn statuses(decoder: &mut Decoder, block: &[u8]) -> Result<Vec<Status>, String> {
        let mut seen = Vec::new();
        decoder.decode(block, &mut seen).map(|()| seen)
    }

    fn huffman(text: &str) -> Vec<u8> {
        let mut coded = Vec::new();
        httlib_huffman::encode(text.as_bytes(), &mut coded).unwrap();
        let mut literal = vec![0x80 | coded.len() as u8];
        literal.extend(coded);
        literal
    }

    #[test]
    fn a_status_is_read_from_the_static_table_and_from_literals_plain_or_huffman() {
        let mut d = Decoder::default();
        assert_eq!(statuses(&mut d, &[0x88]), Ok(vec![Ok(200)]));
        assert_eq!(statuses(&mut d, &[0x8d]), Ok(vec![Ok(404)]));
        // Literal without indexing, :status's name by index, "503" plain; then never indexed, Huffman "418".
        assert_eq!(statuses(&mut d, &[0x08, 3, b'5', b'0', b'3']), Ok(vec![Ok(503)]));
        let mut block = vec![0x18];
        block.extend(huffman("418"));
        assert_eq!(statuses(&mut d, &block), Ok(vec![Ok(418)]));
        // A new name that is ":status", Huffman-coded, and a value that is not a status.
        let mut block = vec![0x00];
        block.extend(huffman(":status"));
        block.extend([2, b'o', b'k']);
        assert_eq!(statuses(&mut d, &block), Ok(vec![Err("a :status that is not three digits")]));
        // Other fields are read past: a date by name index, a literal name and value.
        let mut block = vec![0x0f, 0x12];
        block.extend(huffman("Sun, 06 Dec 2026 18:00:00 GMT"));
        block.extend([0x88, 0x00, 1, b'x', 1, b'y']);
        assert_eq!(statuses(&mut d, &block), Ok(vec![Ok(200)]));
    }

    #[test]
    fn the_dynamic_table_follows_an_encoder_that_indexes_and_evicts() {
        let mut encoder = loona_hpack::Encoder::new();
        let mut d = Decoder::default();
        let long = "v".repeat(1500);
        for i in 0..40u16 {
            let status = (200 + i % 3).to_string();
            let tag = format!("t{}", i % 5);
            let headers: Vec<(&[u8], &[u8])> = vec![
                (b":status", status.as_bytes()),
                (b"content-type", b"text/plain"),
                (b"x-tag", tag.as_bytes()),
                (b"x-long", long.as_bytes()),
            ];
            let block = encoder.encode(headers);
            assert_eq!(statuses(&mut d, &block), Ok(vec![Ok(200 + i % 3)]), "block {i}");
            assert!(d.size <= super::MAX_TABLE, "{}", d.size);
        }
        // The table as the encoder keeps it: each entry 32 bytes more than its name and value.
        assert!(!d.entries.is_empty() && d.entries.iter().all(|e| e.size > e.name_len + 32));
    }

    #[test]
    fn blocks_that_break_the_rules_are_errors_that_say_why() {
        let cases: [(&[u8], &str); 6] = [
            (&[0x80], "index 0"),
            (&[0xbf], "index 63, beyond the table's 61 entries"),
            (&[0x3f, 0xe2, 0x1f], "a dynamic table of 4097 bytes, over the 4096 allowed"),
            (&[0x88, 0x20], "a dynamic table size update after the block's first field"),
            (&[0x08, 5, b'2'], "a string of 5 bytes where 1 are left"),
            (&[0xff], "an integer cut short"),
        ];
        for (block, why) in cases {
            assert_eq!(statuses(&mut Decoder::default(), block), Err(why.to_string()), "{block:?}");
        }
        let mut d = Decoder::default();
        assert_eq!(statuses(&mut d, &[0x20, 0x88]), Ok(vec![Ok(200)]), "a table of 0 bytes at the start");
        let kept_nothing = statuses(&mut d, &[0x48, 3, b'2', b'0', b'1', 0xbe]);
        assert_eq!(kept_nothing, Err("index 62, beyond the table's 61 entries".to_string()));
    }
}

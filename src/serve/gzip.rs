//! Compressed `/metrics` bodies. Prometheus always scrapes with
//! `Accept-Encoding: gzip`, and the expositions compress ~20× (the status state
//! set repeats), so the instance families are kept only compressed: written
//! through [`Deflater`] straight into a raw deflate stream, never whole as text.
//!
//! A scrape's gzip body is one gzip member made of many raw deflate parts: the
//! instance families' parts (see [`super::chunks`]), each compressed on its own
//! and ended by a sync flush (byte-aligned, not final), then the exporter's own
//! small part as stored (uncompressed) blocks, the last final. A part shares no
//! history with the one before it, so the concatenation is one valid deflate
//! stream; the trailer's CRC-32 is the parts' CRCs combined. A scraper that does
//! not accept gzip gets the instance parts inflated chunk by chunk as they are
//! sent ([`Inflate`]).

use std::fmt;
use std::io;

use axum::body::Bytes;
use flate2::{Compress, Compression, Crc, Decompress, FlushCompress, FlushDecompress, Status};

/// Level 1: the texts are so repetitive that higher levels gain little and cost
/// several times the CPU (see BENCHMARKS.md).
pub const LEVEL: u32 = 1;

/// Text written through it (`fmt::Write`) comes out as raw deflate.
pub struct Deflater {
    c: Compress,
    out: Vec<u8>,
    /// Text not yet compressed: handed over in blocks, not string by string.
    pending: Vec<u8>,
    crc: Crc,
    plain_len: usize,
}

const BLOCK: usize = 32 * 1024;

/// A finished deflate part, with what the gzip trailer and a plain scrape need.
#[derive(Debug)]
pub struct Packed {
    pub deflate: Bytes,
    pub crc: Crc,
    /// The length of the text it holds.
    pub plain_len: usize,
}

impl Packed {
    /// No text: an empty stored block, not final.
    pub fn empty() -> Packed {
        Packed {
            deflate: Bytes::from_static(&[0, 0, 0, 0xff, 0xff]),
            crc: Crc::new(),
            plain_len: 0,
        }
    }

    /// No text and no bytes: a part that adds nothing to the stream.
    pub fn nothing() -> Packed {
        Packed {
            deflate: Bytes::new(),
            crc: Crc::new(),
            plain_len: 0,
        }
    }
}

/// Sync-flushed parts joined in order: one deflate stream that is not ended,
/// with the CRC and length of the text it holds. The parts are shared, not
/// copied.
#[derive(Debug)]
pub struct Joined {
    pub parts: Vec<Bytes>,
    pub crc: Crc,
    pub plain_len: usize,
}

impl Joined {
    pub fn new<'a>(parts: impl Iterator<Item = &'a Packed>) -> Joined {
        let mut j = Joined {
            parts: Vec::new(),
            crc: Crc::new(),
            plain_len: 0,
        };
        for p in parts.filter(|p| !p.deflate.is_empty()) {
            j.parts.push(p.deflate.clone());
            j.crc.combine(&p.crc);
            j.plain_len += p.plain_len;
        }
        j
    }

    /// The compressed size.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The largest stored block.
const STORED_MAX: usize = 65_535;

impl Packed {
    /// `text` as the stream's last blocks, stored uncompressed: a few kilobytes
    /// at every scrape are not worth a compressor's state.
    pub fn stored_last(text: &[u8]) -> Packed {
        let blocks = text.len().div_ceil(STORED_MAX).max(1);
        let mut out = Vec::with_capacity(text.len() + 5 * blocks);
        for (i, block) in text
            .chunks(STORED_MAX)
            .chain(text.is_empty().then_some(&[][..]))
            .enumerate()
        {
            // Byte-aligned after a sync flush: BFINAL, BTYPE 00, then LEN and NLEN.
            out.push(u8::from(i + 1 == blocks));
            let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(block);
        }
        let mut crc = Crc::new();
        crc.update(text);
        Packed {
            deflate: Bytes::from(out),
            crc,
            plain_len: text.len(),
        }
    }
}

impl Deflater {
    /// `capacity`: the compressed size expected (grown if needed).
    pub fn new(capacity: usize) -> Deflater {
        Deflater {
            c: Compress::new(Compression::new(LEVEL), false),
            out: Vec::with_capacity(capacity.max(1024)),
            pending: Vec::with_capacity(BLOCK),
            crc: Crc::new(),
            plain_len: 0,
        }
    }

    /// Compresses `input`; with a flush, until all of it is out.
    fn push(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            if self.out.capacity() - self.out.len() < 256 {
                self.out.reserve((self.out.len() / 4).max(16 * 1024));
            }
            let before = self.c.total_in();
            self.c
                .compress_vec(input, &mut self.out, flush)
                .map_err(io::Error::other)?;
            let used = usize::try_from(self.c.total_in() - before).unwrap_or(input.len());
            input = input.get(used..).unwrap_or(&[]);
            let room_left = self.out.len() < self.out.capacity();
            let done = match flush {
                FlushCompress::None => input.is_empty(),
                _ => input.is_empty() && room_left,
            };
            if done {
                return Ok(());
            }
        }
    }

    fn drain_pending(&mut self, flush: FlushCompress) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.crc.update(&pending);
        let r = self.push(&pending, flush);
        self.pending = pending;
        self.pending.clear();
        r
    }

    /// Ends the part with a sync flush (another part may follow it in the
    /// stream) and makes the deflater ready for a new part that shares no
    /// history with this one: its state is reset, not allocated again.
    pub fn finish_part(&mut self) -> io::Result<Packed> {
        let flushed = self.drain_pending(FlushCompress::Sync);
        self.c.reset();
        let mut out = std::mem::take(&mut self.out);
        let crc = std::mem::take(&mut self.crc);
        let plain_len = std::mem::take(&mut self.plain_len);
        flushed?;
        out.shrink_to_fit();
        Ok(Packed {
            deflate: Bytes::from(out),
            crc,
            plain_len,
        })
    }
}

impl fmt::Write for Deflater {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.plain_len += s.len();
        self.pending.extend_from_slice(s.as_bytes());
        if self.pending.len() >= BLOCK {
            self.drain_pending(FlushCompress::None)
                .map_err(|_| fmt::Error)?;
        }
        Ok(())
    }
}

/// The gzip header: deflate, no name, no time, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// One gzip member from sync-flushed parts and a stored last part, as chunks (the
/// parts are not copied). Returns the chunks and their total length.
pub fn gzip_member(first: &Joined, last: &Packed) -> (Vec<Bytes>, usize) {
    let mut crc = Crc::new();
    crc.combine(&first.crc);
    crc.combine(&last.crc);
    let mut tail = Vec::with_capacity(last.deflate.len() + 8);
    tail.extend_from_slice(&last.deflate);
    tail.extend_from_slice(&crc.sum().to_le_bytes());
    tail.extend_from_slice(&crc.amount().to_le_bytes());
    let mut chunks = Vec::with_capacity(first.parts.len() + 2);
    chunks.push(Bytes::from_static(&HEADER));
    chunks.extend(first.parts.iter().cloned());
    chunks.push(Bytes::from(tail));
    let len = chunks.iter().map(Bytes::len).sum();
    (chunks, len)
}

/// Whether an `Accept-Encoding` header accepts gzip (with a non-zero quality).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in accept_encoding.unwrap_or("").split(',') {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(q > 0.0);
        } else if name == "*" {
            any = Some(q > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// A raw deflate stream, given in parts, inflated in chunks of at most `CHUNK`
/// bytes, as they are asked for: the whole text never exists at once.
pub struct Inflate {
    d: Decompress,
    parts: std::vec::IntoIter<Bytes>,
    input: Bytes,
    pos: usize,
    done: bool,
}

const CHUNK: usize = 64 * 1024;

impl Inflate {
    pub fn new(parts: Vec<Bytes>) -> Inflate {
        Inflate {
            d: Decompress::new(false),
            parts: parts.into_iter(),
            input: Bytes::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Iterator for Inflate {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<io::Result<Bytes>> {
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(CHUNK);
        while out.len() < out.capacity() {
            // After the last part, what the decompressor still holds comes
            // out with an empty input.
            while self.pos >= self.input.len() {
                let Some(next) = self.parts.next() else { break };
                (self.input, self.pos) = (next, 0);
            }
            let input = self.input.get(self.pos..).unwrap_or(&[]);
            let (in_before, out_before) = (self.d.total_in(), out.len());
            let status = match self
                .d
                .decompress_vec(input, &mut out, FlushDecompress::None)
            {
                Ok(s) => s,
                Err(e) => {
                    self.done = true;
                    return Some(Err(io::Error::other(e)));
                }
            };
            self.pos += usize::try_from(self.d.total_in() - in_before).unwrap_or(input.len());
            let stuck = self.d.total_in() == in_before && out.len() == out_before;
            if status == Status::StreamEnd || stuck {
                self.done = true;
                break;
            }
        }
        (!out.is_empty()).then(|| Ok(Bytes::from(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use std::io::Read as _;

    fn text(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!("modelarts_notebook_status{{id=\"nb-{i:05}\",status=\"RUNNING\"}} 1\n")
            })
            .collect()
    }

    fn packed(s: &str) -> Packed {
        let mut d = Deflater::new(0);
        // Written in odd pieces, as the encoder does.
        for piece in s.as_bytes().chunks(7) {
            d.write_str(std::str::from_utf8(piece).unwrap()).unwrap();
        }
        d.finish_part().unwrap()
    }

    fn gunzip(chunks: &[Bytes]) -> String {
        let body: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut decoded)
            .unwrap();
        decoded
    }

    fn joined(parts: &[&Packed]) -> Joined {
        Joined::new(parts.iter().copied())
    }

    #[test]
    fn parts_make_one_gzip_member_that_standard_decoders_read() {
        let (a, b) = (text(5_000), "nbwatch_requests_total 7\n# EOF\n".to_string());
        let (first, last) = (packed(&a), Packed::stored_last(b.as_bytes()));
        assert_eq!(first.plain_len, a.len());
        assert!(
            first.deflate.len() * 10 < a.len(),
            "{}",
            first.deflate.len()
        );
        let (chunks, len) = gzip_member(&joined(&[&first]), &last);
        assert_eq!(chunks.iter().map(Bytes::len).sum::<usize>(), len);
        assert_eq!(gunzip(&chunks), format!("{a}{b}"));
        // Empty parts, and a last part longer than one stored block.
        let big = text(3_000);
        assert!(big.len() > STORED_MAX);
        let (chunks, _) = gzip_member(
            &joined(&[&packed(""), &Packed::nothing()]),
            &Packed::stored_last(big.as_bytes()),
        );
        assert_eq!(gunzip(&chunks), big);
        let (chunks, _) = gzip_member(&joined(&[&Packed::empty()]), &Packed::stored_last(b""));
        assert_eq!(gunzip(&chunks), "");
        let (chunks, _) = gzip_member(&joined(&[]), &Packed::stored_last(b"x"));
        assert_eq!(gunzip(&chunks), "x");
    }

    /// Parts from one deflater, reset between them, share no history: each
    /// inflates alone, and any order of them is one valid stream.
    #[test]
    fn parts_are_independent_and_join_in_any_order() {
        let mut d = Deflater::new(0);
        let texts = [text(300), text(300), text(10), String::new(), text(2_000)];
        let parts: Vec<Packed> = texts
            .iter()
            .map(|t| {
                d.write_str(t).unwrap();
                d.finish_part().unwrap()
            })
            .collect();
        for (t, p) in texts.iter().zip(&parts) {
            let alone: Vec<u8> = Inflate::new(vec![p.deflate.clone()])
                .map(|c| c.unwrap())
                .flat_map(|c| c.to_vec())
                .collect();
            assert_eq!(String::from_utf8(alone).unwrap(), *t);
        }
        let order = [4, 2, 0, 3, 1, 0];
        let j = joined(&order.map(|i| &parts[i]));
        let want: String = order.iter().map(|i| texts[*i].as_str()).collect();
        assert_eq!(j.plain_len, want.len());
        let tail = Packed::stored_last(b"# EOF\n");
        assert_eq!(gunzip(&gzip_member(&j, &tail).0), format!("{want}# EOF\n"));
        let plain: Vec<u8> = Inflate::new(j.parts.clone())
            .map(|c| c.unwrap())
            .flat_map(|c| c.to_vec())
            .collect();
        assert_eq!(String::from_utf8(plain).unwrap(), want);
    }

    #[test]
    fn a_part_inflates_back_in_bounded_chunks() {
        let a = text(5_000);
        let chunks: Vec<Bytes> = Inflate::new(vec![packed(&a).deflate])
            .collect::<io::Result<_>>()
            .unwrap();
        assert!(chunks.len() > 1 && chunks.iter().all(|c| c.len() <= CHUNK));
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(String::from_utf8(joined).unwrap(), a);
        assert_eq!(Inflate::new(vec![packed("").deflate]).count(), 0);
        assert_eq!(Inflate::new(vec![Packed::empty().deflate]).count(), 0);
        assert_eq!(Inflate::new(vec![]).count(), 0);
    }

    #[test]
    fn gzip_only_for_a_scraper_that_accepts_it() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, GZIP;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(None));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some("gzip;q=0, *")));
        assert!(!accepts_gzip(Some("br")));
    }
}

//! Gzip bodies made in two parts: the head, compressed ahead and once for
//! every destination that sends the same bytes, and the tail, added as the
//! request leaves.
//!
//! A request's head is its body up to [`HttpRequest::tail_from`]: the
//! batch's events, which do not change with the time of sending. Its tail
//! carries the send time (`sentAt`) and, for some formats, the key: it is
//! written when the request leaves, so `sentAt` is that moment even for a
//! batch compressed while the one before it was out.
//!
//! The gzip member is the head's raw deflate stream, ended by a sync flush
//! (which leaves it on a byte boundary without ending it), then the tail as
//! stored deflate blocks (RFC 1951, 3.2.4: a byte of block header, the
//! length and its complement, the bytes as they are), the last one final,
//! then the CRC-32 and length of the whole (RFC 1952). The tail is tens of
//! bytes; storing it costs a few bytes a batch and no compressor state at
//! send time.
//!
//! Destinations whose heads are byte for byte the same (two Segment-format
//! destinations sending the same batch: a migration from Segment to
//! RudderStack) share one compression through [`Heads`]. Whether two heads
//! match is decided by comparing their bytes, never assumed from where they
//! came from.
//!
//! This module decides the framing and the sharing; which bytes a head
//! holds is the wire's decision, when they go is the HTTP thread's.
//!
//! [`HttpRequest::tail_from`]: crate::wire::HttpRequest::tail_from

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use crc32fast::Hasher;
use flate2::{Compress, Compression, FlushCompress, Status};

/// The gzip member header (RFC 1952, 2.3): deflate, no flags, no time,
/// no extra flags, operating system unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// The most bytes one stored deflate block holds.
const STORED_BLOCK_MAX: usize = 0xffff;

/// A head in raw deflate, ended by a sync flush: more blocks may follow.
#[derive(Debug)]
pub(crate) struct DeflatedHead {
    bytes: Vec<u8>,
    /// The CRC-32 of the head's uncompressed bytes.
    crc: Hasher,
    /// How many they are.
    len: usize,
}

/// A compressor, reset for each head: making one per batch allocated and
/// cleared its window and tables every time (about 5% of the compressor
/// thread's time in `cairn bench`).
pub(crate) struct Deflater(Compress);

impl Deflater {
    pub(crate) fn new() -> Self {
        // Raw deflate (the gzip framing is ours), level 1, zlib's largest
        // window, as `GzEncoder` would use.
        Deflater(Compress::new(Compression::fast(), false))
    }

    /// `head` as raw deflate blocks, ended by a sync flush.
    pub(crate) fn deflate(&mut self, head: &[u8]) -> std::io::Result<DeflatedHead> {
        self.0.reset();
        let mut out = Vec::with_capacity(head.len() / 4 + 64);
        loop {
            let read = self.0.total_in() as usize;
            let input = head.get(read..).unwrap_or_default();
            let before = (self.0.total_in(), self.0.total_out());
            match self.0.compress_vec(input, &mut out, FlushCompress::Sync) {
                // zlib's rule for a flush: done once the input is used up and
                // it returns with room left in the output.
                Ok(Status::Ok | Status::BufError)
                    if self.0.total_in() as usize == head.len() && out.len() < out.capacity() =>
                {
                    let mut crc = Hasher::new();
                    crc.update(head);
                    return Ok(DeflatedHead {
                        bytes: out,
                        crc,
                        len: head.len(),
                    });
                }
                Ok(Status::StreamEnd) => {
                    return Err(std::io::Error::other(
                        "deflate ended a stream it was not asked to",
                    ))
                }
                Ok(_)
                    if out.len() < out.capacity()
                        && (self.0.total_in(), self.0.total_out()) == before =>
                {
                    // Room left and nothing done: it never would be.
                    return Err(std::io::Error::other("deflate made no progress"));
                }
                // Out of room: more, and go on where it stopped.
                Ok(_) => out.reserve(out.capacity().max(4096)),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
    }
}

/// One gzip member: `head` (deflated by [`Deflater::deflate`]) followed by
/// `tail`, stored.
pub(crate) fn member(head: &DeflatedHead, tail: &[u8]) -> Vec<u8> {
    let blocks = tail.len() / STORED_BLOCK_MAX + 1;
    let mut out =
        Vec::with_capacity(GZIP_HEADER.len() + head.bytes.len() + tail.len() + 5 * blocks + 8);
    out.extend_from_slice(&GZIP_HEADER);
    out.extend_from_slice(&head.bytes);
    // At least one block, the final one, even for an empty tail.
    let mut rest = tail;
    loop {
        let (block, after) = rest.split_at(rest.len().min(STORED_BLOCK_MAX));
        let last = after.is_empty();
        // BFINAL in bit 0, BTYPE 00 (stored) in bits 1-2, the rest padding:
        // the sync flush left the stream on a byte boundary.
        out.push(u8::from(last));
        // At most STORED_BLOCK_MAX, so it fits in 16 bits.
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
        if last {
            break;
        }
        rest = after;
    }
    let mut crc = head.crc.clone();
    crc.update(tail);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952), hence the cut.
    let isize = (head.len + tail.len()) as u32;
    out.extend_from_slice(&isize.to_le_bytes());
    out
}

/// A head some destination's compressor is deflating, or has deflated.
#[derive(Debug)]
struct Entry {
    head: Vec<u8>,
    deflated: OnceLock<Result<Arc<DeflatedHead>, String>>,
}

/// How many bytes of heads are kept for each destination that may send
/// what another sent: six of the default 500 KB batches. In a burst two
/// destinations' lanes were measured up to five batches apart; with two
/// heads kept 8-35% of one destination's bytes were shared, with six all
/// of them (docs/performance.md).
pub(crate) const HEADS_MAX_BYTES: usize = 3 * 1024 * 1024;

/// The heads a client's compressors deflated last, so that a destination
/// sending the same bytes as another uses its compression. With one
/// destination it keeps none.
#[derive(Debug)]
pub(crate) struct Heads {
    recent: Mutex<Kept>,
    max_bytes: usize,
}

/// The heads kept, oldest first, and their bytes.
#[derive(Debug, Default)]
struct Kept {
    entries: VecDeque<Arc<Entry>>,
    bytes: usize,
}

impl Heads {
    /// For a client with `destinations`: [`HEADS_MAX_BYTES`] for each one
    /// that may send what another sent.
    pub(crate) fn new(destinations: usize) -> Self {
        Heads {
            recent: Mutex::new(Kept::default()),
            max_bytes: HEADS_MAX_BYTES * destinations.saturating_sub(1),
        }
    }

    /// `head` deflated: by `deflater` now, or by another destination's
    /// compressor that had the same bytes (waiting for it if it is at work).
    pub(crate) fn deflate(
        &self,
        deflater: &mut Deflater,
        head: Vec<u8>,
    ) -> std::io::Result<Arc<DeflatedHead>> {
        let entry = self.entry(head);
        let deflated = entry.deflated.get_or_init(|| {
            deflater
                .deflate(&entry.head)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        deflated.clone().map_err(std::io::Error::other)
    }

    /// Lets go of every head kept (their events were purged). A compressor
    /// deflating one keeps it until done.
    pub(crate) fn forget(&self) {
        *self.recent.lock().unwrap_or_else(|p| p.into_inner()) = Kept::default();
    }

    /// The kept entry for `head`'s bytes, or a new one (kept if any are).
    fn entry(&self, head: Vec<u8>) -> Arc<Entry> {
        let fresh = |head| {
            Arc::new(Entry {
                head,
                deflated: OnceLock::new(),
            })
        };
        if self.max_bytes == 0 {
            return fresh(head);
        }
        // A poisoned lock only means another compressor panicked holding it;
        // what it guards is still whole (each change below keeps the count
        // of bytes with the list).
        let mut kept = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = kept.entries.iter().find(|e| e.head == head) {
            return Arc::clone(found);
        }
        let entry = fresh(head);
        kept.bytes += entry.head.len();
        kept.entries.push_back(Arc::clone(&entry));
        // The newest stays, even alone over the bound.
        while kept.bytes > self.max_bytes && kept.entries.len() > 1 {
            if let Some(old) = kept.entries.pop_front() {
                kept.bytes -= old.head.len();
            }
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Read;

    fn gunzip(member: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(member)
            .read_to_end(&mut out)
            .expect("a valid gzip member");
        out
    }

    fn joined(head: &[u8], tail: &[u8]) -> Vec<u8> {
        [head, tail].concat()
    }

    /// Text like a batch's, which deflate shortens, and random bytes, which
    /// it cannot.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..3_000),
            (0..4_000u32).prop_map(|n| {
                (0..n)
                    .flat_map(|i| format!("{{\"event\":\"e{}\",\"i\":{i}}},", i % 7).into_bytes())
                    .collect()
            }),
        ]
    }

    proptest! {
        /// Differential: flate2's own gzip reader gets back exactly the head
        /// and the tail, for heads and tails of any size (tails past one
        /// stored block's 65,535 bytes included), empty ones too, and
        /// flate2's reader checks the CRC and the length; miniz_oxide's
        /// inflater reads the same deflate stream.
        #[test]
        fn flate2_reads_back_head_and_tail(
            head in bytes(),
            tail in prop_oneof![bytes(), (65_530..70_000usize).prop_map(|n| vec![b'x'; n])],
        ) {
            let deflated = Deflater::new().deflate(&head).unwrap();
            let member = member(&deflated, &tail);
            prop_assert_eq!(gunzip(&member), joined(&head, &tail));
            // A second inflater, not the one that deflated, reads the
            // deflate stream between the header and the trailer alike.
            let stream = &member[GZIP_HEADER.len()..member.len() - 8];
            let inflated = miniz_oxide::inflate::decompress_to_vec(stream).unwrap();
            prop_assert_eq!(inflated, joined(&head, &tail));
        }
    }

    /// One deflater serves head after head, each deflated alone; one head
    /// serves several tails.
    #[test]
    fn one_deflater_for_many_heads_and_one_head_for_many_tails() {
        let mut deflater = Deflater::new();
        let large: Vec<u8> = (0..300_000u32)
            .flat_map(|n| format!("{{\"n\":{n}}},").into_bytes())
            .collect();
        for head in [&b"{}"[..], &large[..], &b""[..], &large[..1000]] {
            let deflated = deflater.deflate(head).unwrap();
            for tail in [
                &b"],\"sentAt\":\"2026-12-05T09:00:00.000Z\"}"[..],
                b"",
                b"]}",
            ] {
                assert_eq!(gunzip(&member(&deflated, tail)), joined(head, tail));
            }
        }
        // A batch's head shrinks as `GzEncoder` would shrink it: the
        // framing adds bytes, not a worse compression.
        let deflated = deflater.deflate(&large).unwrap();
        let mut whole = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        std::io::Write::write_all(&mut whole, &large).unwrap();
        let whole = whole.finish().unwrap();
        assert!(member(&deflated, b"]}").len() <= whole.len() + 32);
    }

    /// Two destinations' compressors given the same bytes at once deflate
    /// them once; different bytes are never taken for the same head.
    #[test]
    fn the_same_head_is_deflated_once_and_only_the_same() {
        let heads = Arc::new(Heads::new(2));
        let head: Vec<u8> = (0..200_000u32)
            .flat_map(|n| format!("{{\"n\":{n}}},").into_bytes())
            .collect();
        let results: Vec<Arc<DeflatedHead>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (heads, head) = (Arc::clone(&heads), head.clone());
                    s.spawn(move || heads.deflate(&mut Deflater::new(), head).unwrap())
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert!(Arc::ptr_eq(&results[0], &results[1]), "deflated twice");
        // One byte apart, same length: another head.
        let mut other = head.clone();
        *other.last_mut().unwrap() ^= 1;
        let third = heads.deflate(&mut Deflater::new(), other.clone()).unwrap();
        assert!(!Arc::ptr_eq(&results[0], &third));
        assert_eq!(gunzip(&member(&third, b"")), other);
        assert_eq!(gunzip(&member(&results[1], b"!")), joined(&head, b"!"));
    }

    /// With one destination nothing is kept: the same bytes twice are
    /// deflated twice, and no head stays in memory after its batch.
    #[test]
    fn one_destination_keeps_no_head() {
        let heads = Heads::new(1);
        let a = heads
            .deflate(&mut Deflater::new(), b"{\"batch\":[1".to_vec())
            .unwrap();
        let b = heads
            .deflate(&mut Deflater::new(), b"{\"batch\":[1".to_vec())
            .unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(heads.recent.lock().unwrap().entries.is_empty());
    }

    /// After a purge no head is kept: the same bytes are deflated again.
    #[test]
    fn forgotten_heads_are_not_kept() {
        let heads = Heads::new(3);
        let first = heads
            .deflate(&mut Deflater::new(), b"purged".to_vec())
            .unwrap();
        heads.forget();
        let kept = heads.recent.lock().unwrap();
        assert_eq!((kept.entries.len(), kept.bytes), (0, 0));
        drop(kept);
        let again = heads
            .deflate(&mut Deflater::new(), b"purged".to_vec())
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &again));
    }

    /// Kept heads are bounded by their bytes: the oldest go first, and the
    /// newest stays even when it alone is over the bound.
    #[test]
    fn kept_heads_are_bounded_by_their_bytes() {
        let heads = Heads::new(2);
        let third = HEADS_MAX_BYTES / 3;
        let head = |i: u8| vec![i; third];
        let first = heads.deflate(&mut Deflater::new(), head(0)).unwrap();
        for i in 1..=3 {
            heads.deflate(&mut Deflater::new(), head(i)).unwrap();
        }
        {
            let kept = heads.recent.lock().unwrap();
            assert_eq!((kept.entries.len(), kept.bytes), (3, 3 * third));
        }
        let again = heads.deflate(&mut Deflater::new(), head(0)).unwrap();
        assert!(
            !Arc::ptr_eq(&first, &again),
            "the oldest was let go and deflated again"
        );
        let large = vec![9; HEADS_MAX_BYTES + 1];
        heads.deflate(&mut Deflater::new(), large.clone()).unwrap();
        let kept = heads.recent.lock().unwrap();
        assert_eq!(kept.entries.len(), 1);
        assert_eq!(kept.bytes, large.len());
    }
}

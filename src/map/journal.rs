//! Journal records and the journal's header: encoding, decoding and checking (no I/O).

use super::state::Content;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Magic of a journal file.
pub(crate) const JOURNAL_MAGIC: [u8; 8] = *b"DGENJRNL";
/// Journal format version.
pub(crate) const JOURNAL_VERSION: u32 = 1;
/// Bytes in the journal header.
pub(crate) const JOURNAL_HEADER: usize = 40;
/// Bytes in one record.
pub(crate) const RECORD: usize = 48;

/// Record kind: an intent (`block` goes to `new`), sequence number `seq`.
const KIND_INTENT: u32 = 1;
/// Record kind: every intent with a sequence number up to `seq` has completed.
const KIND_DONE: u32 = 2;

/// One journal record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// Intent `seq`: `block` is about to be written with `new`.
    Intent { seq: u64, block: u64, new: Content },
    /// The data writes of every intent up to `seq` have completed.
    Done { seq: u64 },
}

/// The checksum seed of records: ties them to their run and checkpoint epoch, so a record from
/// another run or an older epoch never passes.
fn record_seed(run_id: u64, epoch: u64) -> u64 {
    run_id ^ epoch.rotate_left(32) ^ 0x6a6f_7572_6e61_6c00
}

/// Encodes a record of epoch `epoch`.
pub(crate) fn encode_record(r: &Record, run_id: u64, epoch: u64, out: &mut Vec<u8>) {
    let start = out.len();
    let (kind, generation, seq, block, slot) = match *r {
        Record::Intent { seq, block, new } => (KIND_INTENT, new.generation, seq, block, new.slot),
        Record::Done { seq } => (KIND_DONE, 0, seq, 0, 0),
    };
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&slot.to_le_bytes());
    let sum = xxh3_64_with_seed(&out[start..], record_seed(run_id, epoch));
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Decodes one whole record; `None` when its checksum, epoch or kind is wrong.
pub(crate) fn decode_record(bytes: &[u8; RECORD], run_id: u64, epoch: u64) -> Option<Record> {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    if xxh3_64_with_seed(&bytes[..40], record_seed(run_id, epoch)) != u64_at(40)
        || u64_at(8) != epoch
    {
        return None;
    }
    let seq = u64_at(16);
    match u32_at(0) {
        KIND_INTENT => Some(Record::Intent {
            seq,
            block: u64_at(24),
            new: Content {
                slot: u64_at(32),
                generation: u32_at(4),
            },
        }),
        KIND_DONE => Some(Record::Done { seq }),
        _ => None,
    }
}

/// The journal header for `run_id` and checkpoint epoch `epoch`.
pub(crate) fn encode_header(run_id: u64, epoch: u64) -> [u8; JOURNAL_HEADER] {
    let mut h = [0u8; JOURNAL_HEADER];
    h[..8].copy_from_slice(&JOURNAL_MAGIC);
    h[8..12].copy_from_slice(&JOURNAL_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&run_id.to_le_bytes());
    h[24..32].copy_from_slice(&epoch.to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_64(&h[..32]);
    h[32..40].copy_from_slice(&sum.to_le_bytes());
    h
}

/// Reads a journal header: `(run_id, epoch)`, or the reason it is not one.
pub(crate) fn decode_header(bytes: &[u8]) -> Result<(u64, u64), String> {
    if bytes.len() < JOURNAL_HEADER {
        return Err(format!(
            "{} bytes, shorter than the {JOURNAL_HEADER}-byte header",
            bytes.len()
        ));
    }
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    if bytes[..8] != JOURNAL_MAGIC {
        return Err("not a dgen journal (bad magic)".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if version != JOURNAL_VERSION {
        return Err(format!(
            "journal version {version}, this dgen reads {JOURNAL_VERSION}"
        ));
    }
    if xxhash_rust::xxh3::xxh3_64(&bytes[..32]) != u64_at(32) {
        return Err("header checksum mismatch".into());
    }
    Ok((u64_at(16), u64_at(24)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reject_other_epochs_and_flips() {
        let r = Record::Intent {
            seq: 5,
            block: 9,
            new: Content {
                slot: 3,
                generation: 2,
            },
        };
        let mut buf = Vec::new();
        encode_record(&r, 11, 4, &mut buf);
        encode_record(&Record::Done { seq: 5 }, 11, 4, &mut buf);
        assert_eq!(buf.len(), 2 * RECORD);
        let first: &[u8; RECORD] = buf[..RECORD].try_into().unwrap();
        assert_eq!(decode_record(first, 11, 4), Some(r));
        assert_eq!(decode_record(first, 11, 5), None);
        assert_eq!(decode_record(first, 12, 4), None);
        let second: &[u8; RECORD] = buf[RECORD..].try_into().unwrap();
        assert_eq!(decode_record(second, 11, 4), Some(Record::Done { seq: 5 }));
        for i in 0..RECORD {
            let mut b = *first;
            b[i] ^= 0x10;
            assert_eq!(decode_record(&b, 11, 4), None, "flip at {i}");
        }
        let h = encode_header(11, 4);
        assert_eq!(decode_header(&h), Ok((11, 4)));
        let mut bad = h;
        bad[20] ^= 1;
        assert!(decode_header(&bad).is_err());
    }
}

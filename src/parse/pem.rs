//! A tolerant, total PEM block scanner over raw bytes.
//!
//! The input does not have to be UTF-8: only the armour lines are inspected.
//! Certificate blocks (`CERTIFICATE`, `X509 CERTIFICATE`, `TRUSTED CERTIFICATE`)
//! and CRL blocks (`X509 CRL`) are base64-decoded; every other block (private
//! keys, encrypted keys, parameters, CSRs, ...) is recognised and skipped
//! **without decoding its body**, so key material is never decoded into memory,
//! and such blocks never produce an error.
//!
//! A block whose `-----END ` line is missing (end of input, or another
//! `-----BEGIN ` comes first) is *truncated*; scanning resumes at the next
//! `-----BEGIN `. Work is linear in the input size and the number of blocks is
//! capped at [`MAX_BLOCKS`].

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Most PEM blocks (of any label) scanned in one object.
pub const MAX_BLOCKS: usize = 10_000;

/// Longest label kept (bytes); longer labels are cut.
const MAX_LABEL_LEN: usize = 64;

/// Longest label accepted on an armour line.
const MAX_ARMOUR_LABEL: usize = 256;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// Standard alphabet, padding optional (some tools strip it).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// What a block's label says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `CERTIFICATE` or the legacy `X509 CERTIFICATE`.
    Certificate,
    /// `TRUSTED CERTIFICATE`: a certificate followed by OpenSSL's `X509_CERT_AUX`.
    TrustedCertificate,
    /// `X509 CRL`.
    Crl,
    /// Anything else (keys, parameters, requests, ...): never decoded.
    Other,
}

impl BlockKind {
    /// Classify a PEM label.
    pub fn from_label(label: &str) -> BlockKind {
        match label {
            "CERTIFICATE" | "X509 CERTIFICATE" => BlockKind::Certificate,
            "TRUSTED CERTIFICATE" => BlockKind::TrustedCertificate,
            "X509 CRL" => BlockKind::Crl,
            _ => BlockKind::Other,
        }
    }

    /// Whether blocks of this kind carry a certificate.
    pub fn is_certificate(self) -> bool {
        matches!(self, BlockKind::Certificate | BlockKind::TrustedCertificate)
    }
}

/// Why a decodable block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// No matching `-----END ` line before the next block or the end of input.
    Truncated,
    /// The `-----END ` line names another label.
    MismatchedEnd,
    /// The body is not valid base64.
    BadBase64,
    /// The body decodes to nothing.
    Empty,
}

impl std::fmt::Display for BlockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BlockError::Truncated => "truncated PEM block (missing END line)",
            BlockError::MismatchedEnd => "PEM END line does not match its BEGIN label",
            BlockError::BadBase64 => "invalid base64 in PEM block",
            BlockError::Empty => "empty PEM block",
        })
    }
}

/// The body of one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockBody {
    /// Decoded bytes of a certificate or CRL block.
    Decoded(Vec<u8>),
    /// A block of kind [`BlockKind::Other`]: not decoded, on purpose.
    Skipped,
    /// A certificate or CRL block that could not be decoded.
    Error(BlockError),
}

/// One PEM block, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `-----BEGIN ` and `-----` (lossy UTF-8, bounded).
    pub label: String,
    pub kind: BlockKind,
    pub body: BlockBody,
}

/// The result of scanning one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PemScan {
    /// Recognised blocks in input order (at most [`MAX_BLOCKS`]).
    pub blocks: Vec<PemBlock>,
    /// More than [`MAX_BLOCKS`] blocks were present; the rest were not scanned.
    pub too_many_blocks: bool,
    /// A `-----BEGIN ` marker whose line is not a valid armour line was seen.
    pub unrecognised_begin: bool,
}

/// Whether the data contains PEM armour at all.
pub fn has_pem_armour(data: &[u8]) -> bool {
    find(data, BEGIN, 0).is_some()
}

/// Scan all PEM blocks of `data`. Total: never panics, linear work.
pub fn scan(data: &[u8]) -> PemScan {
    let mut out = PemScan::default();
    let mut pos = 0;
    // Cached searches: (searched from, result). A result stays valid for any later
    // start position up to it (or for every position when nothing was found).
    let mut end_cache: Option<(usize, Option<usize>)> = None;
    let mut begin_cache: Option<(usize, Option<usize>)> = None;
    while let Some(begin) = find_cached(data, BEGIN, pos, &mut begin_cache) {
        let label_start = begin + BEGIN.len();
        let line_end = armour_line_end(data, label_start);
        let Some(label_bytes) = armour_label(&data[label_start..line_end]) else {
            out.unrecognised_begin = true;
            pos = label_start;
            continue;
        };
        if out.blocks.len() >= MAX_BLOCKS {
            out.too_many_blocks = true;
            break;
        }
        let label = label_string(label_bytes);
        let kind = BlockKind::from_label(&label);
        let body_start = skip_newline(data, line_end);

        // The block ends at the first END marker, unless a BEGIN comes first.
        let next_end = find_cached(data, END, body_start, &mut end_cache);
        let next_begin = find_cached(data, BEGIN, body_start, &mut begin_cache);
        let end_at = match (next_end, next_begin) {
            (Some(e), Some(b)) if b < e => None,
            (e, _) => e,
        };
        let Some(end_at) = end_at else {
            // Truncated: report (for decodable kinds) and resume at the next BEGIN.
            let body = if kind == BlockKind::Other {
                BlockBody::Skipped
            } else {
                BlockBody::Error(BlockError::Truncated)
            };
            out.blocks.push(PemBlock { label, kind, body });
            match next_begin {
                Some(b) => {
                    pos = b;
                    continue;
                }
                None => break,
            }
        };
        let end_label_start = end_at + END.len();
        let end_line_end = armour_line_end(data, end_label_start);
        let end_label = armour_label(&data[end_label_start..end_line_end]);
        let body = if kind == BlockKind::Other {
            BlockBody::Skipped
        } else if end_label != Some(label_bytes) {
            BlockBody::Error(BlockError::MismatchedEnd)
        } else {
            decode_body(&data[body_start..end_at])
        };
        out.blocks.push(PemBlock { label, kind, body });
        pos = end_line_end;
    }
    out
}

/// `find` with a one-entry cache, so repeated searches stay linear overall.
fn find_cached(
    data: &[u8],
    needle: &[u8],
    from: usize,
    cache: &mut Option<(usize, Option<usize>)>,
) -> Option<usize> {
    if let Some((start, result)) = *cache {
        if start <= from {
            match result {
                None => return None,
                Some(r) if r >= from => return Some(r),
                Some(_) => {}
            }
        }
    }
    let result = find(data, needle, from);
    *cache = Some((from, result));
    result
}

/// The DER of every decodable `X509 CRL` block, in input order (for the CRL checks).
pub fn crl_blocks(data: &[u8]) -> Vec<Vec<u8>> {
    scan(data)
        .blocks
        .into_iter()
        .filter(|b| b.kind == BlockKind::Crl)
        .filter_map(|b| match b.body {
            BlockBody::Decoded(der) => Some(der),
            _ => None,
        })
        .collect()
}

/// Decode a block body: optional RFC 1421 headers, then base64 with any whitespace.
fn decode_body(body: &[u8]) -> BlockBody {
    let body = strip_headers(body);
    // Copy the runs between whitespace (the 64-character lines) as slices.
    let mut compact: Vec<u8> = Vec::with_capacity(body.len());
    for run in body.split(|b| b.is_ascii_whitespace()) {
        compact.extend_from_slice(run);
    }
    if compact.is_empty() {
        return BlockBody::Error(BlockError::Empty);
    }
    match B64.decode(&compact) {
        Ok(bytes) if bytes.is_empty() => BlockBody::Error(BlockError::Empty),
        Ok(bytes) => BlockBody::Decoded(bytes),
        Err(_) => BlockBody::Error(BlockError::BadBase64),
    }
}

/// Drop `Name: value` header lines (and the blank line after them) at the start of a body.
fn strip_headers(body: &[u8]) -> &[u8] {
    let first_line_end = line_end(body, 0);
    if !body[..first_line_end].contains(&b':') {
        return body;
    }
    // Headers run until the first empty line.
    let mut pos = 0;
    while pos < body.len() {
        let end = line_end(body, pos);
        let line = &body[pos..end];
        let next = skip_newline(body, end);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            return &body[next..];
        }
        if next == pos {
            break;
        }
        pos = next;
    }
    body
}

/// `LABEL-----` (trailing whitespace allowed) → `LABEL`.
fn armour_label(line: &[u8]) -> Option<&[u8]> {
    let line = trim_ascii_end(line);
    let label = line.strip_suffix(DASHES)?;
    if label.len() > MAX_ARMOUR_LABEL || label.ends_with(b"-") {
        return None;
    }
    Some(label)
}

/// End of an armour line starting at `from`, looking at most
/// `MAX_ARMOUR_LABEL + 16` bytes ahead (a longer line is not armour anyway).
fn armour_line_end(data: &[u8], from: usize) -> usize {
    let from = from.min(data.len());
    let limit = data.len().min(from + MAX_ARMOUR_LABEL + 16);
    data[from..limit]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(limit, |p| from + p)
}

fn label_string(label: &[u8]) -> String {
    crate::model::bounded(&String::from_utf8_lossy(label), MAX_LABEL_LEN)
}

fn trim_ascii_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Index of the first `\r` or `\n` at or after `from` (or the end).
fn line_end(data: &[u8], from: usize) -> usize {
    let from = from.min(data.len());
    data[from..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(data.len(), |p| from + p)
}

/// Skip one line terminator (`\n`, `\r\n` or `\r`) at `at`.
fn skip_newline(data: &[u8], at: usize) -> usize {
    match data.get(at..) {
        Some([b'\r', b'\n', ..]) => at + 2,
        Some([b'\n', ..]) | Some([b'\r', ..]) => at + 1,
        _ => at.min(data.len()),
    }
}

/// First occurrence of `needle` in `data` at or after `from`.
///
/// Candidates are found with [`find_byte`] on the needle's first byte (`-` for
/// the armour markers, a byte base64 bodies never contain), so the body of a
/// block is skipped eight bytes at a time instead of being compared position by
/// position; this search was a visible share of the per-certificate parse time.
pub(crate) fn find(data: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut at = from;
    while at < data.len() {
        let p = at + find_byte(&data[at..], first)?;
        if data[p..].starts_with(needle) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}

/// Index of the first `byte` in `hay`: word-at-a-time (SWAR) over 8-byte chunks.
fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(byte);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word) ^ pattern;
        // Non-zero iff some byte of `x` is zero, i.e. some byte equals `byte`.
        if x.wrapping_sub(LO) & !x & HI != 0 {
            break;
        }
        base += 8;
    }
    hay[base..]
        .iter()
        .position(|&b| b == byte)
        .map(|p| base + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn armour(label: &str, body: &[u8]) -> String {
        let b64 = STANDARD.encode(body);
        let mut s = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap());
            s.push('\n');
        }
        s.push_str(&format!("-----END {label}-----\n"));
        s
    }

    #[test]
    fn find_agrees_with_a_naive_search() {
        fn naive(data: &[u8], needle: &[u8], from: usize) -> Option<usize> {
            (from..data.len())
                .find(|&i| data[i..].starts_with(needle))
                .filter(|_| !needle.is_empty())
        }
        // Every byte value, every alignment, needles at every offset and partial matches.
        let mut data: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        data.extend_from_slice(b"----x-----BEGIN -----END ----");
        data.extend((0..40).map(|i| if i % 3 == 0 { b'-' } else { 0xff }));
        for needle in [
            &b"-----BEGIN "[..],
            b"-----END ",
            b"-",
            b"\x00",
            b"\xff\x00",
            b"zz",
        ] {
            for from in 0..data.len() + 2 {
                assert_eq!(
                    find(&data, needle, from),
                    naive(&data, needle, from),
                    "{needle:?} from {from}"
                );
            }
        }
        for b in 0..=255u8 {
            for start in 0..16 {
                let hay = &data[start..start + 64];
                assert_eq!(find_byte(hay, b), hay.iter().position(|&x| x == b));
            }
        }
    }

    #[test]
    fn scans_blocks_in_order_and_skips_keys_undecoded() {
        let mut data = armour("CERTIFICATE", b"one");
        // A "key" whose body is not base64 at all: it must not be decoded nor be an error.
        data.push_str(
            "-----BEGIN PRIVATE KEY-----\n!!! not base64 !!!\n-----END PRIVATE KEY-----\n",
        );
        data.push_str(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n@@@\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        data.push_str(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n",
        );
        data.push_str(&armour("TRUSTED CERTIFICATE", b"two"));
        data.push_str(&armour("X509 CRL", b"crl"));
        let scan = scan(data.as_bytes());
        let got: Vec<(&str, BlockKind, &BlockBody)> = scan
            .blocks
            .iter()
            .map(|b| (b.label.as_str(), b.kind, &b.body))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "CERTIFICATE",
                    BlockKind::Certificate,
                    &BlockBody::Decoded(b"one".to_vec())
                ),
                ("PRIVATE KEY", BlockKind::Other, &BlockBody::Skipped),
                (
                    "ENCRYPTED PRIVATE KEY",
                    BlockKind::Other,
                    &BlockBody::Skipped
                ),
                ("EC PARAMETERS", BlockKind::Other, &BlockBody::Skipped),
                (
                    "TRUSTED CERTIFICATE",
                    BlockKind::TrustedCertificate,
                    &BlockBody::Decoded(b"two".to_vec())
                ),
                (
                    "X509 CRL",
                    BlockKind::Crl,
                    &BlockBody::Decoded(b"crl".to_vec())
                ),
            ]
        );
        assert!(!scan.too_many_blocks);
        assert_eq!(crl_blocks(data.as_bytes()), vec![b"crl".to_vec()]);
    }

    #[test]
    fn tolerates_crlf_junk_headers_and_non_utf8_around_blocks() {
        let mut data: Vec<u8> = vec![0xff, 0xfe, b'x', b'\n'];
        data.extend_from_slice(b"Bag Attributes\r\n  friendlyName: x\r\n");
        data.extend_from_slice(b"-----BEGIN CERTIFICATE-----  \r\n");
        data.extend_from_slice(b"Proc-Type: 4,ENCRYPTED\r\nX: y\r\n\r\n");
        data.extend_from_slice(b"aGVs\r\n bG8\r\n");
        data.extend_from_slice(b"-----END CERTIFICATE-----\r\n\xc3\x28");
        let scan = scan(&data);
        assert_eq!(scan.blocks.len(), 1);
        assert_eq!(scan.blocks[0].body, BlockBody::Decoded(b"hello".to_vec()));
    }

    #[test]
    fn truncated_block_is_reported_and_scanning_resumes() {
        let mut data = String::from("-----BEGIN CERTIFICATE-----\nb25l\n");
        data.push_str(&armour("CERTIFICATE", b"two"));
        data.push_str("-----BEGIN CERTIFICATE-----\ndGhy");
        let scan = scan(data.as_bytes());
        let bodies: Vec<&BlockBody> = scan.blocks.iter().map(|b| &b.body).collect();
        assert_eq!(
            bodies,
            vec![
                &BlockBody::Error(BlockError::Truncated),
                &BlockBody::Decoded(b"two".to_vec()),
                &BlockBody::Error(BlockError::Truncated),
            ]
        );
    }

    #[test]
    fn truncated_key_is_skipped_silently() {
        let scan = scan(b"-----BEGIN RSA PRIVATE KEY-----\nMIIE");
        assert_eq!(scan.blocks.len(), 1);
        assert_eq!(scan.blocks[0].body, BlockBody::Skipped);
    }

    #[test]
    fn bad_base64_mismatched_end_and_empty() {
        let data = "-----BEGIN CERTIFICATE-----\n*** ***\n-----END CERTIFICATE-----\n\
                    -----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END X509 CRL-----\n\
                    -----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n";
        let scan = scan(data.as_bytes());
        let bodies: Vec<&BlockBody> = scan.blocks.iter().map(|b| &b.body).collect();
        assert_eq!(
            bodies,
            vec![
                &BlockBody::Error(BlockError::BadBase64),
                &BlockBody::Error(BlockError::MismatchedEnd),
                &BlockBody::Error(BlockError::Empty),
            ]
        );
    }

    #[test]
    fn unrecognised_begin_line() {
        let scan = scan(b"-----BEGIN CERTIFICATE\nabc\n");
        assert!(scan.blocks.is_empty());
        assert!(scan.unrecognised_begin);
        assert!(has_pem_armour(b"xx-----BEGIN "));
        assert!(!has_pem_armour(b"-----BEGIN"));
        assert!(!has_pem_armour(b""));
    }

    #[test]
    fn block_count_is_capped() {
        let one = armour("CERTIFICATE", b"x");
        let data = one.repeat(MAX_BLOCKS + 3);
        let scan = scan(data.as_bytes());
        assert_eq!(scan.blocks.len(), MAX_BLOCKS);
        assert!(scan.too_many_blocks);
    }

    #[test]
    fn adversarial_inputs_scan_in_linear_time() {
        // Quadratic rescanning would make these take hours; linear work is instant.
        let many_truncated = b"-----BEGIN CERTIFICATE-----\nAAAA\n".repeat(200_000);
        let scan1 = scan(&many_truncated);
        assert_eq!(scan1.blocks.len(), MAX_BLOCKS);
        assert!(scan1.too_many_blocks);
        let many_bad_lines = b"-----BEGIN ".repeat(500_000);
        let scan2 = scan(&many_bad_lines);
        assert!(scan2.blocks.is_empty() && scan2.unrecognised_begin);
        let mut keys_then_end = b"-----BEGIN PRIVATE KEY-----\n".repeat(5_000);
        keys_then_end.extend(b"-----END PRIVATE KEY-----\n".repeat(100_000));
        let scan3 = scan(&keys_then_end);
        assert_eq!(scan3.blocks.len(), 5_000);
    }

    #[test]
    fn long_labels_are_bounded() {
        let label = "A".repeat(200);
        let data = armour(&label, b"x");
        let scan = scan(data.as_bytes());
        assert_eq!(scan.blocks.len(), 1);
        assert!(scan.blocks[0].label.len() <= MAX_LABEL_LEN + '…'.len_utf8());
        assert_eq!(scan.blocks[0].kind, BlockKind::Other);
    }
}

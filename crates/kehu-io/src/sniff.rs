//! Guessing what a file is from its first bytes: table format (XLSX is a zip), text encoding
//! (BOM, valid UTF-8, else a legacy Chinese encoding) and the CSV delimiter.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How many leading bytes the guesses look at: enough for a header and a few hundred rows,
/// small enough to keep the first read cheap on a 2 GB upload.
pub(crate) const SAMPLE_BYTES: usize = 64 * 1024;

/// What the first bytes say the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A zip archive (`PK\x03\x04`): XLSX.
    Zip,
    /// An OLE compound file (`D0 CF 11 E0`): the legacy binary `.xls`, which we do not read.
    Ole,
    /// Anything else is read as delimited text.
    Text,
}

pub(crate) fn kind(sample: &[u8]) -> Kind {
    if sample.starts_with(b"PK\x03\x04") {
        Kind::Zip
    } else if sample.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Kind::Ole
    } else {
        Kind::Text
    }
}

/// The encoding of a text sample and whether it starts with a byte order mark.
///
/// Order: a BOM wins (UTF-8, UTF-16LE, UTF-16BE); then a sample that is valid UTF-8 (a
/// character cut at the sample's end is allowed) is UTF-8; otherwise chardetng guesses with
/// the `.cn` hint, which makes GBK the answer for Chinese Excel exports (its decoder also
/// takes GB18030's four-byte sequences).
pub(crate) fn encoding(sample: &[u8]) -> (&'static Encoding, bool) {
    if let Some((enc, _)) = Encoding::for_bom(sample) {
        return (enc, true);
    }
    match std::str::from_utf8(sample) {
        Ok(_) => return (UTF_8, false),
        // `error_len() == None`: the sample ends inside a character, not a bad byte.
        Err(e) if e.error_len().is_none() => return (UTF_8, false),
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, false);
    let guess = detector.guess(Some(b"cn"), chardetng::Utf8Detection::Deny);
    // A short Chinese sample can look like a single-byte Western code page to chardetng;
    // in a Chinese CRM, GBK is the better bet whenever the bytes are valid GBK.
    let gbk_fits = || {
        encoding_rs::GBK
            .decode_without_bom_handling_and_without_replacement(sample)
            .is_some()
    };
    if guess == UTF_16LE || guess == UTF_16BE || (guess.is_single_byte() && gbk_fits()) {
        return (encoding_rs::GBK, false);
    }
    (guess, false)
}

/// How far the reader looks for the first non-ASCII byte when the file starts with plain
/// ASCII (an English header, codes and numbers): the encoding is decided there.
pub(crate) const ASCII_SCAN_BYTES: u64 = 64 * 1024 * 1024;

/// The bytes to guess the encoding from: the first sample, or, when that is plain ASCII and
/// the file goes on, up to [`SAMPLE_BYTES`] from the first non-ASCII byte found within
/// [`ASCII_SCAN_BYTES`]. Leaves the reader anywhere; the caller seeks back.
pub(crate) fn encoding_sample<R: std::io::Read>(
    reader: &mut R,
    first: &[u8],
) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if !first.is_ascii() || first.len() < SAMPLE_BYTES {
        return Ok(first.to_vec());
    }
    let mut chunk = Vec::with_capacity(SAMPLE_BYTES);
    let mut scanned = first.len() as u64;
    while scanned < ASCII_SCAN_BYTES {
        chunk.clear();
        let n = reader
            .by_ref()
            .take(SAMPLE_BYTES as u64)
            .read_to_end(&mut chunk)?;
        if n == 0 {
            break;
        }
        scanned += n as u64;
        // Everything before this byte is ASCII, so it starts a character.
        if let Some(i) = chunk.iter().position(|b| !b.is_ascii()) {
            let mut sample = chunk.split_off(i);
            let more = (SAMPLE_BYTES - sample.len()) as u64;
            reader.by_ref().take(more).read_to_end(&mut sample)?;
            return Ok(sample);
        }
    }
    Ok(first.to_vec())
}

/// Decodes a whole small text (a vCard file) with the detected encoding; `true` when
/// malformed bytes were replaced.
pub(crate) fn decode_all(bytes: &[u8]) -> (String, &'static Encoding, bool) {
    let (enc, _) = encoding(&bytes[..bytes.len().min(SAMPLE_BYTES)]);
    let (text, used, malformed) = enc.decode(bytes);
    (text.into_owned(), used, malformed)
}

/// The delimiter of a CSV sample (already decoded): the candidate seen most often outside
/// quotes on the first non-empty line; comma when none is seen or on a tie.
pub(crate) fn delimiter(text: &str) -> u8 {
    let line = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let mut counts = [(b',', 0usize), (b'\t', 0), (b';', 0)];
    let mut quoted = false;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in &mut counts {
                if *d == b {
                    *n += 1;
                }
            }
        }
    }
    // The first maximum wins, so ties go to the comma.
    let mut best = counts[0];
    for c in &counts[1..] {
        if c.1 > best.1 {
            best = *c;
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gbk_sample_is_not_taken_for_utf8() {
        let (bytes, _, _) = encoding_rs::GBK.encode("客户名称,手机\n张三,13800138000\n");
        let (enc, bom) = encoding(&bytes);
        assert_eq!((enc.name(), bom), ("GBK", false));
    }

    #[test]
    fn a_short_gbk_sample_that_looks_western_is_read_as_gbk() {
        let (bytes, _, _) = encoding_rs::GBK.encode("名称\n张三\n");
        assert_eq!(encoding(&bytes).0.name(), "GBK");
    }

    #[test]
    fn chinese_after_a_long_ascii_start_decides_the_encoding() -> std::io::Result<()> {
        let mut file = b"code,name\n".repeat(SAMPLE_BYTES / 5);
        let first = file[..SAMPLE_BYTES].to_vec();
        file.extend(encoding_rs::GBK.encode("KH1,张三\n").0.iter());
        let mut rest = std::io::Cursor::new(file[SAMPLE_BYTES..].to_vec());
        let sample = encoding_sample(&mut rest, &first)?;
        assert_eq!(encoding(&sample).0.name(), "GBK");
        Ok(())
    }

    #[test]
    fn a_utf8_character_cut_by_the_sample_end_still_counts_as_utf8() {
        let text = "名称".as_bytes();
        let (enc, _) = encoding(&text[..4]);
        assert_eq!(enc, UTF_8);
    }

    #[test]
    fn delimiters_inside_quotes_do_not_count() {
        assert_eq!(delimiter("\"a;b;c;d\",x,y\n"), b',');
        assert_eq!(delimiter("a;b;c\n"), b';');
        assert_eq!(delimiter("a\tb,c\td\n"), b'\t');
        assert_eq!(delimiter("just one column\n"), b',');
    }
}

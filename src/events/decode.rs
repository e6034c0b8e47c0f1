//! Turning file bytes into text: BOMs, UTF-16 exports and invalid bytes.
//!
//! Event files come from Windows tools as often as from Unix ones:
//! `wevtutil qe ... > out.xml` in PowerShell writes UTF-16LE with a BOM.
//! Every decoding problem (an invalid UTF-8 sequence, a lone UTF-16
//! surrogate, an odd trailing byte) becomes one U+FFFD and one counted
//! warning, never an error, so the rest of the file still loads.

/// Text decoded from bytes, with the number of repairs made.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    /// The decoded text, BOM removed.
    pub text: String,
    /// How many U+FFFD replacements were inserted.
    pub warnings: usize,
}

/// Decodes a whole file: UTF-8 (with or without BOM) or UTF-16 (BOM, or
/// sniffed from NUL bytes in an ASCII-looking start).
pub(crate) fn decode_bytes(bytes: &[u8]) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return decode_utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    // Without a BOM, ASCII text in UTF-16 shows NULs in every other byte.
    if bytes.len() >= 4 && bytes[0] != 0 && bytes[1] == 0 && bytes[2] != 0 && bytes[3] == 0 {
        return decode_utf16(bytes, u16::from_le_bytes);
    }
    if bytes.len() >= 4 && bytes[0] == 0 && bytes[1] != 0 && bytes[2] == 0 && bytes[3] != 0 {
        return decode_utf16(bytes, u16::from_be_bytes);
    }
    decode_utf8(bytes)
}

/// Decodes UTF-8, replacing each invalid sequence by one U+FFFD.
pub(crate) fn decode_utf8(bytes: &[u8]) -> Decoded {
    let mut out = Decoded {
        text: String::with_capacity(bytes.len()),
        warnings: 0,
    };
    for chunk in bytes.utf8_chunks() {
        out.text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.text.push(char::REPLACEMENT_CHARACTER);
            out.warnings += 1;
        }
    }
    out
}

/// Decodes UTF-16 with the given byte order, replacing lone surrogates and
/// an odd trailing byte by U+FFFD.
fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Decoded {
    let (pairs, rest) = bytes.as_chunks::<2>();
    let mut out = Decoded {
        text: String::with_capacity(bytes.len() / 2),
        warnings: 0,
    };
    for c in char::decode_utf16(pairs.iter().map(|p| unit(*p))) {
        match c {
            Ok(c) => out.text.push(c),
            Err(_) => {
                out.text.push(char::REPLACEMENT_CHARACTER);
                out.warnings += 1;
            }
        }
    }
    if !rest.is_empty() {
        out.text.push(char::REPLACEMENT_CHARACTER);
        out.warnings += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &[u16]) -> Vec<u8> {
        s.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn utf8_bom_is_dropped() {
        let d = decode_bytes(b"\xEF\xBB\xBF<a/>");
        assert_eq!(d.text, "<a/>");
        assert_eq!(d.warnings, 0);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_and_counts() {
        let d = decode_bytes(b"ab\xFFc\xC3");
        assert_eq!(d.text, "ab\u{FFFD}c\u{FFFD}");
        assert_eq!(d.warnings, 2);
    }

    #[test]
    fn utf16le_with_bom_and_lone_surrogate() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(utf16le(&[b'<' as u16, 0xD800, b'x' as u16, 0xDC00]));
        let d = decode_bytes(&bytes);
        assert_eq!(d.text, "<\u{FFFD}x\u{FFFD}");
        assert_eq!(d.warnings, 2);
    }

    #[test]
    fn utf16le_sniffed_without_bom_and_odd_byte() {
        let mut bytes = utf16le(&[b'<' as u16, b'E' as u16]);
        bytes.push(b'x');
        let d = decode_bytes(&bytes);
        assert_eq!(d.text, "<E\u{FFFD}");
        assert_eq!(d.warnings, 1);
    }
}

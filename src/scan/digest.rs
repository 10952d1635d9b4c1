//! One read of a file yields the digests the deploy needs: SHA-256 (content identity
//! and version), MD5 (the single-part ETag) and per-part MD5s (the multipart ETag).
//! MD5 is the slower of the two here and only needed for what the bucket cannot
//! already vouch for, so the scan reads SHA-256 alone and MD5 is added later for the
//! files that need it ([`super::add_md5`]).

use std::io::{self, Read};

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// Files above this size are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Part size of our multipart uploads; also the AWS CLI's default, so objects it
/// uploaded in parts are recognised too.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

/// Read size of the digests; a caller digesting many files reuses one such buffer
/// ([`Digest::read_with`]), since zeroing 256 KiB a file costs more than hashing a
/// small one.
pub const BUFFER: usize = 256 * 1024;

/// Digests of a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub sha256: [u8; 32],
    /// `None` until computed: a file the deploy state confirms never needs it.
    md5: Option<Md5s>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Md5s {
    whole: [u8; 16],
    /// MD5 of each `PART_SIZE` part; empty when the file fits in one part.
    parts: Vec<[u8; 16]>,
}

/// How a remote ETag relates to local bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagMatch {
    Same,
    Different,
    /// Not an MD5-derived ETag we can recompute (SSE-KMS, another part size), or
    /// the file's MD5 was not computed.
    Unknown,
}

impl Digest {
    /// Every digest, streaming `reader` once, never holding more than a small buffer.
    pub fn of_reader(reader: impl Read) -> io::Result<Self> {
        Self::read_with(reader, true, &mut vec![0u8; BUFFER])
    }

    /// The digest a record names (size and SHA-256 in hex), for bytes that are in the
    /// bucket rather than on disk; `None` when the hex is not a SHA-256.
    pub fn known(size: u64, sha256_hex: &str) -> Option<Self> {
        let bytes = sha256_hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut sha256 = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).ok()?;
            sha256[i] = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self {
            size,
            sha256,
            md5: None,
        })
    }

    /// SHA-256 and size only.
    pub fn sha256_of_reader(reader: impl Read) -> io::Result<Self> {
        Self::read_with(reader, false, &mut vec![0u8; BUFFER])
    }

    /// SHA-256, size and (`with_md5`) the MD5s of `reader`, read through `buf`.
    pub fn read_with(mut reader: impl Read, with_md5: bool, buf: &mut [u8]) -> io::Result<Self> {
        let mut sha = Sha256::new();
        let mut md5 = Md5::new();
        let mut part = Md5::new();
        let mut in_part = 0u64;
        let mut parts = Vec::new();
        let mut size = 0u64;
        loop {
            let n = match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = &buf[..n];
            sha.update(chunk);
            size += n as u64;
            if !with_md5 {
                continue;
            }
            md5.update(chunk);
            let mut rest = chunk;
            while !rest.is_empty() {
                let room = usize::try_from(PART_SIZE - in_part).unwrap_or(usize::MAX);
                let (now, later) = rest.split_at(room.min(rest.len()));
                part.update(now);
                in_part += now.len() as u64;
                if in_part == PART_SIZE {
                    parts.push(to_array(&part.finalize_reset()));
                    in_part = 0;
                }
                rest = later;
            }
        }
        if in_part > 0 {
            parts.push(to_array(&part.finalize()));
        }
        if size <= PART_SIZE {
            parts.clear();
        }
        Ok(Self {
            size,
            sha256: to_array(&sha.finalize()),
            md5: with_md5.then(|| Md5s {
                whole: to_array(&md5.finalize()),
                parts,
            }),
        })
    }

    /// The MD5 of the bytes, when computed.
    pub fn md5(&self) -> Option<[u8; 16]> {
        self.md5.as_ref().map(|m| m.whole)
    }

    pub fn has_md5(&self) -> bool {
        self.md5.is_some()
    }

    /// The MD5 of part `index` (from 0) of a multipart upload, when computed.
    pub fn part_md5(&self, index: usize) -> Option<[u8; 16]> {
        self.md5.as_ref()?.parts.get(index).copied()
    }

    /// Parts of [`PART_SIZE`] the bytes make (0 when they fit in one); `None` when
    /// the MD5s were not computed.
    pub fn part_count(&self) -> Option<usize> {
        self.md5.as_ref().map(|m| m.parts.len())
    }

    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// True when our upload of this file uses multipart.
    pub fn is_multipart(&self) -> bool {
        self.size > MULTIPART_THRESHOLD
    }

    /// The ETag S3 computes for our upload of these bytes (without quotes); empty
    /// when the MD5s were not computed.
    pub fn expected_etag(&self) -> String {
        match &self.md5 {
            Some(md5) if self.is_multipart() => multipart_etag(&md5.parts),
            Some(md5) => hex(&md5.whole),
            None => String::new(),
        }
    }

    /// Compares with an ETag from a listing (quotes and case ignored).
    pub fn compare_etag(&self, etag: &str) -> EtagMatch {
        let Some(ours) = &self.md5 else {
            return EtagMatch::Unknown;
        };
        let etag = etag.trim_matches('"').to_ascii_lowercase();
        let (md5, parts) = match etag.split_once('-') {
            Some((md5, parts)) => (md5, Some(parts)),
            None => (etag.as_str(), None),
        };
        if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
            return EtagMatch::Unknown;
        }
        let ours = match parts {
            None => hex(&ours.whole),
            Some(n) if n.parse::<usize>().ok() == Some(ours.parts.len()) => {
                multipart_etag(&ours.parts)
            }
            Some(_) => return EtagMatch::Unknown,
        };
        if ours == etag {
            EtagMatch::Same
        } else {
            EtagMatch::Different
        }
    }
}

fn multipart_etag(parts: &[[u8; 16]]) -> String {
    let mut outer = Md5::new();
    for part in parts {
        outer.update(part);
    }
    format!(
        "{}-{}",
        hex(&to_array::<16>(&outer.finalize())),
        parts.len()
    )
}

fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(bytes: &[u8]) -> Digest {
        Digest::of_reader(bytes).unwrap()
    }

    #[test]
    fn small_file_etag_is_its_md5() {
        let d = digest(b"hello");
        assert_eq!(d.expected_etag(), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(
            d.sha256_hex(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(
            d.compare_etag("\"5D41402ABC4B2A76B9719D911017C592\""),
            EtagMatch::Same
        );
        assert_eq!(
            d.compare_etag("\"00000000000000000000000000000000\""),
            EtagMatch::Different
        );
    }

    #[test]
    fn multipart_etag_is_md5_of_part_md5s() {
        let size = (2 * MULTIPART_THRESHOLD + 123) as usize;
        let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let d = digest(&bytes);
        let mut outer = Md5::new();
        let parts: Vec<_> = bytes.chunks(PART_SIZE as usize).collect();
        for p in &parts {
            outer.update(Md5::digest(p));
        }
        let expected = format!("{}-{}", hex(&outer.finalize()), parts.len());
        assert!(d.is_multipart());
        assert_eq!(d.expected_etag(), expected);
        assert_eq!(d.compare_etag(&format!("\"{expected}\"")), EtagMatch::Same);
        assert_eq!(d.compare_etag(&hex(&d.md5().unwrap())), EtagMatch::Same);
    }

    #[test]
    fn aws_cli_multipart_of_a_mid_sized_file_is_recognised() {
        // 12 MiB: we upload it in one part, the AWS CLI in two 8 MiB parts.
        let bytes = vec![7u8; 12 * 1024 * 1024];
        let d = digest(&bytes);
        assert!(!d.is_multipart());
        let cli = format!(
            "{}-2",
            hex(&{
                let mut outer = Md5::new();
                for p in bytes.chunks(PART_SIZE as usize) {
                    outer.update(Md5::digest(p));
                }
                outer.finalize()
            })
        );
        assert_eq!(d.compare_etag(&cli), EtagMatch::Same);
    }

    #[test]
    fn without_md5_only_sha256_is_known_and_etags_are_unknown() {
        let d = Digest::sha256_of_reader(&b"hello"[..]).unwrap();
        assert_eq!(d.sha256, digest(b"hello").sha256);
        assert_eq!((d.size, d.md5(), d.part_count()), (5, None, None));
        assert_eq!(
            d.compare_etag("5d41402abc4b2a76b9719d911017c592"),
            EtagMatch::Unknown
        );
        assert_eq!(d.expected_etag(), "");
    }

    #[test]
    fn foreign_etags_are_unknown_not_different() {
        let d = digest(b"hello");
        assert_eq!(d.compare_etag("\"abc\""), EtagMatch::Unknown);
        assert_eq!(
            d.compare_etag("\"5d41402abc4b2a76b9719d911017c592-3\""),
            EtagMatch::Unknown
        );
    }

    #[test]
    fn exact_part_multiple_has_no_empty_trailing_part() {
        let bytes = vec![1u8; 2 * PART_SIZE as usize];
        assert_eq!(digest(&bytes).part_count(), Some(2));
    }
}

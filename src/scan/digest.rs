//! One read of a file yields every digest the deploy needs: SHA-256 (content identity
//! and version), MD5 (the single-part ETag) and per-part MD5s (the multipart ETag).

use std::io::{self, Read};

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// Files above this size are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Part size of our multipart uploads; also the AWS CLI's default, so objects it
/// uploaded in parts are recognised too.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

const BUFFER: usize = 256 * 1024;

/// Digests of a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub sha256: [u8; 32],
    pub md5: [u8; 16],
    /// MD5 of each `PART_SIZE` part; empty when the file fits in one part.
    pub part_md5s: Vec<[u8; 16]>,
}

/// How a remote ETag relates to local bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagMatch {
    Same,
    Different,
    /// Not an MD5-derived ETag we can recompute (SSE-KMS, another part size).
    Unknown,
}

impl Digest {
    /// Streams `reader` once, never holding more than a small buffer.
    pub fn of_reader(mut reader: impl Read) -> io::Result<Self> {
        let mut sha = Sha256::new();
        let mut md5 = Md5::new();
        let mut part = Md5::new();
        let mut in_part = 0u64;
        let mut part_md5s = Vec::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; BUFFER];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = &buf[..n];
            sha.update(chunk);
            md5.update(chunk);
            let mut rest = chunk;
            while !rest.is_empty() {
                let room = usize::try_from(PART_SIZE - in_part).unwrap_or(usize::MAX);
                let (now, later) = rest.split_at(room.min(rest.len()));
                part.update(now);
                in_part += now.len() as u64;
                if in_part == PART_SIZE {
                    part_md5s.push(to_array(&part.finalize_reset()));
                    in_part = 0;
                }
                rest = later;
            }
            size += n as u64;
        }
        if in_part > 0 {
            part_md5s.push(to_array(&part.finalize()));
        }
        if size <= PART_SIZE {
            part_md5s.clear();
        }
        Ok(Self {
            size,
            sha256: to_array(&sha.finalize()),
            md5: to_array(&md5.finalize()),
            part_md5s,
        })
    }

    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// True when our upload of this file uses multipart.
    pub fn is_multipart(&self) -> bool {
        self.size > MULTIPART_THRESHOLD
    }

    /// The ETag S3 computes for our upload of these bytes (without quotes).
    pub fn expected_etag(&self) -> String {
        if self.is_multipart() {
            self.multipart_etag()
        } else {
            hex(&self.md5)
        }
    }

    fn multipart_etag(&self) -> String {
        let mut outer = Md5::new();
        for part in &self.part_md5s {
            outer.update(part);
        }
        format!(
            "{}-{}",
            hex(&to_array::<16>(&outer.finalize())),
            self.part_md5s.len()
        )
    }

    /// Compares with an ETag from a listing (quotes and case ignored).
    pub fn compare_etag(&self, etag: &str) -> EtagMatch {
        let etag = etag.trim_matches('"').to_ascii_lowercase();
        let (md5, parts) = match etag.split_once('-') {
            Some((md5, parts)) => (md5, Some(parts)),
            None => (etag.as_str(), None),
        };
        if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
            return EtagMatch::Unknown;
        }
        let ours = match parts {
            None => hex(&self.md5),
            Some(n) if n.parse::<usize>().ok() == Some(self.part_md5s.len()) => {
                self.multipart_etag()
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
        assert_eq!(d.compare_etag(&hex(&d.md5)), EtagMatch::Same);
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
        assert_eq!(digest(&bytes).part_md5s.len(), 2);
    }
}

//! SHA-256 digests and a reader that hashes what passes through it.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use sha2::{Digest, Sha256 as Hasher};

use crate::report::Progress;

/// A SHA-256 digest as 64 lower-case hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256(String);

impl Sha256 {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn of_bytes(bytes: &[u8]) -> Sha256 {
        Sha256(format!("{:x}", Hasher::digest(bytes)))
    }

    pub fn of_file(path: &std::path::Path) -> io::Result<Sha256> {
        let mut reader = HashingReader::new(fs_err::File::open(path)?, None);
        io::copy(&mut reader, &mut io::sink())?;
        Ok(reader.finish().0)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The input was not 64 hex characters.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a sha256 digest (64 hex characters)")]
pub struct NotADigest(pub String);

impl FromStr for Sha256 {
    type Err = NotADigest;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256(s.to_ascii_lowercase()))
        } else {
            Err(NotADigest(s.to_string()))
        }
    }
}

impl TryFrom<String> for Sha256 {
    type Error = NotADigest;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Sha256> for String {
    fn from(d: Sha256) -> String {
        d.0
    }
}

/// Hashes and counts every byte read through it, and remembers whether the
/// underlying source failed (a transport fault, worth a retry) as opposed to
/// what the consumer made of the bytes (a bad archive, not worth one).
pub struct HashingReader<'p, R> {
    inner: R,
    hasher: Hasher,
    bytes: u64,
    failure: Option<SourceFailure>,
    progress: Option<&'p dyn Progress>,
}

/// How the source failed, kept because the consumer may replace the error with its own.
#[derive(Debug, Clone)]
pub struct SourceFailure {
    /// The server sent nothing for longer than the idle timeout.
    pub timed_out: bool,
    pub message: String,
}

impl<'p, R: Read> HashingReader<'p, R> {
    pub fn new(inner: R, progress: Option<&'p dyn Progress>) -> Self {
        HashingReader { inner, hasher: Hasher::new(), bytes: 0, failure: None, progress }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn source_failed(&self) -> bool {
        self.failure.is_some()
    }

    /// How the source failed, if it did.
    pub fn failure(&self) -> Option<&SourceFailure> {
        self.failure.as_ref()
    }

    /// Reads what is left, so the digest covers the whole stream.
    pub fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }

    pub fn finish(self) -> (Sha256, u64) {
        (Sha256(format!("{:x}", self.hasher.finalize())), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.bytes += n as u64;
                if let Some(progress) = self.progress {
                    progress.advance(n as u64);
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.failure = Some(SourceFailure { timed_out: super::is_timeout(&e), message: super::chain(&e) });
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_what_it_reads() {
        let mut r = HashingReader::new(&b"abc"[..], None);
        assert_eq!(r.drain().unwrap(), 3);
        let (digest, n) = r.finish();
        assert_eq!(n, 3);
        assert_eq!(digest.as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(digest, Sha256::of_bytes(b"abc"));
    }

    #[test]
    fn parses_digests() {
        assert!("ABC".parse::<Sha256>().is_err());
        let upper = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(upper.parse::<Sha256>().unwrap().as_str(), upper.to_ascii_lowercase());
    }
}

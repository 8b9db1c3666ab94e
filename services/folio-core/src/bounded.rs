//! Reading a small file from outside (a secret, a CA bundle, a key) with its bound named before a byte is
//! buffered.

use std::io::Read;
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("it is larger than {0} KiB")]
    TooLarge(u64),
}

/// The whole of the file at `path`, when it holds at most `limit` bytes; at most `limit + 1` are read.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit >> 10));
    }
    Ok(bytes)
}

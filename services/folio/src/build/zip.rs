//! A bundle in the blob store as one ZIP file, for downloading: written to an unnamed temporary file one blob
//! at a time (memory holds one file of the bundle), then streamed in chunks.

use anyhow::{Context, Result};
use axum::body::Bytes;
use folio_store::BlobStore;
use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Writes the blobs `keys` (each under `prefix`) into a ZIP file, by their key less the prefix, and returns it
/// opened at its start. Files are stored, not compressed: PDFs, DOCX and images are compressed already.
pub async fn write(blobs: &dyn BlobStore, prefix: &str, keys: &[String]) -> Result<tokio::fs::File> {
    let file = tempfile::tempfile().context("a temporary file for the bundle's ZIP")?;
    let mut zip = ZipWriter::new(file);
    for key in keys {
        let name = key.strip_prefix(prefix).unwrap_or(key).to_string();
        let bytes = blobs.get(key).await.with_context(|| format!("reading {key}"))?;
        zip = tokio::task::spawn_blocking(move || -> Result<ZipWriter<std::fs::File>> {
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(bytes.len() as u64 >= u32::MAX as u64);
            zip.start_file(name.as_str(), options)?;
            zip.write_all(&bytes)?;
            Ok(zip)
        })
        .await
        .context("writing the ZIP")??;
    }
    let file = tokio::task::spawn_blocking(move || zip.finish()).await.context("writing the ZIP")??;
    let mut file = tokio::fs::File::from_std(file);
    file.rewind().await?;
    Ok(file)
}

/// The file in chunks of 256 KiB, for a streamed response body.
pub fn chunks(file: tokio::fs::File) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = vec![0u8; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

//! The blob store: originals, thumbnails and bundles, by key.

pub mod s3;

use async_trait::async_trait;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no blob store for URL '{0}' (use file://PATH or s3://BUCKET[/PREFIX])")]
    UnsupportedUrl(String),
    #[error("blob store URL '{url}': {why} (see docs/CONFIGURATION.md)")]
    BadUrl { url: String, why: String },
    #[error("blob key '{0}' is not a plain relative key")]
    BadKey(String),
    #[error("blob '{0}' not found")]
    NotFound(String),
    #[error("blob store I/O on '{key}': {source}")]
    Io { key: String, source: std::io::Error },
    #[error("object storage refused '{key}' (check the bucket, the credentials and the bucket's policy): {message}")]
    Denied { key: String, message: String },
    #[error("object storage, on '{key}': {message}; try again later")]
    Remote { key: String, message: String },
}

impl BlobError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Remote { .. })
    }
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes a blob; writing the same key again replaces it whole (readers never see half a blob).
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError>;
    /// Writes several blobs, as [`BlobStore::put`] each, at once (a document's thumbnails and form); the first
    /// error when any fails. No order among them is promised.
    async fn put_all(&self, blobs: Vec<(String, Vec<u8>)>) -> Result<(), BlobError> {
        futures_util::future::try_join_all(
            blobs.into_iter().map(|(key, bytes)| async move { self.put(&key, bytes).await }),
        )
        .await
        .map(|_| ())
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError>;
    async fn exists(&self, key: &str) -> Result<bool, BlobError>;
    /// A blob's size in bytes, without reading it ([`BlobError::NotFound`] when there is none).
    async fn size(&self, key: &str) -> Result<u64, BlobError>;
    /// Writes a blob from a local file, streamed: memory does not grow with the file's size. Readers never
    /// see half a blob, as with [`BlobStore::put`].
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError>;
    /// Every key under `prefix` (a key prefix ending at a `/`), sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError>;
    /// Where a blob can be read as a local file, when the store has one (the embedded default does): saves a
    /// copy for workers that hand files to a parser process.
    fn local_path(&self, key: &str) -> Option<PathBuf>;
}

/// Blobs as files under a folder; keys are relative paths. A blob is written beside, in the folder
/// [`PARTIAL_DIR`] under the root, then renamed into place, so that a half-written blob is never a blob
/// and no key (a file named `scan.tmp-1.png` included) is mistaken for a half-written one.
pub struct FileBlobStore {
    root: PathBuf,
}

/// Where blobs are written before they are renamed into place; no key may start with it.
pub const PARTIAL_DIR: &str = ".partial";

impl FileBlobStore {
    pub fn new(root: impl AsRef<Path>) -> Result<Self, BlobError> {
        let root = root.as_ref().to_path_buf();
        crate::create_private_dir(&root).map_err(|source| BlobError::Io { key: root.display().to_string(), source })?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        check_key(key)?;
        if key.split('/').next() == Some(PARTIAL_DIR) {
            return Err(BlobError::BadKey(key.to_string()));
        }
        Ok(self.root.join(key))
    }

    /// A new file to write a blob into before it is renamed into place (the same file system as the root).
    async fn partial(&self, key: &str) -> Result<PathBuf, BlobError> {
        let dir = self.root.join(PARTIAL_DIR);
        tokio::fs::create_dir_all(&dir).await.map_err(|source| BlobError::Io { key: key.to_string(), source })?;
        Ok(dir.join(uuid::Uuid::new_v4().simple().to_string()))
    }
}

/// A key is a plain relative path: `/`-separated parts, none empty, `.` or `..`, no backslash or NUL.
pub(crate) fn check_key(key: &str) -> Result<(), BlobError> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && key.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        && !key.contains(['\\', '\0']);
    if ok {
        Ok(())
    } else {
        Err(BlobError::BadKey(key.to_string()))
    }
}

#[async_trait]
impl BlobStore for FileBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.put_all(vec![(key.to_string(), bytes)]).await
    }

    /// One trip to a blocking thread for all of them (a document's blobs are small and several).
    async fn put_all(&self, blobs: Vec<(String, Vec<u8>)>) -> Result<(), BlobError> {
        if blobs.is_empty() {
            return Ok(());
        }
        let paths = blobs.iter().map(|(key, _)| self.path(key)).collect::<Result<Vec<_>, _>>()?;
        let partial_dir = self.root.join(PARTIAL_DIR);
        tokio::task::spawn_blocking(move || {
            for ((key, bytes), path) in blobs.into_iter().zip(paths) {
                let write = || {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    // Write beside, then rename: a crash mid-write leaves the old blob or none, never half of one.
                    std::fs::create_dir_all(&partial_dir)?;
                    let tmp = partial_dir.join(uuid::Uuid::new_v4().simple().to_string());
                    std::fs::write(&tmp, &bytes)?;
                    std::fs::rename(&tmp, &path)
                };
                write().map_err(|source| BlobError::Io { key, source })?;
            }
            Ok(())
        })
        .await
        .map_err(|e| BlobError::Io { key: "a document's blobs".to_string(), source: std::io::Error::other(e) })?
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path(key)?;
        tokio::fs::read(&path).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                BlobError::NotFound(key.to_string())
            } else {
                BlobError::Io { key: key.to_string(), source }
            }
        })
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let path = self.path(key)?;
        tokio::fs::try_exists(&path).await.map_err(|source| BlobError::Io { key: key.to_string(), source })
    }

    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(m.len()),
            Ok(_) => Err(BlobError::NotFound(key.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound(key.to_string())),
            Err(source) => Err(BlobError::Io { key: key.to_string(), source }),
        }
    }

    async fn put_file(&self, key: &str, source: &Path) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let io = |source| BlobError::Io { key: key.to_string(), source };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let tmp = self.partial(key).await?;
        tokio::fs::copy(source, &tmp).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let prefix = prefix.trim_end_matches('/');
        let root = self.path(prefix)?;
        let io = |source| BlobError::Io { key: prefix.to_string(), source };
        let mut keys = Vec::new();
        let partial = self.root.join(PARTIAL_DIR);
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            let mut entries = match tokio::fs::read_dir(&folder).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(io)? {
                let path = entry.path();
                if entry.file_type().await.map_err(io)?.is_dir() {
                    // Half-written blobs are not blobs.
                    if path != partial {
                        folders.push(path);
                    }
                } else if let Ok(relative) = path.strip_prefix(&self.root) {
                    keys.push(relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"));
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.path(key).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob store in a folder of its own, removed with the returned guard.
    fn temp_store() -> (tempfile::TempDir, FileBlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::new(dir.path()).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn put_get_replace_and_refuse_escaping_keys() {
        let (dir, store) = temp_store();
        store.put("originals/ab/cd", b"one".to_vec()).await.unwrap();
        store.put("originals/ab/cd", b"two".to_vec()).await.unwrap();
        assert_eq!(store.get("originals/ab/cd").await.unwrap(), b"two");
        assert!(store.exists("originals/ab/cd").await.unwrap());
        assert!(matches!(store.get("nope").await, Err(BlobError::NotFound(_))));
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "a//b"] {
            assert!(matches!(store.put(bad, vec![]).await, Err(BlobError::BadKey(_))), "{bad}");
        }
        // No temporary files are left beside the blob.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("originals/ab")).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_eq!(store.size("originals/ab/cd").await.unwrap(), 3);
        assert!(matches!(store.size("nope").await, Err(BlobError::NotFound(_))));
        assert!(matches!(store.put(".partial/x", vec![]).await, Err(BlobError::BadKey(_))));
    }

    /// A document's blobs go in one call; a bad key among them refuses the call before anything is written.
    #[tokio::test]
    async fn several_blobs_are_put_at_once() {
        let (dir, store) = temp_store();
        let blobs = vec![
            ("thumbnails/d/256.png".to_string(), b"small".to_vec()),
            ("thumbnails/d/1024.png".to_string(), b"large".to_vec()),
            ("structure/d/structure.json".to_string(), b"{}".to_vec()),
        ];
        store.put_all(blobs).await.unwrap();
        assert_eq!(store.get("thumbnails/d/1024.png").await.unwrap(), b"large");
        assert_eq!(store.list("thumbnails/d/").await.unwrap(), ["thumbnails/d/1024.png", "thumbnails/d/256.png"]);
        assert_eq!(store.get("structure/d/structure.json").await.unwrap(), b"{}");
        let bad = vec![("structure/e/a".to_string(), vec![1]), ("../escape".to_string(), vec![2])];
        assert!(matches!(store.put_all(bad).await, Err(BlobError::BadKey(_))));
        assert!(!dir.path().join("structure/e").exists(), "nothing written when a key is refused");
        assert_eq!(std::fs::read_dir(dir.path().join(PARTIAL_DIR)).unwrap().count(), 0, "nothing left beside");
    }

    /// Any name is a blob's name: one that looks like a half-written file is listed like the others.
    #[tokio::test]
    async fn a_name_like_a_temporary_file_is_a_blob_like_any() {
        let (dir, store) = temp_store();
        store.put("bundles/c/1/originals/scan.tmp-1.png", b"png".to_vec()).await.unwrap();
        store.put("bundles/c/1/originals/a.pdf", b"pdf".to_vec()).await.unwrap();
        assert_eq!(
            store.list("bundles/c/1/").await.unwrap(),
            ["bundles/c/1/originals/a.pdf", "bundles/c/1/originals/scan.tmp-1.png"]
        );
        assert!(dir.path().join(PARTIAL_DIR).is_dir(), "written beside, in a folder of its own");
    }

    #[tokio::test]
    async fn files_are_copied_in_and_keys_listed_under_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::new(dir.path().join("blobs")).unwrap();
        let source = dir.path().join("upload.bin");
        std::fs::write(&source, vec![9u8; 300_000]).unwrap();
        store.put_file("bundles/c/1/originals/a.pdf", &source).await.unwrap();
        store.put("bundles/c/1/manifest.json", b"{}".to_vec()).await.unwrap();
        store.put("bundles/c/2/manifest.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(store.get("bundles/c/1/originals/a.pdf").await.unwrap().len(), 300_000);
        assert_eq!(
            store.list("bundles/c/1/").await.unwrap(),
            ["bundles/c/1/manifest.json", "bundles/c/1/originals/a.pdf"]
        );
        assert!(store.list("bundles/none/").await.unwrap().is_empty());
    }
}

//! Blobs in S3-compatible object storage (`s3://BUCKET[/PREFIX]`), through the `object_store` crate.
//!
//! The URL names the bucket, an optional key prefix, and where the service is:
//! `s3://folio/prod?endpoint=http://minio:9000&region=us-east-1`. Credentials never go in the URL (it is
//! logged and sent in events): they come from the environment as every AWS tool reads them
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`), or
//! from the pod's web identity or instance role. Requests are path-style (`endpoint/bucket/key`), which every
//! S3-compatible server takes; plain `http://` is allowed only when the endpoint says so.

use crate::blob::{check_key, BlobError, BlobStore};
use async_trait::async_trait;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use std::path::{Path, PathBuf};

/// The part size of multipart uploads (S3's minimum is 5 MiB).
const PART_BYTES: usize = 8 << 20;
/// Parts sent at once.
const PARTS_IN_FLIGHT: usize = 2;

/// Query parameters of an `s3://` URL.
const PARAMS: [&str; 2] = ["endpoint", "region"];

pub struct S3BlobStore {
    store: AmazonS3,
    prefix: String,
}

impl S3BlobStore {
    /// Opens the bucket an `s3://BUCKET[/PREFIX][?endpoint=URL&region=NAME]` URL names. Nothing is asked of the
    /// service yet: a wrong endpoint or credentials show at the first request.
    pub fn open(url: &str) -> Result<Self, BlobError> {
        let bad = |why: String| BlobError::BadUrl { url: url.to_string(), why };
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if parsed.scheme() != "s3" {
            return Err(bad("the scheme must be s3://".into()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(
                bad("credentials do not go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()),
            );
        }
        let bucket = parsed.host_str().filter(|b| !b.is_empty()).ok_or_else(|| bad("no bucket".into()))?;
        let prefix = parsed.path().trim_matches('/').to_string();
        if !prefix.is_empty() {
            check_key(&prefix)?;
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        // The keys may come from mounted files instead (AWS_ACCESS_KEY_ID_FILE and so on), as Folio's other
        // secrets do.
        let secret = |name: &str| folio_core::redact::env_secret(name).map_err(bad);
        if let Some(id) = secret("AWS_ACCESS_KEY_ID")? {
            builder = builder.with_access_key_id(id);
        }
        if let Some(key) = secret("AWS_SECRET_ACCESS_KEY")? {
            builder = builder.with_secret_access_key(key);
        }
        if let Some(token) = secret("AWS_SESSION_TOKEN")? {
            builder = builder.with_token(token);
        }
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "endpoint" => {
                    builder = builder.with_endpoint(value.as_ref()).with_allow_http(value.starts_with("http://"))
                }
                "region" => builder = builder.with_region(value.as_ref()),
                other => return Err(bad(format!("unknown parameter '{other}' (known: {})", PARAMS.join(", ")))),
            }
        }
        let store = builder.build().map_err(|e| bad(e.to_string()))?;
        Ok(Self { store, prefix })
    }

    fn path(&self, key: &str) -> Result<ObjectPath, BlobError> {
        check_key(key)?;
        let full = if self.prefix.is_empty() { key.to_string() } else { format!("{}/{key}", self.prefix) };
        ObjectPath::parse(&full).map_err(|_| BlobError::BadKey(key.to_string()))
    }
}

/// What went wrong, classed: a missing object, credentials refused (a person must act), or anything else
/// (network, throttling, server errors: object_store already retried with backoff, and trying later may
/// still succeed).
fn classify(key: &str, e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_string()),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            BlobError::Denied { key: key.to_string(), message: e.to_string() }
        }
        other => BlobError::Remote { key: key.to_string(), message: other.to_string() },
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    /// One PUT: S3 replaces an object whole, so readers never see half a blob.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match self.store.put(&path, PutPayload::from(bytes)).await {
            Ok(_) => Ok(()),
            // Not found on a write: the bucket itself is missing.
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::Denied {
                key: key.to_string(),
                message: "the bucket does not exist; create it, or name another in the blob URL".into(),
            }),
            Err(e) => Err(classify(key, e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path(key)?;
        let got = self.store.get(&path).await.map_err(|e| classify(key, e))?;
        Ok(got.bytes().await.map_err(|e| classify(key, e))?.to_vec())
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(classify(key, e)),
        }
    }

    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(classify(key, e)),
        }
    }

    /// Files up to [`PART_BYTES`] in one PUT; larger ones as a multipart upload of parts of that size, at
    /// most [`PARTS_IN_FLIGHT`] at once, so memory holds a few parts whatever the file's size. An upload that
    /// fails is aborted (S3 keeps no parts of it).
    async fn put_file(&self, key: &str, source: &Path) -> Result<(), BlobError> {
        use tokio::io::AsyncReadExt;
        let io = |source| BlobError::Io { key: key.to_string(), source };
        let size = tokio::fs::metadata(source).await.map_err(io)?.len();
        if size <= PART_BYTES as u64 {
            return self.put(key, tokio::fs::read(source).await.map_err(io)?).await;
        }
        let path = self.path(key)?;
        let upload = self.store.put_multipart(&path).await.map_err(|e| classify(key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut file = tokio::fs::File::open(source).await.map_err(io)?;
        let mut buffer = vec![0u8; 1 << 20];
        let outcome: Result<(), BlobError> = async {
            loop {
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| classify(key, e))?;
                let n = file.read(&mut buffer).await.map_err(io)?;
                if n == 0 {
                    return Ok(());
                }
                writer.write(&buffer[..n]);
            }
        }
        .await;
        match outcome {
            Ok(()) => writer.finish().await.map(|_| ()).map_err(|e| classify(key, e)),
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        use futures_util::TryStreamExt;
        let prefix = prefix.trim_end_matches('/');
        let path = self.path(prefix)?;
        let strip = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        let objects: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&path)).try_collect().await.map_err(|e| classify(prefix, e))?;
        let mut keys: Vec<String> = objects
            .into_iter()
            .map(|o| o.location.as_ref().strip_prefix(&strip).unwrap_or(o.location.as_ref()).to_string())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn local_path(&self, _key: &str) -> Option<PathBuf> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_bucket_prefix_and_endpoint_and_refuse_credentials() {
        let s = S3BlobStore::open("s3://folio/prod/blobs?endpoint=http://127.0.0.1:5000&region=eu-west-1").unwrap();
        assert_eq!(s.prefix, "prod/blobs");
        assert_eq!(s.path("originals/ab").unwrap().as_ref(), "prod/blobs/originals/ab");
        assert!(matches!(s.path("../x"), Err(BlobError::BadKey(_))));
        for bad in ["s3://key:secret@folio", "s3://", "s3://folio?colour=red", "file:///x"] {
            assert!(S3BlobStore::open(bad).is_err(), "{bad}");
        }
    }
}

//! The S3 blob store against a real S3-compatible server: `moto_server` (PyPI `moto[server]`), which
//! `scripts/test` installs and starts on 127.0.0.1:5000 when nothing answers there. Another server can be
//! named with FOLIO_TEST_S3_ENDPOINT (its credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Without
//! a server the test fails and says how to start one.

use folio_store::{open_blobs, BlobError, BlobStore};
use std::io::{Read, Write};
use std::time::Duration;

fn endpoint() -> String {
    std::env::var("FOLIO_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".into())
}

/// Fails the test, saying how to start a server, when nothing answers at the endpoint.
fn connect() -> (std::net::TcpStream, String) {
    let endpoint = endpoint();
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    let stream = std::net::TcpStream::connect(&authority).unwrap_or_else(|e| {
        panic!(
            "no S3-compatible server at {endpoint} ({e}): run scripts/test, which starts moto_server, or \
             `pip install 'moto[server]' && moto_server -p 5000 &`, or set FOLIO_TEST_S3_ENDPOINT"
        )
    });
    (stream, authority)
}

/// Makes a bucket with a bare HTTP request (moto does not check signatures; S3's API has no other way that
/// needs no SDK).
fn create_bucket(bucket: &str) {
    let (mut stream, authority) = connect();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "PUT /{bucket} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "creating the bucket: {answer}");
}

fn store(bucket: &str, prefix: &str) -> std::sync::Arc<dyn BlobStore> {
    // moto takes any credentials; a real server gets them from the environment.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    }
    open_blobs(&format!("s3://{bucket}/{prefix}?endpoint={}&region=us-east-1", endpoint())).unwrap()
}

#[tokio::test]
async fn blobs_go_to_s3_and_come_back_whole() {
    let bucket = format!("folio-test-{}", uuid::Uuid::new_v4().simple());
    create_bucket(&bucket);
    let blobs = store(&bucket, "run-1");

    assert!(!blobs.exists("originals/ab").await.unwrap());
    assert!(matches!(blobs.get("originals/ab").await, Err(BlobError::NotFound(_))));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    blobs.put("originals/ab", big.clone()).await.unwrap();
    assert!(blobs.exists("originals/ab").await.unwrap());
    assert_eq!(blobs.get("originals/ab").await.unwrap(), big);
    // Writing a key again replaces the blob whole.
    blobs.put("originals/ab", b"second".to_vec()).await.unwrap();
    assert_eq!(blobs.get("originals/ab").await.unwrap(), b"second");
    // Keys are plain relative paths; the store has no local files to offer.
    for bad in ["../x", "/x", "a//b", ""] {
        assert!(matches!(blobs.put(bad, vec![1]).await, Err(BlobError::BadKey(_))), "{bad}");
    }
    assert!(blobs.local_path("originals/ab").is_none());
    // A document's blobs in one call.
    let several =
        vec![("thumbnails/d/256.png".to_string(), b"a".to_vec()), ("thumbnails/d/1024.png".to_string(), b"b".to_vec())];
    blobs.put_all(several).await.unwrap();
    assert_eq!(blobs.get("thumbnails/d/256.png").await.unwrap(), b"a");
    assert_eq!(blobs.get("thumbnails/d/1024.png").await.unwrap(), b"b");
    // The prefix keeps runs apart in one bucket.
    let other = store(&bucket, "run-2");
    assert!(!other.exists("originals/ab").await.unwrap());
}

#[tokio::test]
async fn a_missing_bucket_is_an_error_that_says_so() {
    drop(connect());
    let blobs = store(&format!("folio-missing-{}", uuid::Uuid::new_v4().simple()), "");
    let e = blobs.put("k", vec![1]).await.expect_err("no such bucket");
    assert!(matches!(e, BlobError::Denied { .. }) && !e.is_retryable(), "{e}");
    assert!(e.to_string().contains("bucket"), "{e}");
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts_and_keys_are_listed() {
    let bucket = format!("folio-test-{}", uuid::Uuid::new_v4().simple());
    create_bucket(&bucket);
    let blobs = store(&bucket, "run-1");
    // 20 MiB and a bit: three parts of 8 MiB, the last short.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let content: Vec<u8> = (0..(20 * 1024 * 1024 + 12_345u32)).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    blobs.put_file("bundles/c/1/originals/big.bin", &file).await.unwrap();
    assert_eq!(blobs.get("bundles/c/1/originals/big.bin").await.unwrap(), content);
    let small = dir.path().join("small.json");
    std::fs::write(&small, b"{}").unwrap();
    blobs.put_file("bundles/c/1/manifest.json", &small).await.unwrap();
    blobs.put("bundles/c/2/manifest.json", b"{}".to_vec()).await.unwrap();
    assert_eq!(
        blobs.list("bundles/c/1/").await.unwrap(),
        ["bundles/c/1/manifest.json", "bundles/c/1/originals/big.bin"],
        "keys come back without the store's prefix, only under the one asked for"
    );
}

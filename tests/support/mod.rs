//! What several test files need: a catalogue of small photos, stored and in the database; the cluster's
//! processes ([`cluster`]). Each test file uses part of it.
#![allow(dead_code)]

pub mod cluster;
pub mod http;

use chrono::NaiveDate;
use folio_core::*;
use folio_store::{BlobStore, IntakeSnapshot, Store};
use uuid::Uuid;

/// A catalogue with one contribution of `n` small PNG photos (each a different size, so each its own file),
/// their originals in `blobs` and their rows in `store`. Returns the catalogue id and the documents.
pub async fn photo_catalogue(store: &dyn Store, blobs: &dyn BlobStore, n: usize) -> (Uuid, Vec<Document>) {
    photo_catalogue_with(store, blobs, n, &[]).await
}

/// [`photo_catalogue`] with `extra` files (name, content) in the same contribution.
pub async fn photo_catalogue_with(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    n: usize,
    extra: &[(&str, Vec<u8>)],
) -> (Uuid, Vec<Document>) {
    let catalogue_id = Uuid::new_v4();
    let contribution = Contribution {
        id: Uuid::new_v4(),
        chapter_key: "c".into(),
        state: "Spain".into(),
        author: "A".into(),
        title: "Photos".into(),
        kind: ContributionKind::Photograph,
        role: Role::Donor,
        modality: Modality::Bilateral,
        received: NaiveDate::from_ymd_opt(2012, 4, 1).unwrap(),
        rights: Some("CC0".into()),
        layout: None,
    };
    let mut documents = Vec::new();
    for i in 0..n {
        let img = image::RgbImage::from_pixel(8 + i as u32, 8, image::Rgb([i as u8, 0, 0]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let png = png.into_inner();
        let sha = format!("{i:064x}");
        let key = format!("originals/{sha}");
        blobs.put(&key, png.clone()).await.unwrap();
        let name = format!("photo-{i}.png");
        documents.push(Document {
            id: Document::derive_id(contribution.id, &name, &sha),
            contribution_id: contribution.id,
            file_name: name,
            sha256: sha,
            bytes: png.len() as u64,
            blob_key: key,
            state: DocumentState::Queued,
            attempts: 0,
            last_error: None,
            password: None,
        });
    }
    for (name, bytes) in extra {
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(bytes));
        let key = format!("originals/{sha}");
        blobs.put(&key, bytes.clone()).await.unwrap();
        documents.push(Document {
            id: Document::derive_id(contribution.id, name, &sha),
            contribution_id: contribution.id,
            file_name: name.to_string(),
            sha256: sha,
            bytes: bytes.len() as u64,
            blob_key: key,
            state: DocumentState::Queued,
            attempts: 0,
            last_error: None,
            password: None,
        });
    }
    store
        .sync_intake(&IntakeSnapshot {
            catalogue_id,
            config: CatalogueConfig::default(),
            source: "test".into(),
            chapters: vec![Chapter { key: "c".into(), title: "C".into(), position: 1 }],
            contributions: vec![contribution],
            documents: documents.clone(),
            findings: vec![],
        })
        .await
        .unwrap();
    (catalogue_id, documents)
}

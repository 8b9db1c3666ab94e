//! Catalogues, their intake and findings, and records: [`Catalogues`] and [`Records`] in shared SQL.

use super::*;

/// Inserts the catalogue's row or updates its settings.
async fn upsert_catalogue(
    db: &mut impl Exec,
    catalogue_id: Uuid,
    config: &CatalogueConfig,
    source: &str,
) -> Result<(), StoreError> {
    let settings = serde_json::to_string(config).map_err(corrupt)?;
    let sql = "INSERT INTO catalogues (id, title, deadline, settings, source, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, @now, @now)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, deadline = excluded.deadline,
           settings = excluded.settings, source = excluded.source, updated_at = @after(catalogues.updated_at)";
    db.execute(
        sql,
        &[
            Arg::Id(catalogue_id),
            Arg::Text(&config.title),
            Arg::Date(config.deadline),
            Arg::Json(settings),
            Arg::Text(source),
        ],
    )
    .await?;
    Ok(())
}

async fn upsert_chapter(
    db: &mut impl Exec,
    catalogue_id: Uuid,
    key: &str,
    title: &str,
    position: i64,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO chapters (catalogue_id, key, title, position) VALUES ($1, $2, $3, $4)
         ON CONFLICT (catalogue_id, key) DO UPDATE SET title = excluded.title, position = excluded.position";
    db.execute(sql, &[Arg::Id(catalogue_id), Arg::Text(key), Arg::Text(title), Arg::Int(position)]).await?;
    Ok(())
}

/// A contribution read again from the intake takes the intake's metadata.
const CONTRIBUTION_UPDATE: &str = "DO UPDATE SET chapter_key = excluded.chapter_key, state = excluded.state,
   author = excluded.author, title = excluded.title, kind = excluded.kind, role = excluded.role,
   modality = excluded.modality, received = excluded.received, rights = excluded.rights,
   layout = COALESCE(excluded.layout, contributions.layout)";

/// A document read again from the intake keeps its state, unless its password changed (told by its digest,
/// since a finished document's password is cleared): then a finished one is read again with the new one.
const DOCUMENT_PASSWORD_UPDATE: &str = "DO UPDATE SET password = excluded.password,
   password_digest = excluded.password_digest,
   state = CASE WHEN documents.state IN ('done', 'failed') THEN 'queued' ELSE documents.state END,
   attempts = CASE WHEN documents.state IN ('done', 'failed') THEN 0 ELSE documents.attempts END,
   last_error = CASE WHEN documents.state IN ('done', 'failed') THEN NULL ELSE documents.last_error END,
   updated_at = excluded.updated_at
 WHERE documents.password_digest IS DISTINCT FROM excluded.password_digest";

/// Inserts a contribution; `on_conflict` says what becomes of one already there.
async fn insert_contribution(
    db: &mut impl Exec,
    catalogue_id: Uuid,
    c: &Contribution,
    on_conflict: &str,
) -> Result<u64, StoreError> {
    db.execute(
        &format!(
            "INSERT INTO contributions (id, catalogue_id, chapter_key, state, author, title, kind, role, modality, received, rights,
               layout)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) {on_conflict}"
        ),
        &[
            Arg::Id(c.id),
            Arg::Id(catalogue_id),
            Arg::Text(&c.chapter_key),
            Arg::Text(&c.state),
            Arg::Text(&c.author),
            Arg::Text(&c.title),
            Arg::Text(c.kind.as_str()),
            Arg::Text(c.role.as_str()),
            Arg::Text(c.modality.as_str()),
            Arg::Date(Some(c.received)),
            Arg::OptText(c.rights.as_deref()),
            Arg::OptText(c.layout.map(folio_core::Layout::as_str)),
        ],
    )
    .await
}

/// Inserts a document, queued; `on_conflict` says what becomes of one already there.
async fn insert_document(db: &mut impl Exec, d: &Document, on_conflict: &str) -> Result<u64, StoreError> {
    let bytes = i64::try_from(d.bytes).map_err(|_| corrupt(format!("{}: {} bytes", d.file_name, d.bytes)))?;
    let digest = d.password.as_ref().map(|p| p.digest(d.id));
    db.execute(
        &format!(
            "INSERT INTO documents (id, contribution_id, file_name, sha256, bytes, blob_key, state, attempts, password,
               password_digest, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, @now, @now) ON CONFLICT (id) {on_conflict}"
        ),
        &[
            Arg::Id(d.id),
            Arg::Id(d.contribution_id),
            Arg::Text(&d.file_name),
            Arg::Text(&d.sha256),
            Arg::Int(bytes),
            Arg::Text(&d.blob_key),
            Arg::Text(DocumentState::Queued.as_str()),
            Arg::OptText(d.password.as_ref().map(Password::as_str)),
            Arg::OptText(digest.as_deref()),
        ],
    )
    .await
}

/// How [`delete_missing`] reads a row's id or key.
type ReadKey<Row, K> = fn(&Row) -> Result<K, StoreError>;

/// Removes the rows `select` lists (by the catalogue as `$1`; `read` takes the id or key of each) that are not
/// in `keep`, with `delete` (the catalogue as `$1`, the id or key as `$2`, bound by `bind`).
async fn delete_missing<X: Exec, K: Eq + std::hash::Hash + Sync>(
    db: &mut X,
    (select, read): (&str, ReadKey<X::Row, K>),
    (delete, bind): (&str, fn(&K) -> Arg<'_>),
    catalogue_id: Uuid,
    keep: &HashSet<K>,
) -> Result<(), StoreError> {
    let rows = db.fetch_all(select, &[Arg::Id(catalogue_id)]).await?;
    for row in rows {
        let key = read(&row)?;
        if !keep.contains(&key) {
            db.execute(delete, &[Arg::Id(catalogue_id), bind(&key)]).await?;
        }
    }
    Ok(())
}

async fn replace_findings_in(
    db: &mut impl Exec,
    catalogue_id: Uuid,
    source: FindingSource,
    findings: &[Finding],
) -> Result<(), StoreError> {
    let sql = "DELETE FROM findings WHERE catalogue_id = $1 AND source = $2";
    db.execute(sql, &[Arg::Id(catalogue_id), Arg::Text(source.as_str())]).await?;
    for f in findings {
        let sql = "INSERT INTO findings (catalogue_id, source, contribution_id, code, severity, file_name, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        db.execute(
            sql,
            &[
                Arg::Id(catalogue_id),
                Arg::Text(source.as_str()),
                Arg::OptId(f.contribution_id),
                Arg::Text(f.code.as_str()),
                Arg::Text(f.severity.as_str()),
                Arg::OptText(f.file_name.as_deref()),
                Arg::Text(&f.message),
            ],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl<E: Engine> Catalogues for SqlStore<E> {
    async fn sync_intake(&self, s: &IntakeSnapshot) -> Result<(), StoreError> {
        let cat = s.catalogue_id;
        let mut tx = self.engine.begin().await?;
        upsert_catalogue(&mut tx, cat, &s.config, &s.source).await?;
        let keep_documents: HashSet<Uuid> = s.documents.iter().map(|d| d.id).collect();
        delete_missing(
            &mut tx,
            (
                "SELECT d.id FROM documents d JOIN contributions c ON c.id = d.contribution_id WHERE c.catalogue_id = $1",
                |row| row.uuid("id"),
            ),
            (
                "DELETE FROM documents WHERE id = $2 AND contribution_id IN (SELECT id FROM contributions WHERE catalogue_id = $1)",
                |id| Arg::Id(*id),
            ),
            cat,
            &keep_documents,
        )
        .await?;
        let keep_contributions: HashSet<Uuid> = s.contributions.iter().map(|c| c.id).collect();
        delete_missing(
            &mut tx,
            ("SELECT id FROM contributions WHERE catalogue_id = $1", |row| row.uuid("id")),
            ("DELETE FROM contributions WHERE catalogue_id = $1 AND id = $2", |id| Arg::Id(*id)),
            cat,
            &keep_contributions,
        )
        .await?;
        for chapter in &s.chapters {
            upsert_chapter(&mut tx, cat, &chapter.key, &chapter.title, i64::from(chapter.position)).await?;
        }
        let keep_chapters: HashSet<String> = s.chapters.iter().map(|c| c.key.clone()).collect();
        delete_missing(
            &mut tx,
            ("SELECT key FROM chapters WHERE catalogue_id = $1", |row| row.text("key")),
            ("DELETE FROM chapters WHERE catalogue_id = $1 AND key = $2", |key| Arg::Text(key)),
            cat,
            &keep_chapters,
        )
        .await?;
        for c in &s.contributions {
            insert_contribution(&mut tx, cat, c, CONTRIBUTION_UPDATE).await?;
        }
        for d in &s.documents {
            // A document already known keeps its state and record: the same file is not processed twice.
            // Unless its password changed: then a finished document is read again with the new one.
            insert_document(&mut tx, d, DOCUMENT_PASSWORD_UPDATE).await?;
        }
        replace_findings_in(&mut tx, cat, FindingSource::Intake, &s.findings).await?;
        tx.commit().await
    }

    async fn put_catalogue(
        &self,
        catalogue_id: Uuid,
        config: &CatalogueConfig,
        source: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.engine.begin().await?;
        upsert_catalogue(&mut tx, catalogue_id, config, source).await?;
        for (i, chapter) in config.chapters.iter().enumerate() {
            let position = i64::try_from(i).map_err(corrupt)? + 1;
            upsert_chapter(&mut tx, catalogue_id, &chapter.id, &chapter.title, position).await?;
        }
        let listed: HashSet<String> = config.chapters.iter().map(|c| c.id.clone()).collect();
        delete_missing(
            &mut tx,
            (
                "SELECT key FROM chapters ch WHERE catalogue_id = $1
                   AND NOT EXISTS (SELECT 1 FROM contributions c WHERE c.catalogue_id = ch.catalogue_id AND c.chapter_key = ch.key)",
                |row| row.text("key"),
            ),
            ("DELETE FROM chapters WHERE catalogue_id = $1 AND key = $2", |key| Arg::Text(key)),
            catalogue_id,
            &listed,
        )
        .await?;
        tx.commit().await
    }

    async fn add_contribution(
        &self,
        catalogue_id: Uuid,
        c: &Contribution,
        documents: &[Document],
    ) -> Result<bool, StoreError> {
        let mut tx = self.engine.begin().await?;
        let sql = "SELECT (SELECT COUNT(*) FROM chapters WHERE catalogue_id = $1 AND key = $2) AS chapters
                 FROM catalogues WHERE id = $1";
        let chapter = tx.fetch_optional(sql, &[Arg::Id(catalogue_id), Arg::Text(&c.chapter_key)]).await?;
        match chapter.map(|row| row.int("chapters")).transpose()? {
            None => return Err(StoreError::NotFound(format!("there is no catalogue {catalogue_id}"))),
            Some(0) => return Err(StoreError::NotFound(format!("the catalogue has no chapter '{}'", c.chapter_key))),
            Some(_) => {}
        }
        let added = insert_contribution(&mut tx, catalogue_id, c, "DO NOTHING").await? == 1;
        for d in documents {
            insert_document(&mut tx, d, "DO NOTHING").await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn catalogue(&self, id: Uuid) -> Result<Option<CatalogueRow>, StoreError> {
        let row = self
            .engine
            .optional("SELECT id, title, deadline, settings, source FROM catalogues WHERE id = $1", &[Arg::Id(id)])
            .await?;
        row.as_ref().map(catalogue_from).transpose()
    }

    async fn chapters(&self, catalogue_id: Uuid) -> Result<Vec<Chapter>, StoreError> {
        // Keys compare byte by byte in both engines, whatever the database's collation.
        let sql = "SELECT key, title, position FROM chapters WHERE catalogue_id = $1 ORDER BY position, key @bytewise";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(chapter_from).collect()
    }

    async fn contributions(&self, catalogue_id: Uuid) -> Result<Vec<Contribution>, StoreError> {
        let sql =
            "SELECT c.id, c.chapter_key, c.state, c.author, c.title, c.kind, c.role, c.modality, c.received, c.rights,
                 c.layout FROM contributions c JOIN chapters ch ON ch.catalogue_id = c.catalogue_id AND ch.key = c.chapter_key
                 WHERE c.catalogue_id = $1 ORDER BY ch.position, c.@seq";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(contribution_from).collect()
    }

    async fn contribution(&self, id: Uuid) -> Result<Option<Contribution>, StoreError> {
        let sql = "SELECT c.id, c.chapter_key, c.state, c.author, c.title, c.kind, c.role, c.modality, c.received,
                     c.rights, c.layout FROM contributions c WHERE c.id = $1";
        let row = self.engine.optional(sql, &[Arg::Id(id)]).await?;
        row.as_ref().map(contribution_from).transpose()
    }

    async fn documents(&self, catalogue_id: Uuid) -> Result<Vec<Document>, StoreError> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d JOIN contributions c ON c.id = d.contribution_id
             WHERE c.catalogue_id = $1 ORDER BY d.@seq"
        );
        let rows = self.engine.all(&sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(document_from).collect()
    }

    async fn document(&self, id: Uuid) -> Result<Option<Document>, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.id = $1");
        let row = self.engine.optional(&sql, &[Arg::Id(id)]).await?;
        row.as_ref().map(document_from).transpose()
    }

    async fn replace_findings(
        &self,
        catalogue_id: Uuid,
        source: FindingSource,
        findings: &[Finding],
    ) -> Result<(), StoreError> {
        let mut tx = self.engine.begin().await?;
        replace_findings_in(&mut tx, catalogue_id, source, findings).await?;
        tx.commit().await
    }

    async fn findings(&self, catalogue_id: Uuid) -> Result<Vec<Finding>, StoreError> {
        let sql = "SELECT contribution_id, code, severity, file_name, message FROM findings WHERE catalogue_id = $1
                 ORDER BY CASE source WHEN 'intake' THEN 0 ELSE 1 END, id";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(finding_from).collect()
    }

    async fn progress(&self, catalogue_id: Uuid) -> Result<Vec<ChapterProgress>, StoreError> {
        let sql = "SELECT ch.key, ch.title, ch.position, COUNT(d.id) AS documents,
                        COUNT(d.id) FILTER (WHERE d.state IN ('done', 'failed')) AS finished,
                        COUNT(d.id) FILTER (WHERE d.state = 'failed') AS failed
                 FROM chapters ch
                 LEFT JOIN contributions c ON c.catalogue_id = ch.catalogue_id AND c.chapter_key = ch.key
                 LEFT JOIN documents d ON d.contribution_id = c.id
                 WHERE ch.catalogue_id = $1 GROUP BY ch.key, ch.title, ch.position ORDER BY ch.position, ch.key @bytewise";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(progress_from).collect()
    }

    async fn catalogue_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        let rows = self.engine.all("SELECT id FROM catalogues ORDER BY created_at, id", &[]).await?;
        rows.iter().map(|row| row.uuid("id")).collect()
    }

    async fn change_marker(&self, catalogue_id: Uuid) -> Result<String, StoreError> {
        let mut db = self.engine.conn().await?;
        let updated =
            db.fetch_optional("SELECT updated_at FROM catalogues WHERE id = $1", &[Arg::Id(catalogue_id)]).await?;
        let updated = updated.map(|row| row.time_text("updated_at")).transpose()?;
        let sql = "SELECT d.id, d.state, d.updated_at, r.created_at
                 FROM documents d JOIN contributions c ON c.id = d.contribution_id
                 LEFT JOIN records r ON r.document_id = d.id
                 WHERE c.catalogue_id = $1 ORDER BY d.@seq";
        let rows = db.fetch_all(sql, &[Arg::Id(catalogue_id)]).await?;
        let documents = rows
            .iter()
            .map(|row| {
                let id = row.uuid("id")?.to_string();
                Ok((id, row.text("state")?, row.time_text("updated_at")?, row.opt_time_text("created_at")?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(change_marker_of(updated.as_deref(), documents.into_iter()))
    }
}

#[async_trait]
impl<E: Engine> Records for SqlStore<E> {
    async fn record(&self, document_id: Uuid) -> Result<Option<RecordSummary>, StoreError> {
        let sql = "SELECT record, digest, thumbnail_key FROM records WHERE document_id = $1";
        let row = self.engine.optional(sql, &[Arg::Id(document_id)]).await?;
        row.as_ref().map(record_from).transpose()
    }

    async fn records(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, RecordSummary)>, StoreError> {
        let sql = "SELECT r.document_id, r.record, r.digest, r.thumbnail_key FROM records r
                 JOIN documents d ON d.id = r.document_id JOIN contributions c ON c.id = d.contribution_id
                 WHERE c.catalogue_id = $1 ORDER BY d.@seq";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(|r| Ok((r.uuid("document_id")?, record_from(r)?))).collect()
    }

    async fn text(&self, document_id: Uuid) -> Result<Option<String>, StoreError> {
        let row = self
            .engine
            .optional("SELECT text FROM record_texts WHERE document_id = $1", &[Arg::Id(document_id)])
            .await?;
        row.map(|row| row.text("text")).transpose()
    }

    async fn texts(&self, catalogue_id: Uuid) -> Result<Vec<(Uuid, String)>, StoreError> {
        let sql = "SELECT t.document_id, t.text FROM record_texts t
                 JOIN documents d ON d.id = t.document_id JOIN contributions c ON c.id = d.contribution_id
                 WHERE c.catalogue_id = $1 ORDER BY d.@seq";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(|row| Ok((row.uuid("document_id")?, row.text("text")?))).collect()
    }
}

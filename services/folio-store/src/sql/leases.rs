//! Documents' leases in shared SQL: claims, completions, the reconciler's sweep ([`Leases`]).

use super::*;

/// Marks a document failed when it has used its attempts and nobody holds it. `false` when another worker
/// got there first (it claimed, completed or gave up on it).
async fn give_up(engine: &impl Engine, document_id: Uuid, max_attempts: u32) -> Result<bool, StoreError> {
    let sql = "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = @now,
               password = NULL,
               last_error = 'gave up after ' || attempts || ' attempts' || COALESCE(': ' || last_error, '')
             WHERE id = $1 AND attempts >= $2 AND (state = 'queued' OR (state = 'processing' AND lease_until < @now))";
    let gave_up = engine.run(sql, &[Arg::Id(document_id), Arg::Int(i64::from(max_attempts))]).await?;
    Ok(gave_up == 1)
}

#[async_trait]
impl<E: Engine> Leases for SqlStore<E> {
    /// One conditional UPDATE: when several workers claim at once, the database lets one change the row
    /// (PostgreSQL re-checks the others' conditions against what it wrote; SQLite has one writer at a time),
    /// so the others find it held and change nothing.
    async fn claim(&self, document: Uuid, worker: &str, lease: Duration, limit: u32) -> Result<Claim, StoreError> {
        let sql = format!(
            "UPDATE documents SET state = 'processing', attempts = attempts + 1, claimed_by = $1,
               lease_until = @later($2), updated_at = @now
             WHERE id = $3 AND attempts < $4 AND (state = 'queued' OR (state = 'processing' AND lease_until < @now))
             RETURNING {DOCUMENT_RETURNING},
               (SELECT c.kind FROM contributions c WHERE c.id = documents.contribution_id) AS contribution_kind"
        );
        let args = [Arg::Text(worker), micros(lease), Arg::Id(document), Arg::Int(i64::from(limit))];
        if let Some(row) = self.engine.optional(&sql, &args).await? {
            return Ok(Claim::Granted { document: document_from(&row)?, kind: word(&row, "contribution_kind")? });
        }
        let Some(doc) = self.document(document).await? else {
            return Ok(Claim::Missing);
        };
        if doc.state.is_terminal() {
            return Ok(Claim::Finished);
        }
        if doc.attempts >= limit && give_up(&self.engine, document, limit).await? {
            return Ok(Claim::GaveUp);
        }
        Ok(Claim::Held)
    }

    async fn complete(&self, document_id: Uuid, worker: &str, r: &StoredRecord) -> Result<bool, StoreError> {
        let mut record = r.record.clone();
        record.text = None;
        let json = serde_json::to_string(&record).map_err(corrupt)?;
        let digest = serde_json::to_string(&r.digest).map_err(corrupt)?;
        let args = [
            Arg::Id(document_id),
            Arg::Text(worker),
            Arg::Json(json),
            Arg::Json(digest),
            Arg::OptText(r.thumbnail_key.as_deref()),
            Arg::Text(&r.text),
        ];
        // Three writes: the document done, its record, its text; nothing unless this worker still holds it.
        if <E::Db as Dialect>::WRITES_IN_WITH {
            // One statement, each write taking its rows from the one before: one round trip to the server
            // instead of five (BEGIN, three statements, COMMIT), atomic as any statement is.
            let sql = "WITH done AS (
                   UPDATE documents SET state = 'done', claimed_by = NULL, lease_until = NULL, last_error = NULL,
                     updated_at = @now, password = NULL
                   WHERE id = $1 AND state = 'processing' AND claimed_by = $2
                   RETURNING id),
                 recorded AS (
                   INSERT INTO records (document_id, record, digest, thumbnail_key, created_at)
                   SELECT id, $3, $4, $5, @now FROM done
                   ON CONFLICT (document_id) DO UPDATE SET record = excluded.record, digest = excluded.digest,
                     thumbnail_key = excluded.thumbnail_key, created_at = excluded.created_at
                   RETURNING document_id),
                 texts AS (
                   INSERT INTO record_texts (document_id, text) SELECT document_id, $6 FROM recorded
                   ON CONFLICT (document_id) DO UPDATE SET text = excluded.text
                   RETURNING document_id)
                 SELECT count(*) AS completed FROM texts";
            return Ok(self.engine.one(sql, &args).await?.int("completed")? == 1);
        }
        // SQLite: the three statements, each conditioned on the claim, and the transaction around them sent
        // together: one trip to the connection's thread. Within one write transaction the claim cannot change
        // between them, and the document's row is changed last: where it is, so were the record and the text.
        let held = "EXISTS (SELECT 1 FROM documents WHERE id = $1 AND state = 'processing' AND claimed_by = $2)";
        let sql = format!(
            "INSERT INTO records (document_id, record, digest, thumbnail_key, created_at)
               SELECT $1, $3, $4, $5, @now WHERE {held}
               ON CONFLICT (document_id) DO UPDATE SET record = excluded.record, digest = excluded.digest,
                 thumbnail_key = excluded.thumbnail_key, created_at = excluded.created_at;
             INSERT INTO record_texts (document_id, text) SELECT $1, $6 WHERE {held}
               ON CONFLICT (document_id) DO UPDATE SET text = excluded.text;
             UPDATE documents SET state = 'done', claimed_by = NULL, lease_until = NULL, last_error = NULL,
               updated_at = @now, password = NULL
             WHERE id = $1 AND state = 'processing' AND claimed_by = $2
             RETURNING id"
        );
        let mut db = self.engine.conn().await?;
        Ok(db.fetch_all_in_transaction(&sql, &args).await?.len() == 1)
    }

    async fn release(&self, document_id: Uuid, worker: &str, error: &str, terminal: bool) -> Result<bool, StoreError> {
        let state = if terminal { DocumentState::Failed } else { DocumentState::Queued };
        let sql = "UPDATE documents SET state = $1, claimed_by = NULL, lease_until = NULL, last_error = $2, updated_at = @now,
                   password = CASE WHEN $1 = 'failed' THEN NULL ELSE password END
                 WHERE id = $3 AND state = 'processing' AND claimed_by = $4";
        let updated = self
            .engine
            .run(sql, &[Arg::Text(state.as_str()), Arg::Text(error), Arg::Id(document_id), Arg::Text(worker)])
            .await?;
        Ok(updated == 1)
    }

    async fn give_back_unread(&self, document_id: Uuid, worker: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE documents SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = @now,
                   attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
                 WHERE id = $1 AND state = 'processing' AND claimed_by = $2";
        Ok(self.engine.run(sql, &[Arg::Id(document_id), Arg::Text(worker)]).await? == 1)
    }

    async fn renew_lease(&self, document_id: Uuid, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let sql =
            "UPDATE documents SET lease_until = @later($1) WHERE id = $2 AND state = 'processing' AND claimed_by = $3";
        let updated = self.engine.run(sql, &[micros(lease), Arg::Id(document_id), Arg::Text(worker)]).await?;
        Ok(updated == 1)
    }

    async fn reconcile(
        &self,
        lost_after: Option<Duration>,
        max_attempts: u32,
        limit: u32,
    ) -> Result<Reconciled, StoreError> {
        // Each statement re-checks its condition row by row, so a worker's claim racing a sweep is either
        // before it (the lease is live again: left alone) or after it (the document is queued: claimed).
        let mut db = self.engine.conn().await?;
        let failed = db
            .fetch_all(
                &format!(
                    "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = @now,
                       password = NULL,
                       last_error = 'gave up after ' || attempts || ' attempts: {STOPPED}' || COALESCE('; before that: ' || last_error, '')
                     WHERE state = 'processing' AND lease_until < @now AND attempts >= $1
                     RETURNING id"
                ),
                &[Arg::Int(i64::from(max_attempts))],
            )
            .await?;
        // RETURNING sees only the changed table (in SQLite): the catalogue comes through a subquery.
        let returning = "RETURNING (SELECT c.catalogue_id FROM contributions c WHERE c.id = documents.contribution_id)
                           AS catalogue_id, id";
        let mut changed = db
            .fetch_all(
                &format!(
                    "UPDATE documents SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = @now,
                       last_error = '{STOPPED}'
                     WHERE state = 'processing' AND lease_until < @now
                       AND id IN (SELECT id FROM documents WHERE state = 'processing' AND lease_until < @now
                                  ORDER BY lease_until LIMIT $1)
                     {returning}"
                ),
                &[Arg::Int(i64::from(limit))],
            )
            .await?;
        let left = i64::from(limit).saturating_sub(i64::try_from(changed.len()).unwrap_or(i64::MAX));
        if let Some(lost_after) = lost_after.filter(|_| left > 0) {
            let lost = db
                .fetch_all(
                    &format!(
                        "UPDATE documents SET updated_at = @now
                         WHERE state = 'queued' AND updated_at < @earlier($1)
                           AND id IN (SELECT id FROM documents WHERE state = 'queued' AND updated_at < @earlier($1)
                                      ORDER BY updated_at LIMIT $2)
                         {returning}"
                    ),
                    &[micros(lost_after), Arg::Int(left)],
                )
                .await?;
            changed.extend(lost);
        }
        let requeue = changed
            .iter()
            .map(|row| Ok((row.uuid("catalogue_id")?, row.uuid("id")?)))
            .collect::<Result<_, StoreError>>()?;
        let failed = failed.iter().map(|row| row.uuid("id")).collect::<Result<_, _>>()?;
        Ok(Reconciled { requeue, failed })
    }

    async fn fail_document(&self, document_id: Uuid, error: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE documents SET state = 'failed', claimed_by = NULL, lease_until = NULL, updated_at = @now,
                   password = NULL, last_error = $1
                 WHERE id = $2 AND (state = 'queued' OR (state = 'processing' AND lease_until < @now))";
        let updated = self.engine.run(sql, &[Arg::Text(error), Arg::Id(document_id)]).await?;
        Ok(updated == 1)
    }

    async fn requeue_processing(&self, catalogue_id: Uuid) -> Result<u64, StoreError> {
        self.engine.run(
                "UPDATE documents SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = @now
                 WHERE state = 'processing' AND contribution_id IN (SELECT id FROM contributions WHERE catalogue_id = $1)",
                &[Arg::Id(catalogue_id)],
            )
            .await
    }

    async fn oldest_queued_secs(&self) -> Result<Option<f64>, StoreError> {
        let row = self
            .engine
            .one("SELECT MIN(updated_at) AS oldest, @now AS now FROM documents WHERE state = 'queued'", &[])
            .await?;
        let (Some(oldest), Some(now)) = (row.opt_time("oldest")?, row.opt_time("now")?) else {
            return Ok(None);
        };
        // Milliseconds are what both engines keep.
        Ok(Some((now - oldest).num_milliseconds().max(0) as f64 / 1000.0))
    }
}

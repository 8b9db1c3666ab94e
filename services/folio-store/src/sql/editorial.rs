//! Editors' decisions and classifications, and uploads' idempotency keys, in shared SQL ([`Editorial`],
//! [`UploadKeys`]).

use super::*;

/// An editor's change (`sql` with `args`), in one transaction that also marks the catalogue changed when the
/// statement changed anything, so that its next build applies it. With `contribution`, fails with
/// [`StoreError::NotFound`] unless the catalogue has it. Returns the number of rows the statement changed.
async fn editorial_change(
    engine: &impl Engine,
    catalogue_id: Uuid,
    contribution: Option<Uuid>,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<u64, StoreError> {
    let mut tx = engine.begin().await?;
    if let Some(contribution_id) = contribution {
        let sql = "SELECT id FROM contributions WHERE id = $1 AND catalogue_id = $2";
        let known = tx.fetch_optional(sql, &[Arg::Id(contribution_id), Arg::Id(catalogue_id)]).await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("the catalogue has no contribution {contribution_id}")));
        }
    }
    let changed = tx.execute(sql, args).await?;
    if changed > 0 {
        let sql = "UPDATE catalogues SET updated_at = @after(updated_at) WHERE id = $1";
        tx.execute(sql, &[Arg::Id(catalogue_id)]).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// An editor's time, as the store keeps it.
fn decided_at(text: &str) -> Result<DateTime<Utc>, StoreError> {
    rows::text_time("decided_at", text)
}

#[async_trait]
impl<E: Engine> Editorial for SqlStore<E> {
    async fn put_decision(&self, catalogue_id: Uuid, d: &Decision) -> Result<(), StoreError> {
        let sql = "INSERT INTO decisions (contribution_id, catalogue_id, action, code, reason, decided_by, decided_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (contribution_id, action, code) DO UPDATE SET reason = excluded.reason,
                     decided_by = excluded.decided_by, decided_at = excluded.decided_at";
        let args = [
            Arg::Id(d.contribution_id),
            Arg::Id(catalogue_id),
            Arg::Text(d.action.as_str()),
            Arg::Text(d.code.map(|c| c.as_str()).unwrap_or("")),
            Arg::Text(&d.reason),
            Arg::Text(&d.decided_by),
            Arg::Time(decided_at(&d.decided_at)?),
        ];
        editorial_change(&self.engine, catalogue_id, Some(d.contribution_id), sql, &args).await?;
        Ok(())
    }

    async fn remove_decision(&self, catalogue_id: Uuid, key: DecisionKey) -> Result<bool, StoreError> {
        let sql =
            "DELETE FROM decisions WHERE catalogue_id = $1 AND contribution_id = $2 AND action = $3 AND code = $4";
        let code = key.code.map(|c| c.as_str()).unwrap_or("");
        let args =
            [Arg::Id(catalogue_id), Arg::Id(key.contribution_id), Arg::Text(key.action.as_str()), Arg::Text(code)];
        Ok(editorial_change(&self.engine, catalogue_id, None, sql, &args).await? > 0)
    }

    async fn set_layout(
        &self,
        catalogue_id: Uuid,
        contribution_id: Uuid,
        layout: Option<folio_core::Layout>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE contributions SET layout = $3 WHERE id = $1 AND catalogue_id = $2
                   AND layout IS DISTINCT FROM $3";
        let args =
            [Arg::Id(contribution_id), Arg::Id(catalogue_id), Arg::OptText(layout.map(folio_core::Layout::as_str))];
        editorial_change(&self.engine, catalogue_id, Some(contribution_id), sql, &args).await?;
        Ok(())
    }

    async fn decisions(&self, catalogue_id: Uuid) -> Result<Vec<Decision>, StoreError> {
        let sql = "SELECT contribution_id, action, code, reason, decided_by, decided_at FROM decisions
                   WHERE catalogue_id = $1 ORDER BY @seq";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(decision_from).collect()
    }

    async fn put_classification(&self, catalogue_id: Uuid, c: &ConfirmedClassification) -> Result<(), StoreError> {
        let sql =
            "INSERT INTO classifications (contribution_id, catalogue_id, areas, modality, role, decided_by, decided_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (contribution_id) DO UPDATE SET areas = excluded.areas, modality = excluded.modality,
                     role = excluded.role, decided_by = excluded.decided_by, decided_at = excluded.decided_at";
        let areas = c.areas.join(",");
        let args = [
            Arg::Id(c.contribution_id),
            Arg::Id(catalogue_id),
            Arg::Text(&areas),
            Arg::OptText(c.modality.as_deref()),
            Arg::OptText(c.role.as_deref()),
            Arg::Text(&c.decided_by),
            Arg::Time(decided_at(&c.decided_at)?),
        ];
        editorial_change(&self.engine, catalogue_id, Some(c.contribution_id), sql, &args).await?;
        Ok(())
    }

    async fn remove_classification(&self, catalogue_id: Uuid, contribution_id: Uuid) -> Result<bool, StoreError> {
        let sql = "DELETE FROM classifications WHERE catalogue_id = $1 AND contribution_id = $2";
        let args = [Arg::Id(catalogue_id), Arg::Id(contribution_id)];
        Ok(editorial_change(&self.engine, catalogue_id, None, sql, &args).await? > 0)
    }

    async fn classifications(&self, catalogue_id: Uuid) -> Result<Vec<ConfirmedClassification>, StoreError> {
        let sql = "SELECT contribution_id, areas, modality, role, decided_by, decided_at FROM classifications
                   WHERE catalogue_id = $1 ORDER BY @seq";
        let rows = self.engine.all(sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(classification_from).collect()
    }
}

#[async_trait]
impl<E: Engine> UploadKeys for SqlStore<E> {
    async fn upload_key(&self, catalogue_id: Uuid, key: &str) -> Result<Option<(String, Uuid)>, StoreError> {
        let sql = "SELECT request_sha256, contribution_id FROM upload_keys WHERE catalogue_id = $1 AND key = $2";
        let row = self.engine.optional(sql, &[Arg::Id(catalogue_id), Arg::Text(key)]).await?;
        row.map(|row| Ok((row.text("request_sha256")?, row.uuid("contribution_id")?))).transpose()
    }

    async fn remember_upload_key(&self, catalogue_id: Uuid, first_use: &UploadKey<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO upload_keys (catalogue_id, key, request_sha256, contribution_id, created_at)
                 VALUES ($1, $2, $3, $4, @now) ON CONFLICT (catalogue_id, key) DO NOTHING";
        self.engine
            .run(
                sql,
                &[
                    Arg::Id(catalogue_id),
                    Arg::Text(first_use.key),
                    Arg::Text(first_use.request_sha256),
                    Arg::Id(first_use.contribution_id),
                ],
            )
            .await?;
        Ok(())
    }
}

//! Builds and their outbox in shared SQL ([`Builds`]).

use super::*;

/// The coordinator's finished builds (those with an input stamp) whose `column` (a time it was sent
/// somewhere) is still empty, in the order they were made.
async fn done_builds_without(engine: &impl Engine, column: &'static str) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
    let sql = format!(
        "SELECT catalogue_id, {BUILD_COLUMNS} FROM builds
         WHERE state = 'done' AND input_stamp IS NOT NULL AND {column} IS NULL ORDER BY id"
    );
    let rows = engine.all(&sql, &[]).await?;
    rows.iter().map(|row| Ok((row.uuid("catalogue_id")?, build_from(row, false)?))).collect()
}

/// Notes in `column` that a build was sent somewhere (announced, delivered to the webhook), now.
async fn note_sent(
    engine: &impl Engine,
    column: &'static str,
    catalogue_id: Uuid,
    number: u32,
) -> Result<(), StoreError> {
    let sql = format!("UPDATE builds SET {column} = @now WHERE catalogue_id = $1 AND number = $2");
    engine.run(&sql, &[Arg::Id(catalogue_id), Arg::Int(i64::from(number))]).await?;
    Ok(())
}

#[async_trait]
impl<E: Engine> Builds for SqlStore<E> {
    async fn claim_build(
        &self,
        catalogue_id: Uuid,
        stamp: &str,
        coordinator: &str,
        lease: Duration,
    ) -> Result<Option<u32>, StoreError> {
        let mut tx = self.engine.begin_build_claim(catalogue_id).await?;
        let sql = "SELECT number, input_stamp, state, COALESCE(lease_until < @now, true) AS expired FROM builds
                 WHERE catalogue_id = $1 ORDER BY number DESC LIMIT 1";
        let latest = tx.fetch_optional(sql, &[Arg::Id(catalogue_id)]).await?;
        let latest = match latest {
            Some(row) => {
                Some((row.int("number")?, row.opt_text("input_stamp")?, row.text("state")?, row.bool("expired")?))
            }
            None => None,
        };
        let number = match latest {
            Some((_, _, state, false)) if state == "assembling" => None,
            Some((number, _, state, true)) if state == "assembling" => {
                let sql = "UPDATE builds SET input_stamp = $1, claimed_by = $2, lease_until = @later($3)
                     WHERE catalogue_id = $4 AND number = $5";
                tx.execute(
                    sql,
                    &[Arg::Text(stamp), Arg::Text(coordinator), micros(lease), Arg::Id(catalogue_id), Arg::Int(number)],
                )
                .await?;
                Some(number)
            }
            Some((_, Some(done), _, _)) if done == stamp => None,
            latest => {
                let number = latest.map_or(1, |(n, ..)| n + 1);
                let sql = "INSERT INTO builds (catalogue_id, number, location, manifest_sha256, created_at, input_stamp, state,
                       claimed_by, lease_until)
                     VALUES ($1, $2, '', '', @now, $3, 'assembling', $4, @later($5))";
                tx.execute(
                    sql,
                    &[Arg::Id(catalogue_id), Arg::Int(number), Arg::Text(stamp), Arg::Text(coordinator), micros(lease)],
                )
                .await?;
                Some(number)
            }
        };
        tx.commit().await?;
        number.map(|n| u32::try_from(n).map_err(|_| corrupt(format!("build number {n}")))).transpose()
    }

    async fn finish_build(&self, claimant: &str, build: &FinishedBuild<'_>) -> Result<bool, StoreError> {
        let sql =
            "UPDATE builds SET state = 'done', location = $1, manifest_sha256 = $2, contents = $3, claimed_by = NULL,
                   lease_until = NULL, created_at = @now
                 WHERE catalogue_id = $4 AND number = $5 AND state = 'assembling' AND claimed_by = $6";
        let updated = self
            .engine
            .run(
                sql,
                &[
                    Arg::Text(build.location),
                    Arg::Text(build.manifest_sha256),
                    Arg::Json(build.contents.to_string()),
                    Arg::Id(build.catalogue_id),
                    Arg::Int(i64::from(build.number)),
                    Arg::Text(claimant),
                ],
            )
            .await?;
        Ok(updated == 1)
    }

    async fn release_build(&self, catalogue_id: Uuid, number: u32, claimant: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE builds SET claimed_by = NULL, lease_until = NULL
                 WHERE catalogue_id = $1 AND number = $2 AND state = 'assembling' AND claimed_by = $3";
        let args = [Arg::Id(catalogue_id), Arg::Int(i64::from(number)), Arg::Text(claimant)];
        Ok(self.engine.run(sql, &args).await? == 1)
    }

    async fn builds(&self, catalogue_id: Uuid) -> Result<Vec<BuildRow>, StoreError> {
        let sql = format!("SELECT {BUILD_COLUMNS}, contents FROM builds WHERE catalogue_id = $1 ORDER BY number");
        let rows = self.engine.all(&sql, &[Arg::Id(catalogue_id)]).await?;
        rows.iter().map(|row| build_from(row, true)).collect()
    }

    async fn unannounced_builds(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        done_builds_without(&self.engine, "announced_at").await
    }

    async fn mark_announced(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError> {
        note_sent(&self.engine, "announced_at", catalogue_id, number).await
    }

    async fn undelivered_webhooks(&self) -> Result<Vec<(Uuid, BuildRow)>, StoreError> {
        done_builds_without(&self.engine, "webhook_delivered_at").await
    }

    async fn mark_webhook_delivered(&self, catalogue_id: Uuid, number: u32) -> Result<(), StoreError> {
        note_sent(&self.engine, "webhook_delivered_at", catalogue_id, number).await
    }
}

//! DeleteTable: removes the table from the catalog and drops its data; the response describes
//! the table as DELETING, with only the members DynamoDB's has then.
//!
//! A table being created, updated or pre-warmed (its or a global index's `WarmThroughput`
//! UPDATING, the table ACTIVE) is not deleted: ResourceInUseException, in DynamoDB's words
//! "Table: <name> is in the process of being updated." once it exists (DDB-TABLE-069, 369,
//! 370; [`crate::warm`]), or, while a stream or an index change makes it UPDATING, words that
//! name that change (DDB-TABLE-002, 119, 444; see `ops::update_rules`).
//!
//! A table with point-in-time recovery enabled leaves a `SYSTEM` backup,
//! `<table>$DeletedTableBackup`, as in DynamoDB: it keeps the table's items as they were just
//! before the deletion and its recovery log, until the recovery period has passed (see
//! [`crate::backup::DeletedTable`]). Its indexes and streams go as for any table.

use crate::api::{DeleteTableOutput, TableNameInput};
use crate::backup::{self, BackupRecord, DeletedTable, BACKUP_FORMAT};
use crate::catalog::Table;
use crate::error::{Error, Result};
use crate::ops::table_name;
use crate::ops::update_rules::{self, InFlight};
use crate::{Database, RequestContext};

/// DynamoDB's refusal of a DeleteTable while a change of table `name` is in progress.
fn being_updated(name: &str) -> Error {
    Error::in_use(update_rules::being_updated(name))
}

impl Database {
    /// DeleteTable.
    ///
    /// # Errors
    /// `ResourceNotFoundException`; `ResourceInUseException` while the table is being created or
    /// updated, or pre-warmed (the table's or a global index's `WarmThroughput` UPDATING), or,
    /// on a throttled table, while a policy or tag change is applied;
    /// `ValidationException` when deletion protection is on.
    pub fn delete_table(
        &self,
        ctx: &RequestContext,
        input: TableNameInput,
    ) -> Result<DeleteTableOutput> {
        let name = table_name(&input.table_name)?;
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let table = self.table_to_change(ctx, name)?;
        let d = table.descriptor();
        let now = self.clock.now_millis();
        match d.status(now) {
            "CREATING" => return Err(Error::in_use(format!("Table is being created: {name}"))),
            // A pre-warm leaves the table ACTIVE, yet DynamoDB refuses the deletion until it
            // completes, in the words it uses for an UPDATING table (DDB-TABLE-069; 369, 370).
            "UPDATING" => {
                return Err(match InFlight::of(&d, now, self.config.create_delay_ms) {
                    Some(busy) => busy.delete_refusal(name),
                    None => being_updated(name),
                })
            }
            _ if crate::warm::prewarming(&d, now) => return Err(being_updated(name)),
            // So is a change of the encryption key (DDB-TABLE-065, 120).
            _ if crate::sse::updating(d.sse.as_ref(), now) => return Err(being_updated(name)),
            // On a throttled table, a table policy change still being applied (about 2 s,
            // DDB-TABLE-444; DynamoDB answered this text where a tag lock was expected too).
            _ if self.table_policy_pending(&d, now) => {
                return Err(Error::in_use(format!(
                    "Table: {name} has a pending resource-based policy update."
                )))
            }
            // And, on a throttled table, a tag change (`catalog::TAG_LOCK_MS`).
            _ if self.tags_locked(&d, now) => {
                return Err(Error::in_use(format!(
                    "Table tags are being updated: {name}"
                )))
            }
            _ => {}
        }
        if d.deletion_protection {
            return Err(Error::validation(
                "Resource cannot be deleted as it is currently protected against deletion. \
                 Disable deletion protection first.",
            ));
        }
        let description = self.describe(&table, Some("DELETING"))?;
        // With point-in-time recovery, writes wait from the statistics the system backup
        // records until the table is gone. (A write that found the table before the deletion
        // may still commit into the kept items afterwards; it is logged after the deletion
        // instant, and every restore of a deleted table reads the items as of that instant.)
        let gate = d.pitr.is_some().then(|| table.write_gate.write());
        let system_backup = match &d.pitr {
            Some(_) => Some(self.deleted_table_backup(&table)?),
            None => None,
        };
        // Its streams stay readable (DISABLED) for 24 hours, as in DynamoDB; the trimmer drops
        // them once they aged out.
        self.catalog.remove_keeping(
            self.store.as_ref(),
            &d,
            self.clock.now_millis(),
            self.config.stream_retention_ms,
            system_backup.as_ref(),
        )?;
        drop(gate);
        if self.config.create_delay_ms > 0 {
            // DELETING for the create delay (`crate::deleting`).
            let now = self.clock.now_millis();
            self.deleting.insert(
                ctx.account(),
                &ctx.region,
                name,
                description.clone(),
                d.kinesis.clone(),
                now + self.config.create_delay_ms,
            );
        }
        Ok(DeleteTableOutput {
            table_description: description.into(),
        })
    }
}

impl Database {
    /// The system backup of `table`, which is being deleted with point-in-time recovery
    /// enabled: its items stay where they are. Called under the catalog's DDL lock and the
    /// table's write gate, so the backup's ItemCount and size are those of the items it keeps.
    ///
    /// # Errors
    /// Storage failures.
    fn deleted_table_backup(&self, table: &Table) -> Result<BackupRecord> {
        let d = table.descriptor();
        let pitr = d
            .pitr
            .clone()
            .ok_or_else(|| crate::pitr::unavailable(&d.name))?;
        let now = self.clock.now_millis();
        let (item_count, size_bytes) = crate::catalog::table_stats(self.store.as_ref(), &d)?;
        Ok(BackupRecord {
            format: BACKUP_FORMAT,
            arn: format!(
                "{}/backup/{now:014}-{}",
                self.table_arn(&d),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            name: backup::deleted_table_backup_name(&d.name),
            data_id: d.id,
            created_at_ms: now,
            available_at_ms: now,
            item_count,
            size_bytes,
            table: (*d).clone(),
            complete: true,
            deleted: Some(DeletedTable {
                expires_at_ms: now.saturating_add(pitr.period_ms()),
                pitr,
                deleted_at_ms: now,
            }),
        })
    }
}

//! UpdateTimeToLive and DescribeTimeToLive, and the sweep that deletes expired items (see
//! `crate::ttl` for the expiry index).

use std::ops::ControlFlow;

use binderdb_storage::{Batch, Key, Keyspace, Write};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ops::{decode, table_name, Change};
use crate::ttl::{backfill, entry_key, expiry_of, TtlDescriptor, EXPIRY_PARTITION};
use crate::{Database, RequestContext};

/// One change of TTL per table per hour, as DynamoDB allows.
const CHANGE_INTERVAL_MS: u64 = 60 * 60 * 1000;
/// Entries deleted per commit while disabling.
const INDEX_BATCH: usize = 512;

/// `TimeToLiveSpecification`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveSpecification {
    pub enabled: Option<bool>,
    pub attribute_name: Option<String>,
}

/// UpdateTimeToLive request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTimeToLiveInput {
    pub table_name: Option<String>,
    pub time_to_live_specification: Option<TimeToLiveSpecification>,
}

/// UpdateTimeToLive response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTimeToLiveOutput {
    pub time_to_live_specification: TimeToLiveSpecification,
}

/// `TimeToLiveDescription`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveDescription {
    pub time_to_live_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_name: Option<String>,
}

/// DescribeTimeToLive response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTimeToLiveOutput {
    pub time_to_live_description: TimeToLiveDescription,
}

/// DescribeTimeToLive request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTimeToLiveInput {
    pub table_name: Option<String>,
}

fn missing(member: &str) -> Error {
    Error::validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

impl Database {
    /// UpdateTimeToLive.
    ///
    /// # Errors
    /// `ResourceNotFoundException`; `ValidationException` when TTL is already in the requested
    /// state or was changed less than an hour ago (unless `Config::ttl_relax_change_limit`).
    pub fn update_time_to_live(
        &self,
        ctx: &RequestContext,
        input: UpdateTimeToLiveInput,
    ) -> Result<UpdateTimeToLiveOutput> {
        let name = table_name(&input.table_name)?;
        let spec = input
            .time_to_live_specification
            .ok_or_else(|| missing("timeToLiveSpecification"))?;
        // The specification's members are reported together, AttributeName first, with the
        // generic validator's texts (the ack-api-quirks lab's DDB-TABLE-457).
        let mut violations = Vec::new();
        let attribute_path = "timeToLiveSpecification.attributeName";
        match spec.attribute_name.as_deref() {
            None => violations.push(format!(
                "Value null at '{attribute_path}' failed to satisfy constraint: Member must not \
                 be null"
            )),
            Some("") => violations.push(format!(
                "Value '' at '{attribute_path}' failed to satisfy constraint: Member must have \
                 length greater than or equal to 1"
            )),
            Some(a) if a.chars().count() > 255 => violations.push(format!(
                "Value '{a}' at '{attribute_path}' failed to satisfy constraint: Member must \
                 have length less than or equal to 255"
            )),
            Some(_) => {}
        }
        if spec.enabled.is_none() {
            violations.push(
                "Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: \
                 Member must not be null"
                    .to_owned(),
            );
        }
        let (Some(enabled), Some(attribute), true) = (
            spec.enabled,
            spec.attribute_name.clone(),
            violations.is_empty(),
        ) else {
            let count = violations.len();
            let noun = if count == 1 { "error" } else { "errors" };
            return Err(Error::validation(format!(
                "{count} validation {noun} detected: {}",
                violations.join("; ")
            )));
        };
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let table = self.existing_table(ctx, name)?;
        let current = table.descriptor();
        let now = self.clock.now_millis();
        if current.status(now) == "CREATING" {
            // The TTL backend does not know the table yet (the ack-api-quirks lab's
            // DDB-TABLE-115, 446; ResourceInUseException near the window's end is not
            // modelled).
            return Err(Error::ResourceNotFound(format!(
                "Requested resource not found: Table: {name} not found"
            )));
        }
        let active = current.ttl.as_ref().filter(|t| t.enabled);
        // DynamoDB names the attribute TTL is on when asked to change TTL on another one. (Its
        // answer is documented for enabling; disabling by another name is refused the same way,
        // as nothing would be disabled.)
        if let Some(t) = active.filter(|t| t.attribute != attribute) {
            return Err(Error::validation(format!(
                "TimeToLive is active on a different AttributeName: current AttributeName is {}",
                t.attribute
            )));
        }
        if enabled && active.is_some() {
            return Err(Error::validation("TimeToLive is already enabled"));
        }
        if !enabled && active.is_none() {
            return Err(Error::validation("TimeToLive is already disabled"));
        }
        if !self.config.ttl_relax_change_limit
            && current
                .ttl
                .as_ref()
                .is_some_and(|t| now.saturating_sub(t.changed_ms) < CHANGE_INTERVAL_MS)
        {
            return Err(Error::validation(
                "Time to live has been modified multiple times within a fixed interval",
            ));
        }
        let mut next = (*current).clone();
        next.ttl = Some(TtlDescriptor {
            attribute: attribute.clone(),
            enabled,
            changed_ms: now,
        });
        if enabled {
            // The backfill's record first: a restart before the descriptor finds a record
            // whose enabling never happened, and drops it.
            self.store.commit(Batch {
                writes: vec![backfill::start_write(current.id, now)],
                guards: Vec::new(),
            })?;
        }
        let table = {
            // No write decided with the old settings commits after the new ones are in place:
            // from here on every write keeps (or no longer keeps) its item's expiry entry.
            let _gate = table.write_gate.write();
            self.catalog.put(self.store.as_ref(), next)?
        };
        if enabled {
            // The items that exist are indexed in the background, while writes go on.
            self.start_ttl_backfill(&table.descriptor(), None);
        } else {
            self.drop_expiries(current.id)?;
        }
        Ok(UpdateTimeToLiveOutput {
            time_to_live_specification: TimeToLiveSpecification {
                enabled: Some(enabled),
                attribute_name: Some(attribute),
            },
        })
    }

    /// DescribeTimeToLive.
    ///
    /// # Errors
    /// `ResourceNotFoundException`.
    pub fn describe_time_to_live(
        &self,
        ctx: &RequestContext,
        input: DescribeTimeToLiveInput,
    ) -> Result<DescribeTimeToLiveOutput> {
        let name = table_name(&input.table_name)?;
        let d = self
            .existing_table(ctx, name)
            .map_err(|missing| {
                if self.is_deleting(ctx, name) {
                    // DDB-TABLE-100, 118 (`crate::deleting`).
                    Error::validation(
                        "Cannot describe time to live while table is in DELETING state: Current \
                         table state is DELETING",
                    )
                } else {
                    missing
                }
            })?
            .descriptor();
        if d.status(self.clock.now_millis()) == "CREATING" {
            return Err(Error::validation(
                "Cannot describe time to live while table is in CREATING state: Current table \
                 state is CREATING",
            ));
        }
        let enabled = d.ttl.as_ref().filter(|t| t.enabled);
        Ok(DescribeTimeToLiveOutput {
            time_to_live_description: TimeToLiveDescription {
                time_to_live_status: if enabled.is_some() {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
                .to_owned(),
                attribute_name: enabled.map(|t| t.attribute.clone()),
            },
        })
    }

    /// Starts (or, after a restart, resumes after `after`) the backfill of the expiry entries of
    /// the items `table` held when its TTL was enabled.
    pub(crate) fn start_ttl_backfill(
        &self,
        table: &crate::catalog::TableDescriptor,
        after: Option<(Vec<u8>, Vec<u8>)>,
    ) {
        self.starter().ttl_backfill(table, after);
    }

    /// Deletes every expiry entry of table `id` (TTL disabled).
    fn drop_expiries(&self, id: u64) -> Result<()> {
        loop {
            let mut writes = Vec::with_capacity(INDEX_BATCH);
            self.store.range(
                &binderdb_storage::PartitionRange {
                    keyspace: Keyspace::Ttl,
                    table: id,
                    partition: EXPIRY_PARTITION,
                    lower: std::ops::Bound::Unbounded,
                    upper: std::ops::Bound::Unbounded,
                    reverse: false,
                },
                &mut |e| {
                    writes.push(Write::Delete {
                        key: Key {
                            keyspace: Keyspace::Ttl,
                            table: id,
                            partition: EXPIRY_PARTITION.to_vec(),
                            sort: e.sort.to_vec(),
                        },
                    });
                    if writes.len() >= INDEX_BATCH {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            )?;
            if writes.is_empty() {
                return Ok(());
            }
            self.store.commit(Batch {
                writes,
                guards: Vec::new(),
            })?;
        }
    }

    /// One sweep: deletes the expired items of every table with TTL enabled, at most
    /// `Config::ttl_sweep_batch` per table; returns how many it deleted. The background sweeper
    /// calls it every `Config::ttl_sweep_interval_ms`.
    ///
    /// # Errors
    /// Storage failures.
    pub fn sweep_expired(&self) -> Result<usize> {
        // On a store shared by several nodes one of them sweeps (see `crate::jobs`); the
        // guarded deletes below make an overlap at a handover harmless.
        if !crate::jobs::mine(self.store.as_ref(), "ttl-sweep") {
            return Ok(0);
        }
        let now_secs = self.clock.now_millis() / 1000;
        let mut deleted = 0;
        for table in self.catalog.all() {
            let d = table.descriptor();
            let Some(ttl) = d.ttl.as_ref().filter(|t| t.enabled) else {
                continue;
            };
            let attribute = ttl.attribute.clone();
            let batch = self.config.ttl_sweep_batch.max(1);
            let cursor = self.ttl_cursors.lock().get(&d.id).cloned();
            let due = crate::ttl::due(
                self.store.as_ref(),
                d.id,
                now_secs,
                batch,
                cursor.as_deref(),
            )?;
            match due.last() {
                Some((at, key)) if due.len() >= batch => {
                    self.ttl_cursors
                        .lock()
                        .insert(d.id, entry_key(d.id, key, *at).sort);
                }
                _ => {
                    self.ttl_cursors.lock().remove(&d.id);
                }
            }
            // The whole batch goes in one commit under the items' latches; on a store without
            // latches, an item written meanwhile (`Conflict`) sends the batch through the
            // one-item path instead.
            if !d.has_local_indexes() {
                if let Some(n) = self.expire_together(&table, &due, now_secs, &attribute)? {
                    self.count_ttl_deletes(&table, n);
                    deleted += n;
                    continue;
                }
            }
            let mut deleted_here = 0;
            for (at, key) in due {
                let outcome = self.write_item(&table, &key, &mut |current| {
                    // Re-checked on the item as it is now: a later write may have moved its TTL.
                    match current.and_then(|item| expiry_of(item, &attribute)) {
                        Some(at) if at <= now_secs => Ok(Change::Expire),
                        _ => Err(Error::Internal("not expired".to_owned())),
                    }
                });
                match outcome {
                    Ok(_) => deleted_here += 1,
                    // Held by a transaction: the next pass sees it again.
                    Err(Error::TransactionConflict(_)) => {}
                    // No longer expired: the entry is stale (its item moved on); it goes, so
                    // that it can never hold the sweeper back.
                    Err(Error::Internal(_)) => self.drop_stale_entry(d.id, &key, at, &attribute)?,
                    Err(e) => {
                        self.count_ttl_deletes(&table, deleted_here);
                        return Err(e);
                    }
                }
            }
            self.count_ttl_deletes(&table, deleted_here);
            deleted += deleted_here;
        }
        Ok(deleted)
    }

    /// Counts `n` items the sweeper deleted from `table` (TimeToLiveDeletedItemCount).
    fn count_ttl_deletes(&self, table: &crate::catalog::Table, n: usize) {
        if n > 0 {
            self.table_capacity(table)
                .metrics
                .count_ttl_deleted(n as u64);
        }
    }

    /// Deletes the expired items among `due` of `table` in one commit, read and planned under
    /// the latches of every item ([`binderdb_storage::Store::read_modify_write_many`], the
    /// one-item path's latch, batched): returns how many, or `None` when the store could not
    /// keep the items still (`Conflict`) and nothing was written. Items held by a transaction
    /// are left for a later pass; stale entries are dropped.
    ///
    /// # Errors
    /// Storage failures; undecodable items.
    fn expire_together(
        &self,
        table: &crate::catalog::Table,
        due: &[(u64, Key)],
        now_secs: u64,
        attribute: &str,
    ) -> Result<Option<usize>> {
        // Which entries are stale, the decided deletes, or the first error: from the last call
        // of the closure.
        let mut stale = Vec::new();
        let mut decided = Vec::with_capacity(due.len());
        let mut failed = None;
        {
            // Held until the commit, as by every write: the index set cannot change under it.
            let _gate = table.write_gate.read();
            let descriptor = table.descriptor();
            let keys: Vec<Key> = due.iter().map(|(_, key)| key.clone()).collect();
            let committed = self.store.read_modify_write_many(&keys, &mut |current| {
                stale.clear();
                decided.clear();
                failed = None;
                let mut writes = Vec::new();
                for ((at, key), current) in due.iter().zip(current) {
                    // A transaction holding it (or taking its hold after this check, whose own
                    // guard then sees this commit) is left alone.
                    if self.txn.holds.is_held(key) {
                        continue;
                    }
                    let Some(current) = current else {
                        stale.push((*at, key));
                        continue;
                    };
                    let planned = decode(&current.value).and_then(|item| {
                        if expiry_of(&item, attribute).is_none_or(|e| e > now_secs) {
                            return Ok(None);
                        }
                        self.plan_write(
                            &descriptor,
                            key,
                            (Some(item), Some(current.version)),
                            Change::Expire,
                            None,
                        )
                        .map(Some)
                    });
                    match planned {
                        Ok(Some(planned)) => {
                            writes.extend(planned.writes);
                            decided.push((key, planned.decided));
                        }
                        Ok(None) => stale.push((*at, key)),
                        Err(e) => {
                            failed = Some(e);
                            return None;
                        }
                    }
                }
                (!writes.is_empty()).then(|| Batch {
                    writes,
                    guards: Vec::new(),
                })
            });
            match committed {
                Ok(_) => {}
                Err(binderdb_storage::StorageError::Conflict) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let n = decided.len();
        for (key, decided) in decided {
            self.settle_write(table, key, decided);
        }
        for (at, key) in stale {
            self.drop_stale_entry(table.descriptor().id, key, at, attribute)?;
        }
        Ok(Some(n))
    }

    /// Deletes the expiry entry of the item at `key` expiring at `at`, unless the item (read
    /// under its latch, where every write keeps its entry) expires at exactly that time.
    fn drop_stale_entry(&self, table: u64, key: &Key, at: u64, attribute: &str) -> Result<()> {
        let entry = entry_key(table, key, at);
        self.store.read_modify_write(key, &mut |current| {
            let expiry = current
                .and_then(|v| decode(&v.value).ok())
                .and_then(|item| expiry_of(&item, attribute));
            (expiry != Some(at)).then(|| Batch {
                writes: vec![Write::Delete { key: entry.clone() }],
                guards: Vec::new(),
            })
        })?;
        Ok(())
    }
}

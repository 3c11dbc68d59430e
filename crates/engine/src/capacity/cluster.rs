//! The bill of several nodes: when binderdb nodes share one store (a RADOS pool), each meters
//! the requests it serves, so a table's consumption is the sum over the nodes.
//!
//! Every node keeps a *usage record* in the store (catalog keyspace, partition
//! [`USAGE_PARTITION`], one key per node process): per table it metered, the table as last
//! seen, the node's totals and per-minute figures. A node asked for the bill saves its own
//! record, asks every live node to save theirs ([`BILL_TOPIC`]: the announcement returns once
//! each has), reads all records and sums them per table. What belongs to the table rather
//! than to a node (provisioned unit-hours, storage) is priced once, from the earliest start of
//! metering among the nodes. Records of stopped nodes stay, so the bill covers every node that
//! has served the pool (a node killed without warning loses what it metered since it last
//! saved its record: at most the last 30 seconds).
//!
//! `/metrics` stays per node: Prometheus scrapes each node, and sums over them itself.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use binderdb_storage::{Batch, Key, Keyspace, PartitionRange, Store, Write};
use serde::{Deserialize, Serialize};

use super::bill::Registry;
use super::meter::{Minute, Totals};
use crate::catalog::{TableDescriptor, CATALOG_TABLE};
use crate::error::{Error, Result};

/// The catalog partition holding the nodes' usage records.
pub(crate) const USAGE_PARTITION: &[u8] = b"#usage";
/// Announced to make every live node save its usage record.
pub(crate) const BILL_TOPIC: &[u8] = b"bill";
/// Format of a usage record.
const USAGE_FORMAT: u32 = 1;
/// How often a node saves its usage record unasked.
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// What one node metered on one table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TableUsage {
    /// The table as the node last saw it.
    pub descriptor: TableDescriptor,
    /// When the node started metering it, ms.
    pub started_ms: u64,
    /// The table's totals (local indexes included).
    pub totals: Totals,
    /// Each index's totals.
    pub indexes: BTreeMap<String, Totals>,
    /// Per-minute figures, oldest first.
    pub minutes: Vec<Minute>,
}

/// A node's usage record.
#[derive(Debug, Serialize, Deserialize)]
struct NodeUsage {
    format: u32,
    tables: Vec<TableUsage>,
}

fn record_key(node: u64) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: USAGE_PARTITION.to_vec(),
        sort: node.to_be_bytes().to_vec(),
    }
}

/// Saves this node's usage record.
///
/// # Errors
/// Storage failures.
pub(crate) fn save(store: &dyn Store, registry: &Registry, now_ms: u64) -> Result<()> {
    let record = NodeUsage {
        format: USAGE_FORMAT,
        tables: registry.usage(now_ms),
    };
    let value = serde_json::to_vec(&record).map_err(|e| Error::Internal(e.to_string()))?;
    store.commit(Batch {
        writes: vec![Write::Put {
            key: record_key(registry.node()),
            value,
        }],
        guards: Vec::new(),
    })?;
    Ok(())
}

/// Keeps this node's usage record in the store (on a shared store): saved whenever another
/// node asks for the bill, every [`SAVE_EVERY`] (what a node killed without warning can lose),
/// and when the database closes.
///
/// # Errors
/// The store's refusal to subscribe.
pub(crate) fn start(db: &crate::Database) -> Result<()> {
    let (weak, registry, clock) = (
        Arc::downgrade(&db.store),
        Arc::clone(&db.capacity),
        Arc::clone(&db.clock),
    );
    db.store.subscribe(Arc::new(move |topic: Option<&[u8]>| {
        if topic != Some(BILL_TOPIC) {
            return;
        }
        let Some(store) = weak.upgrade() else { return };
        if let Err(e) = save(store.as_ref(), &registry, clock.now_millis()) {
            tracing::warn!(error = %e, "saving this node's usage for another node's bill");
        }
    }))?;
    let (store, registry, clock) = (
        Arc::clone(&db.store),
        Arc::clone(&db.capacity),
        Arc::clone(&db.clock),
    );
    db.workers.spawn("usage-record", move |stop| {
        let tick = std::time::Duration::from_millis(100);
        let mut since = std::time::Duration::ZERO;
        loop {
            let stopping = stop.load(std::sync::atomic::Ordering::Relaxed);
            if stopping || since >= SAVE_EVERY {
                since = std::time::Duration::ZERO;
                if let Err(e) = save(store.as_ref(), &registry, clock.now_millis()) {
                    tracing::warn!(error = %e, "saving this node's usage");
                }
            }
            if stopping {
                return;
            }
            std::thread::sleep(tick);
            since += tick;
        }
    });
    Ok(())
}

/// Every node's usage summed per table: `local` (this node's, saved first), then what other
/// nodes metered, fresh from every live node.
///
/// # Errors
/// Storage failures or an undecodable record.
pub(crate) fn cluster_usage(
    store: &dyn Store,
    registry: &Registry,
    local: Vec<TableUsage>,
    now_ms: u64,
) -> Result<Vec<TableUsage>> {
    save(store, registry, now_ms)?;
    if let Err(e) = store.announce(BILL_TOPIC) {
        // The other nodes' records are then as they last saved them.
        tracing::warn!(error = %e, "asking the other nodes for their usage");
    }
    let mine = registry.node().to_be_bytes();
    let mut others = Vec::new();
    let mut failure = None;
    let range = PartitionRange {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: USAGE_PARTITION,
        lower: std::ops::Bound::Unbounded,
        upper: std::ops::Bound::Unbounded,
        reverse: false,
    };
    store.range(&range, &mut |entry| {
        if entry.sort == mine {
            return ControlFlow::Continue(());
        }
        match serde_json::from_slice::<NodeUsage>(entry.value) {
            Ok(record) if record.format == USAGE_FORMAT => {
                others.extend(record.tables);
                ControlFlow::Continue(())
            }
            Ok(record) => {
                failure = Some(Error::Internal(format!(
                    "unknown usage record format {}",
                    record.format
                )));
                ControlFlow::Break(())
            }
            Err(e) => {
                failure = Some(Error::Internal(format!("corrupt usage record: {e}")));
                ControlFlow::Break(())
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(merge(local, others))
}

/// `local` with `others` added per table id; tables only others metered come after, in the
/// order met. A table's descriptor is this node's view when it has one.
fn merge(local: Vec<TableUsage>, others: Vec<TableUsage>) -> Vec<TableUsage> {
    let mut merged = local;
    let mut at: BTreeMap<u64, usize> = merged
        .iter()
        .enumerate()
        .map(|(i, u)| (u.descriptor.id, i))
        .collect();
    for other in others {
        let Some(&i) = at.get(&other.descriptor.id) else {
            at.insert(other.descriptor.id, merged.len());
            merged.push(other);
            continue;
        };
        let mine = &mut merged[i];
        mine.started_ms = mine.started_ms.min(other.started_ms);
        mine.totals.add(&other.totals);
        for (name, totals) in &other.indexes {
            mine.indexes.entry(name.clone()).or_default().add(totals);
        }
        let mut minutes: BTreeMap<u64, Minute> = std::mem::take(&mut mine.minutes)
            .into_iter()
            .map(|m| (m.minute, m))
            .collect();
        for m in other.minutes {
            match minutes.get_mut(&m.minute) {
                Some(existing) => {
                    existing.totals.add(&m.totals);
                    for (name, totals) in &m.indexes {
                        existing
                            .indexes
                            .entry(name.clone())
                            .or_default()
                            .add(totals);
                    }
                }
                None => {
                    minutes.insert(m.minute, m);
                }
            }
        }
        mine.minutes = minutes.into_values().collect();
    }
    merged
}

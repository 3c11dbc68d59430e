//! Tables being deleted. DynamoDB answers DeleteTable with the table DELETING and keeps it so
//! for a few seconds (4–6 s in the ack-api-quirks lab's DDB-TABLE-006, 008, 104, 374, 455);
//! binderdb keeps it so for `Config::create_delay_ms` (nothing at the default 0), as it keeps
//! new tables CREATING. Meanwhile, as in DynamoDB:
//! - DescribeTable describes it, DELETING; ListTables lists it;
//! - DeleteTable and UpdateTable are ResourceInUseException "Attempt to change a resource which
//!   is still in use: Table is being deleted: T";
//! - CreateTable of the name is ResourceInUseException "Table already exists: T", a restore
//!   into it TableAlreadyExistsException;
//! - DescribeTimeToLive is "Cannot describe time to live while table is in DELETING state:
//!   Current table state is DELETING";
//! - DescribeKinesisStreamingDestination lists its destinations as they were, and the other
//!   Kinesis operations refuse to change them (`ops::kinesis`).
//!
//! Everything else finds no table (its items and indexes are gone at once, as before). The
//! window lives in this process's memory: a restart, or another node of a shared store, sees
//! the table gone.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::api::TableDescription;
use crate::kinesis::KinesisDestination;

/// (account, region, name) of a table.
type Name = (Option<String>, String, String);

/// A table DELETING: what DeleteTable left of it, and until when.
#[derive(Debug)]
struct Gone {
    description: TableDescription,
    /// Its Kinesis streaming destinations.
    kinesis: Vec<KinesisDestination>,
    until_ms: u64,
}

/// The tables deleted less than the create delay ago, with their description as DeleteTable
/// left them.
#[derive(Debug, Default)]
pub(crate) struct Deleting {
    tables: Mutex<HashMap<Name, Gone>>,
}

impl Deleting {
    /// Records the table `name` DELETING until `until_ms`, described by `description`, with
    /// its Kinesis destinations `kinesis`.
    pub(crate) fn insert(
        &self,
        account: Option<&str>,
        region: &str,
        name: &str,
        description: TableDescription,
        kinesis: Vec<KinesisDestination>,
        until_ms: u64,
    ) {
        let key = (
            account.map(str::to_owned),
            region.to_owned(),
            name.to_owned(),
        );
        let gone = Gone {
            description,
            kinesis,
            until_ms,
        };
        self.tables.lock().insert(key, gone);
    }

    /// The description of the table `name` if it is DELETING at `now_ms`.
    pub(crate) fn get(
        &self,
        account: Option<&str>,
        region: &str,
        name: &str,
        now_ms: u64,
    ) -> Option<TableDescription> {
        self.with(account, region, name, now_ms, |g| g.description.clone())
    }

    /// The Kinesis destinations of the table `name` if it is DELETING at `now_ms`.
    pub(crate) fn kinesis(
        &self,
        account: Option<&str>,
        region: &str,
        name: &str,
        now_ms: u64,
    ) -> Option<Vec<KinesisDestination>> {
        self.with(account, region, name, now_ms, |g| g.kinesis.clone())
    }

    /// `read` of the table `name` if it is DELETING at `now_ms`.
    fn with<T>(
        &self,
        account: Option<&str>,
        region: &str,
        name: &str,
        now_ms: u64,
        read: impl FnOnce(&Gone) -> T,
    ) -> Option<T> {
        let mut tables = self.tables.lock();
        tables.retain(|_, g| now_ms < g.until_ms);
        let key = (
            account.map(str::to_owned),
            region.to_owned(),
            name.to_owned(),
        );
        tables.get(&key).map(read)
    }

    /// The names of the tables of `account` in `region` DELETING at `now_ms`.
    pub(crate) fn names(&self, account: Option<&str>, region: &str, now_ms: u64) -> Vec<String> {
        let mut tables = self.tables.lock();
        tables.retain(|_, g| now_ms < g.until_ms);
        tables
            .keys()
            .filter(|(a, r, _)| a.as_deref() == account && r == region)
            .map(|(_, _, n)| n.clone())
            .collect()
    }
}

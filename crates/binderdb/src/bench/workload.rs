//! What the bench asks for: the workloads, the bench table's items and the request bodies.
//!
//! The table has a string partition key `pk`, a number sort key `sk` and a `payload` string
//! sized so each item is about `--item-size` bytes by DynamoDB's item-size rules. Preloaded item
//! `i` lives at `pk = p<i / 10>`, `sk = i % 10`: ten items per partition, so `query` reads one
//! whole partition. Bodies are JSON text built directly (keys are ASCII letters and digits, the
//! table name is JSON-escaped once), which keeps the generator cheap next to the server.
//!
//! The index workloads (`index-put`, `index-query`) use a table with two local and two global
//! secondary indexes ([`KeySpace::create_table_body`] lists them). Their items carry the index
//! key attributes, derived from the item's number `i` and a *generation* `m` (the preload writes
//! generation `i`; each `index-put` writes a generation never used before):
//! - `lsk1 = "m<m>"` (LSI `lsi1`, KEYS_ONLY) and `lsk2 = m` (LSI `lsi2`, ALL);
//! - `gpk = "g<i mod partitions>"`, `gsk = m` (GSI `gsi1`, ALL): every `gsi1` partition holds
//!   the ten items `i` with the same `i mod partitions`, each from a different table partition,
//!   so an `index-query` returns ten items, as a `query` does, however many puts have run;
//! - `gpk2 = "m<m>"` (GSI `gsi2`, KEYS_ONLY).
//!
//! So every `index-put` of an existing item moves the item's entry in all four indexes: each
//! old entry is deleted and a new one put. Their twins, to compare against with the very same
//! items: `overwrite` sends the same PutItem stream to a table without indexes, and
//! `index-table-query` queries a partition of the indexed table itself (ten items).
//!
//! Key types: [`Workload`], [`KeySpace`], [`Generator`].

use std::sync::Arc;

use super::client::{Operation, Reply};

/// Items per partition in the preloaded data (and in `put`'s and `txn`'s new items).
pub const ITEMS_PER_PARTITION: u64 = 10;
/// Puts in one `txn` transaction.
pub const TXN_ITEMS: u64 = 4;
/// Accounts of the `transfer` workload: few, so transfers contend for them.
pub const HOT_ACCOUNTS: u64 = 10;
/// Scan page size.
const SCAN_LIMIT: u32 = 100;
/// The GSI that `index-query` reads.
pub const QUERIED_INDEX: &str = "gsi1";
/// Generations of `index-put` start above every preloaded item's generation (its number), and
/// each connection has a range of its own.
const GENERATIONS_PER_CONNECTION: u64 = 1_000_000_000_000;

/// A load pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// PutItem of new, distinct items.
    Put,
    /// PutItem of new, distinct items on a table with a NEW_AND_OLD_IMAGES stream (`put`'s
    /// twin: what a stream record costs a write).
    StreamPut,
    /// GetItem of random preloaded keys.
    Get,
    /// Query of one random partition (`pk = :p`, ten items).
    Query,
    /// Paginated full Scan, 100 items a page, restarting at the end.
    Scan,
    /// Half GetItem, half PutItem over the preloaded keys.
    Mix,
    /// TransactWriteItems putting four new, distinct items (an operation is one transaction).
    Txn,
    /// TransactWriteItems moving 1 from one of 10 hot accounts to another (`ADD balance`, no
    /// condition): a contention benchmark, where every TransactionCanceledException is a
    /// TransactionConflict.
    Transfer,
    /// PutItem replacing random preloaded items with `index-put`'s items, on a table without
    /// indexes (`index-put`'s twin).
    Overwrite,
    /// PutItem replacing random preloaded items of a table with 2 GSIs and 2 LSIs, moving the
    /// item's key in all four indexes.
    IndexPut,
    /// Query of one random partition of a GSI (`gpk = :g`, ten items, projection ALL).
    IndexQuery,
    /// Query of one random table partition of the `index-query` table (`pk = :p`, ten items;
    /// `index-query`'s twin).
    IndexTableQuery,
    /// PartiQL `SELECT * ... WHERE pk = ? AND sk = ?` of random preloaded keys (`get`'s twin).
    Select,
    /// PartiQL `INSERT INTO ... VALUE {...}` of new, distinct items (`put`'s twin).
    Insert,
}

/// What the bench table and its items look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableShape {
    /// Items of a key and a payload, no indexes.
    Plain,
    /// Items with the index key attributes, in a table without indexes.
    IndexItems,
    /// Items with the index key attributes, in a table with the two LSIs and two GSIs.
    Indexed,
    /// Plain items, in a table with a NEW_AND_OLD_IMAGES stream.
    Streamed,
}

impl Workload {
    /// The name used on the command line and in the JSON line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::StreamPut => "stream-put",
            Workload::Get => "get",
            Workload::Query => "query",
            Workload::Scan => "scan",
            Workload::Mix => "mix",
            Workload::Txn => "txn",
            Workload::Transfer => "transfer",
            Workload::Overwrite => "overwrite",
            Workload::IndexPut => "index-put",
            Workload::IndexQuery => "index-query",
            Workload::IndexTableQuery => "index-table-query",
            Workload::Select => "select",
            Workload::Insert => "insert",
        }
    }

    /// Whether the workload reads or replaces preloaded items (`put`, `txn` and `transfer`
    /// write their own).
    pub fn needs_preload(self) -> bool {
        !matches!(
            self,
            Workload::Put
                | Workload::StreamPut
                | Workload::Txn
                | Workload::Transfer
                | Workload::Insert
        )
    }

    /// Whether the workload sends transactions (the run starts with one probe transaction).
    pub fn transactional(self) -> bool {
        matches!(self, Workload::Txn | Workload::Transfer)
    }

    /// The table and items the workload uses.
    pub fn shape(self) -> TableShape {
        match self {
            Workload::IndexPut | Workload::IndexQuery | Workload::IndexTableQuery => {
                TableShape::Indexed
            }
            Workload::Overwrite => TableShape::IndexItems,
            Workload::StreamPut => TableShape::Streamed,
            _ => TableShape::Plain,
        }
    }
}

/// The bench table and its items: names, sizes, and the JSON of every request body.
#[derive(Debug)]
pub struct KeySpace {
    /// The table name as a JSON string literal, quotes included.
    table_json: String,
    /// The table name as a PartiQL quoted identifier.
    table_partiql: String,
    items: u64,
    item_size: usize,
    /// `item_size` letters; a payload is a prefix of it.
    payload: String,
    /// Payloads of random letters, one string per item, instead of a prefix of `payload`.
    random_payload: bool,
    shape: TableShape,
    /// The `exp` (TTL) attribute of plain preloaded items, if any.
    expire_at: Option<u64>,
}

impl KeySpace {
    /// The key space of `items` preloaded items of about `item_size` bytes in `table`, shaped
    /// as `shape` says.
    pub fn new(table: &str, items: u64, item_size: usize, shape: TableShape) -> KeySpace {
        let payload = (0..item_size)
            .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap_or(0)))
            .collect();
        KeySpace {
            table_json: serde_json::Value::from(table).to_string(),
            table_partiql: format!("\"{}\"", table.replace('"', "\"\"")),
            items,
            item_size,
            payload,
            random_payload: false,
            shape,
            expire_at: None,
        }
    }

    /// The same key space whose items carry payloads of random lowercase letters, a different
    /// string for every key (the same for a key each time): LZ4 finds almost nothing to
    /// compress in them, so the bytes on disk follow the item sizes, where the default payload
    /// (one repeated alphabet) compresses about tenfold once compacted.
    pub fn with_random_payload(self, random_payload: bool) -> KeySpace {
        KeySpace {
            random_payload,
            ..self
        }
    }

    /// The same key space whose plain preloaded items carry `exp` = `expire_at` (epoch seconds).
    pub fn expiring_at(self, expire_at: Option<u64>) -> KeySpace {
        KeySpace { expire_at, ..self }
    }

    /// Whether the table has the secondary indexes.
    pub fn indexed(&self) -> bool {
        self.shape == TableShape::Indexed
    }

    /// How many partitions the preloaded items fill (also the number of `gsi1` partitions).
    fn partitions(&self) -> u64 {
        self.items.div_ceil(ITEMS_PER_PARTITION).max(1)
    }

    /// How many items the preload writes.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// The key of preloaded item `index`.
    pub fn preloaded_key(index: u64) -> (String, u64) {
        (
            format!("p{:09}", index / ITEMS_PER_PARTITION),
            index % ITEMS_PER_PARTITION,
        )
    }

    /// `{"TableName":..,"Item":..}` for a PutItem.
    pub fn put_body(&self, pk: &str, sk: u64) -> String {
        format!(
            r#"{{"TableName":{},"Item":{}}}"#,
            self.table_json,
            self.item_json(pk, sk, &[])
        )
    }

    /// A PutItem replacing preloaded item `index` with its `generation` (unless the items are
    /// plain, index key values of that generation).
    pub fn replace_body(&self, index: u64, generation: u64) -> String {
        format!(
            r#"{{"TableName":{},"Item":{}}}"#,
            self.table_json,
            self.preloaded_item_json(index, generation)
        )
    }

    /// A TransactWriteItems putting the items at `keys`.
    pub fn transact_put_body(&self, keys: &[(String, u64)]) -> String {
        let puts: Vec<String> = keys
            .iter()
            .map(|(pk, sk)| {
                format!(
                    r#"{{"Put":{{"TableName":{},"Item":{}}}}}"#,
                    self.table_json,
                    self.item_json(pk, *sk, &[])
                )
            })
            .collect();
        format!(r#"{{"TransactItems":[{}]}}"#, puts.join(","))
    }

    /// A TransactWriteItems moving 1 from hot account `from` to hot account `to`.
    pub fn transfer_body(&self, from: u64, to: u64) -> String {
        let add = |account: u64, delta: i64| {
            format!(
                r#"{{"Update":{{"TableName":{},"Key":{{"pk":{{"S":"acct{account}"}},"sk":{{"N":"0"}}}},"UpdateExpression":"ADD balance :d","ExpressionAttributeValues":{{":d":{{"N":"{delta}"}}}}}}}}"#,
                self.table_json
            )
        };
        format!(r#"{{"TransactItems":[{},{}]}}"#, add(from, -1), add(to, 1))
    }

    /// `{"TableName":..,"Key":..}` for a GetItem.
    pub fn get_body(&self, pk: &str, sk: u64) -> String {
        format!(
            r#"{{"TableName":{},"Key":{{"pk":{{"S":"{pk}"}},"sk":{{"N":"{sk}"}}}}}}"#,
            self.table_json
        )
    }

    /// A PartiQL SELECT of the item at (`pk`, `sk`): one statement text, the key as
    /// Parameters, as applications send it.
    pub fn select_body(&self, pk: &str, sk: u64) -> String {
        let statement = format!(
            "SELECT * FROM {} WHERE pk = ? AND sk = ?",
            self.table_partiql
        );
        format!(
            r#"{{"Statement":{},"Parameters":[{{"S":"{pk}"}},{{"N":"{sk}"}}]}}"#,
            serde_json::Value::from(statement)
        )
    }

    /// A PartiQL INSERT of the item `put_body` would put, its values as Parameters.
    pub fn insert_body(&self, pk: &str, sk: u64) -> String {
        let statement = format!(
            "INSERT INTO {} VALUE {{'pk': ?, 'sk': ?, 'payload': ?}}",
            self.table_partiql
        );
        let item: serde_json::Value =
            serde_json::from_str(&self.item_json(pk, sk, &[])).unwrap_or_default();
        format!(
            r#"{{"Statement":{},"Parameters":[{},{},{}]}}"#,
            serde_json::Value::from(statement),
            item["pk"],
            item["sk"],
            item["payload"]
        )
    }

    /// A Query for the whole partition `pk`.
    pub fn query_body(&self, pk: &str) -> String {
        format!(
            r#"{{"TableName":{},"KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{{":p":{{"S":"{pk}"}}}}}}"#,
            self.table_json
        )
    }

    /// A Query for the whole `gsi1` partition number `group` (the items `i` with
    /// `i mod partitions == group`).
    pub fn index_query_body(&self, group: u64) -> String {
        format!(
            r#"{{"TableName":{},"IndexName":"{QUERIED_INDEX}","KeyConditionExpression":"gpk = :g","ExpressionAttributeValues":{{":g":{{"S":"g{group:09}"}}}}}}"#,
            self.table_json
        )
    }

    /// A Scan page starting after `exclusive_start_key` (raw JSON of a LastEvaluatedKey).
    pub fn scan_body(&self, exclusive_start_key: Option<&str>) -> String {
        match exclusive_start_key {
            Some(key) => format!(
                r#"{{"TableName":{},"Limit":{SCAN_LIMIT},"ExclusiveStartKey":{key}}}"#,
                self.table_json
            ),
            None => format!(
                r#"{{"TableName":{},"Limit":{SCAN_LIMIT}}}"#,
                self.table_json
            ),
        }
    }

    /// A BatchWriteItem putting preloaded items `indexes`.
    pub fn batch_write_body(&self, indexes: std::ops::Range<u64>) -> String {
        let requests: Vec<String> = indexes
            .map(|i| {
                format!(
                    r#"{{"PutRequest":{{"Item":{}}}}}"#,
                    self.preloaded_item_json(i, i)
                )
            })
            .collect();
        format!(
            r#"{{"RequestItems":{{{}:[{}]}}}}"#,
            self.table_json,
            requests.join(",")
        )
    }

    /// The CreateTable body: `pk` S hash key, `sk` N range key, on-demand billing; on an indexed
    /// table also LSIs `lsi1` (`lsk1` S, KEYS_ONLY) and `lsi2` (`lsk2` N, ALL) and GSIs `gsi1`
    /// (`gpk` S, `gsk` N, ALL) and `gsi2` (`gpk2` S, KEYS_ONLY).
    pub fn create_table_body(&self) -> String {
        const KEY: &str = r#"{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}"#;
        const SCHEMA: &str = r#""KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]"#;
        const INDEX_ATTRIBUTES: &str = r#",{"AttributeName":"lsk1","AttributeType":"S"},{"AttributeName":"lsk2","AttributeType":"N"},{"AttributeName":"gpk","AttributeType":"S"},{"AttributeName":"gsk","AttributeType":"N"},{"AttributeName":"gpk2","AttributeType":"S"}"#;
        const INDEXES: &str = concat!(
            r#","LocalSecondaryIndexes":["#,
            r#"{"IndexName":"lsi1","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"lsk1","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}},"#,
            r#"{"IndexName":"lsi2","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"lsk2","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}],"#,
            r#""GlobalSecondaryIndexes":["#,
            r#"{"IndexName":"gsi1","KeySchema":[{"AttributeName":"gpk","KeyType":"HASH"},{"AttributeName":"gsk","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}},"#,
            r#"{"IndexName":"gsi2","KeySchema":[{"AttributeName":"gpk2","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]"#,
        );
        let (attributes, indexes) = if self.indexed() {
            (INDEX_ATTRIBUTES, INDEXES)
        } else {
            ("", "")
        };
        let stream = if self.shape == TableShape::Streamed {
            r#","StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}"#
        } else {
            ""
        };
        format!(
            r#"{{"TableName":{},"AttributeDefinitions":[{KEY}{attributes}],{SCHEMA}{indexes},"BillingMode":"PAY_PER_REQUEST"{stream}}}"#,
            self.table_json
        )
    }

    /// The body of DescribeTable and DeleteTable.
    pub fn table_name_body(&self) -> String {
        format!(r#"{{"TableName":{}}}"#, self.table_json)
    }

    /// Preloaded item `index` at `generation`: with its index key attributes (see the module
    /// header) unless the items are plain.
    fn preloaded_item_json(&self, index: u64, generation: u64) -> String {
        let (pk, sk) = KeySpace::preloaded_key(index);
        if matches!(self.shape, TableShape::Plain | TableShape::Streamed) {
            return match self.expire_at {
                Some(at) => self.item_json(&pk, sk, &[("exp", Extra::N(at))]),
                None => self.item_json(&pk, sk, &[]),
            };
        }
        let moved = format!("m{generation}");
        let group = format!("g{:09}", index % self.partitions());
        self.item_json(
            &pk,
            sk,
            &[
                ("lsk1", Extra::S(&moved)),
                ("lsk2", Extra::N(generation)),
                ("gpk", Extra::S(&group)),
                ("gsk", Extra::N(generation)),
                ("gpk2", Extra::S(&moved)),
            ],
        )
    }

    fn item_json(&self, pk: &str, sk: u64, extra: &[(&str, Extra<'_>)]) -> String {
        let overhead = "pk".len()
            + pk.len()
            + "sk".len()
            + number_size(sk)
            + "payload".len()
            + extra
                .iter()
                .map(|(name, value)| name.len() + value.size())
                .sum::<usize>();
        let payload_len = self.item_size.saturating_sub(overhead).max(1);
        let random;
        let payload = if self.random_payload {
            random = random_letters(pk, sk, payload_len);
            &random
        } else {
            self.payload.get(..payload_len).unwrap_or(&self.payload)
        };
        let mut json =
            format!(r#"{{"pk":{{"S":"{pk}"}},"sk":{{"N":"{sk}"}},"payload":{{"S":"{payload}"}}"#);
        for (name, value) in extra {
            match value {
                Extra::S(s) => json.push_str(&format!(r#","{name}":{{"S":"{s}"}}"#)),
                Extra::N(n) => json.push_str(&format!(r#","{name}":{{"N":"{n}"}}"#)),
            }
        }
        json.push('}');
        json
    }
}

/// `len` random lowercase letters, the same for the same key (seeded by it).
fn random_letters(pk: &str, sk: u64, len: usize) -> String {
    let seed = pk.bytes().fold(sk ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.lowercase()).collect()
}

/// An attribute beyond the key and payload (the index key attributes).
#[derive(Debug, Clone, Copy)]
enum Extra<'a> {
    S(&'a str),
    N(u64),
}

impl Extra<'_> {
    /// The value's size by DynamoDB's rules.
    fn size(self) -> usize {
        match self {
            Extra::S(s) => s.len(),
            Extra::N(n) => number_size(n),
        }
    }
}

/// DynamoDB's size of a number: its significant digits packed two to a byte, plus one.
fn number_size(n: u64) -> usize {
    let digits = n.to_string().trim_end_matches('0').len().max(1);
    digits.div_ceil(2) + 1
}

/// One connection's stream of requests: picks the next operation and body, and follows Scan
/// pagination from the replies.
#[derive(Debug)]
pub struct Generator {
    workload: Workload,
    space: Arc<KeySpace>,
    rng: fastrand::Rng,
    connection: u32,
    /// How many new items (`put`, `txn`) or generations (`overwrite`, `index-put`) this
    /// connection has put.
    puts: u64,
    /// The raw JSON of the last page's LastEvaluatedKey.
    scan_cursor: Option<String>,
}

impl Generator {
    /// The generator of connection number `connection` (which seeds its randomness and keeps
    /// its new keys apart from the other connections').
    pub fn new(workload: Workload, space: Arc<KeySpace>, connection: u32) -> Generator {
        Generator {
            workload,
            space,
            rng: fastrand::Rng::with_seed(0x5eed_0000 + u64::from(connection)),
            connection,
            puts: 0,
            scan_cursor: None,
        }
    }

    /// The next request: an operation and its body.
    pub fn next_request(&mut self) -> (Operation, String) {
        match self.workload {
            Workload::Put | Workload::StreamPut => {
                let (pk, sk) = self.new_key();
                (Operation::PutItem, self.space.put_body(&pk, sk))
            }
            Workload::Txn => {
                let keys: Vec<(String, u64)> = (0..TXN_ITEMS).map(|_| self.new_key()).collect();
                (
                    Operation::TransactWriteItems,
                    self.space.transact_put_body(&keys),
                )
            }
            Workload::Transfer => {
                let from = self.rng.u64(0..HOT_ACCOUNTS);
                let to = (from + 1 + self.rng.u64(0..HOT_ACCOUNTS - 1)) % HOT_ACCOUNTS;
                (
                    Operation::TransactWriteItems,
                    self.space.transfer_body(from, to),
                )
            }
            Workload::Get => self.random_get(),
            Workload::Select => {
                let (pk, sk) = self.random_key();
                (Operation::ExecuteStatement, self.space.select_body(&pk, sk))
            }
            Workload::Insert => {
                let (pk, sk) = self.new_key();
                (Operation::ExecuteStatement, self.space.insert_body(&pk, sk))
            }
            Workload::Query | Workload::IndexTableQuery => {
                let partitions = self.space.partitions();
                let (pk, _) =
                    KeySpace::preloaded_key(self.rng.u64(0..partitions) * ITEMS_PER_PARTITION);
                (Operation::Query, self.space.query_body(&pk))
            }
            Workload::Overwrite | Workload::IndexPut => {
                let index = self.rng.u64(0..self.space.items.max(1));
                let generation = self.new_generation();
                (
                    Operation::PutItem,
                    self.space.replace_body(index, generation),
                )
            }
            Workload::IndexQuery => {
                let group = self.rng.u64(0..self.space.partitions());
                (Operation::Query, self.space.index_query_body(group))
            }
            Workload::Scan => (
                Operation::Scan,
                self.space.scan_body(self.scan_cursor.as_deref()),
            ),
            Workload::Mix => {
                if self.rng.bool() {
                    self.random_get()
                } else {
                    let (pk, sk) = self.random_key();
                    (Operation::PutItem, self.space.put_body(&pk, sk))
                }
            }
        }
    }

    /// Takes note of a successful reply (the Scan cursor).
    pub fn observe(&mut self, operation: Operation, reply: &Reply) {
        if operation == Operation::Scan {
            self.scan_cursor = reply
                .json()
                .get("LastEvaluatedKey")
                .filter(|k| k.is_object())
                .map(|k| k.to_string());
        }
    }

    /// Forgets the Scan cursor after a failed page, so the scan restarts instead of repeating
    /// a failing request.
    pub fn reset(&mut self) {
        self.scan_cursor = None;
    }

    /// The key of this connection's next new item, never used by another connection.
    fn new_key(&mut self) -> (String, u64) {
        let n = self.puts;
        self.puts += 1;
        let pk = format!("c{:04}w{:09}", self.connection, n / ITEMS_PER_PARTITION);
        (pk, n % ITEMS_PER_PARTITION)
    }

    /// A generation no other put of any connection uses, above every preloaded one.
    fn new_generation(&mut self) -> u64 {
        self.puts += 1;
        (u64::from(self.connection) + 1) * GENERATIONS_PER_CONNECTION + self.puts
    }

    fn random_key(&mut self) -> (String, u64) {
        KeySpace::preloaded_key(self.rng.u64(0..self.space.items.max(1)))
    }

    fn random_get(&mut self) -> (Operation, String) {
        let (pk, sk) = self.random_key();
        (Operation::GetItem, self.space.get_body(&pk, sk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DynamoDB's size of an item of string and number attributes, counted the slow way.
    fn item_size(item: &serde_json::Value) -> usize {
        item.as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| {
                name.len()
                    + match (value.get("S"), value.get("N")) {
                        (Some(s), _) => s.as_str().unwrap().len(),
                        (_, Some(n)) => {
                            let digits = n.as_str().unwrap().trim_end_matches('0').len().max(1);
                            digits.div_ceil(2) + 1
                        }
                        _ => unreachable!(),
                    }
            })
            .sum()
    }

    #[test]
    fn bodies_are_json_and_items_have_the_asked_size() {
        let space = KeySpace::new("bench \"t\"", 100, 200, TableShape::Plain);
        let put: serde_json::Value =
            serde_json::from_str(&space.put_body("p000000003", 7)).unwrap();
        assert_eq!(put["TableName"], "bench \"t\"");
        assert_eq!(item_size(&put["Item"]), 200);
        for body in [
            space.get_body("p000000001", 2),
            space.select_body("p000000001", 2),
            space.insert_body("p000000001", 2),
            space.query_body("p000000001"),
            space.scan_body(None),
            space.scan_body(Some(r#"{"pk":{"S":"a"},"sk":{"N":"1"}}"#)),
            space.batch_write_body(0..25),
            space.create_table_body(),
            space.table_name_body(),
        ] {
            serde_json::from_str::<serde_json::Value>(&body).unwrap();
        }
        let batch: serde_json::Value =
            serde_json::from_str(&space.batch_write_body(0..25)).unwrap();
        assert_eq!(
            batch["RequestItems"]["bench \"t\""]
                .as_array()
                .unwrap()
                .len(),
            25
        );
    }

    /// Random payloads keep the asked size, differ between items and repeat for one item.
    #[test]
    fn random_payloads_differ_per_item_and_keep_the_size() {
        let space = KeySpace::new("t", 100, 300, TableShape::Plain).with_random_payload(true);
        let item = |pk: &str, sk: u64| -> serde_json::Value {
            serde_json::from_str::<serde_json::Value>(&space.put_body(pk, sk)).unwrap()["Item"]
                .clone()
        };
        let (a, b) = (item("p000000003", 7), item("p000000003", 8));
        assert_eq!(item_size(&a), 300);
        assert_eq!(item_size(&b), 300);
        assert_ne!(a["payload"], b["payload"]);
        assert_eq!(a, item("p000000003", 7));
        let letters = a["payload"]["S"].as_str().unwrap();
        assert!(letters.bytes().all(|c| c.is_ascii_lowercase()));
        let distinct: std::collections::HashSet<u8> = letters.bytes().collect();
        assert!(distinct.len() > 20, "{letters}");
    }

    #[test]
    fn transfers_move_one_between_two_distinct_hot_accounts() {
        let space = Arc::new(KeySpace::new("t", 100, 100, TableShape::Plain));
        let mut g = Generator::new(Workload::Transfer, space, 3);
        for _ in 0..200 {
            let (op, body) = g.next_request();
            assert_eq!(op, Operation::TransactWriteItems);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let actions = v["TransactItems"].as_array().unwrap();
            assert_eq!(actions.len(), 2);
            let account = |i: usize| actions[i]["Update"]["Key"]["pk"]["S"].as_str().unwrap();
            assert_ne!(account(0), account(1));
            let delta = |i: usize| {
                actions[i]["Update"]["ExpressionAttributeValues"][":d"]["N"]
                    .as_str()
                    .unwrap()
            };
            assert_eq!((delta(0), delta(1)), ("-1", "1"));
        }
    }

    #[test]
    fn transactions_put_four_new_items_of_the_asked_size() {
        let space = Arc::new(KeySpace::new("bench", 10, 150, TableShape::Plain));
        let mut generator = Generator::new(Workload::Txn, space, 3);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5 {
            let (op, body) = generator.next_request();
            assert_eq!(op, Operation::TransactWriteItems);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let actions = v["TransactItems"].as_array().unwrap();
            assert_eq!(actions.len(), 4);
            for action in actions {
                assert_eq!(action["Put"]["TableName"], "bench");
                let item = &action["Put"]["Item"];
                assert_eq!(item_size(item), 150);
                assert!(item["pk"]["S"].as_str().unwrap().starts_with("c0003w"));
                assert!(seen.insert(item["pk"].to_string() + &item["sk"].to_string()));
            }
        }
        assert_eq!(seen.len(), 20);
    }

    #[test]
    fn preloaded_keys_make_ten_item_partitions() {
        assert_eq!(KeySpace::preloaded_key(0), ("p000000000".to_owned(), 0));
        assert_eq!(KeySpace::preloaded_key(19), ("p000000001".to_owned(), 9));
    }

    #[test]
    fn put_keys_are_distinct_across_connections() {
        let space = Arc::new(KeySpace::new("t", 10, 100, TableShape::Plain));
        let mut seen = std::collections::HashSet::new();
        for connection in 0..3 {
            let mut generator = Generator::new(Workload::Put, space.clone(), connection);
            for _ in 0..50 {
                let (op, body) = generator.next_request();
                assert_eq!(op, Operation::PutItem);
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert!(seen.insert(v["Item"]["pk"].to_string() + &v["Item"]["sk"].to_string()));
            }
        }
    }

    #[test]
    fn scan_follows_the_cursor_and_restarts() {
        let space = Arc::new(KeySpace::new("t", 10, 100, TableShape::Plain));
        let mut generator = Generator::new(Workload::Scan, space, 0);
        let (_, first) = generator.next_request();
        assert!(!first.contains("ExclusiveStartKey"));
        let page = Reply {
            status: 200,
            body: bytes::Bytes::from_static(
                br#"{"Items":[],"LastEvaluatedKey":{"pk":{"S":"p"},"sk":{"N":"3"}}}"#,
            ),
        };
        generator.observe(Operation::Scan, &page);
        let (_, second) = generator.next_request();
        assert!(second.contains(r#""ExclusiveStartKey":{"pk":{"S":"p"},"sk":{"N":"3"}}"#));
        let last = Reply {
            status: 200,
            body: bytes::Bytes::from_static(br#"{"Items":[]}"#),
        };
        generator.observe(Operation::Scan, &last);
        let (_, third) = generator.next_request();
        assert!(!third.contains("ExclusiveStartKey"));
    }

    #[test]
    fn index_puts_move_every_index_key_and_keep_the_size() {
        let space = Arc::new(KeySpace::new("t", 100, 200, TableShape::Indexed));
        let create: serde_json::Value = serde_json::from_str(&space.create_table_body()).unwrap();
        assert_eq!(create["LocalSecondaryIndexes"].as_array().unwrap().len(), 2);
        assert_eq!(
            create["GlobalSecondaryIndexes"].as_array().unwrap().len(),
            2
        );
        let preload: serde_json::Value =
            serde_json::from_str(&space.batch_write_body(0..25)).unwrap();
        let first = &preload["RequestItems"]["t"][13]["PutRequest"]["Item"];
        assert_eq!(item_size(first), 200);
        assert_eq!(first["gpk"]["S"], "g000000003");
        let mut generator = Generator::new(Workload::IndexPut, space.clone(), 2);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let (op, body) = generator.next_request();
            assert_eq!(op, Operation::PutItem);
            let item = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Item"].take();
            assert_eq!(item_size(&item), 200);
            let pk = item["pk"]["S"].as_str().unwrap();
            let sk = item["sk"]["N"].as_str().unwrap().parse::<u64>().unwrap();
            let index = pk[1..].parse::<u64>().unwrap() * ITEMS_PER_PARTITION + sk;
            // The GSI partition stays the item's group; every other index key is new.
            assert_eq!(item["gpk"]["S"], format!("g{:09}", index % 10));
            for key in ["lsk1", "gpk2"] {
                assert!(seen.insert((key, item[key]["S"].to_string())), "{item}");
            }
            assert!(item["gsk"]["N"].as_str().unwrap().parse::<u64>().unwrap() > 100);
        }
        let mut queries = Generator::new(Workload::IndexQuery, space, 0);
        let (op, body) = queries.next_request();
        assert_eq!(op, Operation::Query);
        let query: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(query["IndexName"], QUERIED_INDEX);
    }

    #[test]
    fn overwrite_puts_index_puts_items_into_a_table_without_indexes() {
        let space = Arc::new(KeySpace::new("t", 30, 120, TableShape::IndexItems));
        let create: serde_json::Value = serde_json::from_str(&space.create_table_body()).unwrap();
        assert!(create.get("GlobalSecondaryIndexes").is_none(), "{create}");
        assert_eq!(create["AttributeDefinitions"].as_array().unwrap().len(), 2);
        let mut generator = Generator::new(Workload::Overwrite, space, 0);
        for _ in 0..20 {
            let (op, body) = generator.next_request();
            assert_eq!(op, Operation::PutItem);
            let item = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Item"].take();
            assert_eq!(item.as_object().unwrap().len(), 8, "{item}");
            assert_eq!(item_size(&item), 120);
            assert!(item["pk"]["S"].as_str().unwrap() <= "p000000002");
        }
    }
}

//! Property test: after any sequence of puts, updates and deletes — including writes that move
//! index keys, remove them, give them another type or an empty value — every secondary index
//! holds exactly the entries recomputed from the table, the table holds exactly what a plain
//! model of the writes says, and a write is refused exactly when it gives an index key attribute
//! a wrong type or an empty value.
//!
//! The oracle is written from DynamoDB's rules, independently of the engine's index code: an
//! item is in an index when it has every index key attribute with the declared type; the entry
//! holds the table's and the index's keys plus the projected attributes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use binderdb_engine::api::{
    CreateTableInput, DeleteItemInput, PutItemInput, ScanInput, TableNameInput, UpdateItemInput,
};
use binderdb_engine::{Config, Database, Error, RequestContext, SystemClock};
use binderdb_storage::MemoryStore;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The attributes the test writes besides the table key, with the type the indexes declare for
/// the key attributes among them.
const ATTRS: [(&str, char); 6] = [
    ("g", 'S'),
    ("k", 'S'),
    ("h", 'N'),
    ("l", 'N'),
    ("x", '-'),
    ("y", '-'),
];

struct IndexSpec {
    name: &'static str,
    keys: &'static [(&'static str, char)],
    /// `None`: ALL; `Some(list)`: KEYS_ONLY (empty) or INCLUDE.
    include: Option<&'static [&'static str]>,
}

const INDEXES: [IndexSpec; 4] = [
    IndexSpec {
        name: "lsi_l",
        keys: &[("pk", 'S'), ("l", 'N')],
        include: Some(&[]),
    },
    IndexSpec {
        name: "gsi_gh",
        keys: &[("g", 'S'), ("h", 'N')],
        include: Some(&["x"]),
    },
    IndexSpec {
        name: "gsi_multi",
        keys: &[("g", 'S'), ("k", 'S'), ("h", 'N'), ("l", 'N')],
        include: None,
    },
    IndexSpec {
        name: "gsi_h",
        keys: &[("h", 'N')],
        include: Some(&[]),
    },
];

#[derive(Debug, Clone)]
enum Val {
    S(u8),
    N(u8),
    B(u8),
}

impl Val {
    fn wire(&self) -> Value {
        match self {
            // 0 is the empty string: refused for an index key.
            Val::S(n) if *n == 0 => json!({"S": ""}),
            Val::S(n) => json!({"S": format!("v{}", n % 3)}),
            Val::N(n) => json!({"N": format!("{}", i32::from(*n % 4) - 1)}),
            Val::B(n) => json!({"B": if *n == 0 { "".to_owned() } else { "AQI=".to_owned() }}),
        }
    }

    fn type_code(&self) -> char {
        match self {
            Val::S(_) => 'S',
            Val::N(_) => 'N',
            Val::B(_) => 'B',
        }
    }

    fn empty(&self) -> bool {
        matches!(self, Val::S(0) | Val::B(0))
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put {
        pk: u8,
        sk: u8,
        attrs: Vec<(usize, Val)>,
    },
    Update {
        pk: u8,
        sk: u8,
        set: Vec<(usize, Val)>,
        remove: Vec<usize>,
    },
    Delete {
        pk: u8,
        sk: u8,
    },
}

fn val() -> impl Strategy<Value = Val> {
    // Mostly well-typed values, sometimes another type or an empty one.
    prop_oneof![
        6 => (1u8..6).prop_map(Val::S),
        6 => any::<u8>().prop_map(Val::N),
        1 => Just(Val::S(0)),
        1 => (0u8..2).prop_map(Val::B),
    ]
}

fn attr_values() -> impl Strategy<Value = Vec<(usize, Val)>> {
    proptest::collection::vec((0..ATTRS.len(), val()), 0..6)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0u8..3, attr_values()).prop_map(|(pk, sk, attrs)| Op::Put { pk, sk, attrs }),
        4 => (0u8..3, 0u8..3, attr_values(), proptest::collection::vec(0..ATTRS.len(), 0..3))
            .prop_map(|(pk, sk, set, remove)| Op::Update { pk, sk, set, remove }),
        1 => (0u8..3, 0u8..3).prop_map(|(pk, sk)| Op::Delete { pk, sk }),
    ]
}

type Item = BTreeMap<String, Value>;

fn key(pk: u8, sk: u8) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), json!({"S": format!("p{pk}")}));
    item.insert("sk".into(), json!({"N": sk.to_string()}));
    item
}

fn type_of(v: &Value) -> char {
    v.as_object()
        .and_then(|o| o.keys().next())
        .and_then(|k| k.chars().next())
        .unwrap_or('?')
}

/// Whether DynamoDB refuses an item for its index key values: a present index key attribute of
/// another type than declared, or empty.
fn refused(item: &Item) -> bool {
    INDEXES.iter().flat_map(|i| i.keys).any(|(name, t)| {
        item.get(*name).is_some_and(|v| {
            type_of(v) != *t || v.get("S") == Some(&json!("")) || v.get("B") == Some(&json!(""))
        })
    })
}

fn expected_entry(spec: &IndexSpec, item: &Item) -> Option<Item> {
    for (name, t) in spec.keys {
        if item.get(*name).map(type_of) != Some(*t) {
            return None;
        }
    }
    Some(match spec.include {
        None => item.clone(),
        Some(include) => item
            .iter()
            .filter(|(n, _)| {
                n.as_str() == "pk"
                    || n.as_str() == "sk"
                    || spec.keys.iter().any(|(k, _)| k == n)
                    || include.contains(&n.as_str())
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
    })
}

fn database() -> Database {
    let db = Database::open(
        Arc::new(MemoryStore::new()),
        Config::default(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let key = |name: &str, kind: &str| json!({"AttributeName": name, "KeyType": kind});
    let input: CreateTableInput = serde_json::from_value(json!({
        "TableName": "prop",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "k", "AttributeType": "S"},
            {"AttributeName": "h", "AttributeType": "N"},
            {"AttributeName": "l", "AttributeType": "N"},
        ],
        "KeySchema": [key("pk", "HASH"), key("sk", "RANGE")],
        "BillingMode": "PAY_PER_REQUEST",
        "LocalSecondaryIndexes": [{
            "IndexName": "lsi_l",
            "KeySchema": [key("pk", "HASH"), key("l", "RANGE")],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "gsi_gh",
                "KeySchema": [key("g", "HASH"), key("h", "RANGE")],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]},
            },
            {
                "IndexName": "gsi_multi",
                "KeySchema": [key("g", "HASH"), key("k", "HASH"), key("h", "RANGE"), key("l", "RANGE")],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gsi_h",
                "KeySchema": [key("h", "HASH")],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    }))
    .unwrap();
    db.create_table(&RequestContext::default(), input).unwrap();
    db
}

/// Every entry of `index` (or of the table), as canonical JSON strings.
fn scan(db: &Database, index: Option<&str>) -> BTreeSet<String> {
    let input: ScanInput = serde_json::from_value(json!({
        "TableName": "prop",
        "IndexName": index,
    }))
    .unwrap();
    let page = db.scan(&RequestContext::default(), input).unwrap();
    assert!(
        page.last_evaluated_key.is_none(),
        "one page holds the test's items"
    );
    page.items
        .unwrap()
        .iter()
        .map(|item| serde_json::to_string(item).unwrap())
        .collect()
}

fn canonical(items: impl Iterator<Item = Item>) -> BTreeSet<String> {
    items
        .map(|item| {
            // Through the engine's own value type, so numbers print as the engine prints them.
            let parsed: binderdb_model::Item =
                serde_json::from_value(serde_json::to_value(&item).unwrap())
                    .map(|v: BTreeMap<String, binderdb_model::wire::WireValue>| {
                        v.into_iter()
                            .map(|(k, w)| {
                                (k, binderdb_model::AttributeValue::from_wire(w).unwrap())
                            })
                            .collect()
                    })
                    .unwrap();
            serde_json::to_string(&parsed).unwrap()
        })
        .collect()
}

fn apply(db: &Database, model: &mut BTreeMap<(u8, u8), Item>, op: &Op) {
    let ctx = RequestContext::default();
    match op {
        Op::Put { pk, sk, attrs } => {
            let mut item = key(*pk, *sk);
            for (i, v) in attrs {
                item.insert(ATTRS[*i].0.into(), v.wire());
            }
            let input: PutItemInput =
                serde_json::from_value(json!({"TableName": "prop", "Item": item})).unwrap();
            let result = db.put_item(&ctx, input);
            check(&result.map(|_| ()), refused(&item), op);
            if !refused(&item) {
                model.insert((*pk, *sk), item);
            }
        }
        Op::Update {
            pk,
            sk,
            set,
            remove,
        } => {
            let mut names = serde_json::Map::new();
            let mut values = serde_json::Map::new();
            let mut sets = Vec::new();
            let existed = model.contains_key(&(*pk, *sk));
            let mut new = model
                .get(&(*pk, *sk))
                .cloned()
                .unwrap_or_else(|| key(*pk, *sk));
            let mut touched = BTreeSet::new();
            for (n, (i, v)) in set.iter().enumerate() {
                if !touched.insert(*i) {
                    continue;
                }
                names.insert(format!("#a{i}"), json!(ATTRS[*i].0));
                values.insert(format!(":v{n}"), v.wire());
                sets.push(format!("#a{i} = :v{n}"));
                new.insert(ATTRS[*i].0.into(), v.wire());
            }
            let mut removes = Vec::new();
            for i in remove {
                if !touched.insert(*i) {
                    continue;
                }
                names.insert(format!("#a{i}"), json!(ATTRS[*i].0));
                removes.push(format!("#a{i}"));
                new.remove(ATTRS[*i].0);
            }
            let mut expression = String::new();
            if !sets.is_empty() {
                expression.push_str(&format!("SET {} ", sets.join(", ")));
            }
            if !removes.is_empty() {
                expression.push_str(&format!("REMOVE {}", removes.join(", ")));
            }
            let mut request = json!({"TableName": "prop", "Key": key(*pk, *sk)});
            if !expression.is_empty() {
                request["UpdateExpression"] = json!(expression);
                request["ExpressionAttributeNames"] = Value::Object(names);
                if !values.is_empty() {
                    request["ExpressionAttributeValues"] = Value::Object(values);
                }
            }
            let input: UpdateItemInput = serde_json::from_value(request).unwrap();
            let result = db.update_item(&ctx, input);
            check(&result.map(|_| ()), refused(&new), op);
            // An update that only removes creates nothing on a missing item; one with no
            // actions at all creates the key-only item (DynamoDB's rules).
            let creates = existed || !sets.is_empty() || removes.is_empty();
            if !refused(&new) && creates {
                model.insert((*pk, *sk), new);
            }
        }
        Op::Delete { pk, sk } => {
            let input: DeleteItemInput =
                serde_json::from_value(json!({"TableName": "prop", "Key": key(*pk, *sk)})).unwrap();
            db.delete_item(&ctx, input).unwrap();
            model.remove(&(*pk, *sk));
        }
    }
}

fn check(result: &Result<(), Error>, refused: bool, op: &Op) {
    match (result, refused) {
        (Ok(()), false) => {}
        (Err(Error::Validation(m)), true) => assert!(
            m.contains("IndexName"),
            "refused with an unexpected message: {m} ({op:?})"
        ),
        (other, _) => panic!("expected refused={refused}, got {other:?} for {op:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn indexes_equal_their_recomputation_after_any_writes(ops in proptest::collection::vec(op(), 1..40)) {
        let db = database();
        let mut model = BTreeMap::new();
        for op in &ops {
            apply(&db, &mut model, op);
        }
        prop_assert_eq!(scan(&db, None), canonical(model.values().cloned()));
        for spec in &INDEXES {
            let expected = canonical(model.values().filter_map(|item| expected_entry(spec, item)));
            prop_assert_eq!(scan(&db, Some(spec.name)), expected, "index {}", spec.name);
        }
        // The live statistics agree with the entries.
        let described: TableNameInput = serde_json::from_value(json!({"TableName": "prop"})).unwrap();
        let table = db.describe_table(&RequestContext::default(), described).unwrap().table;
        let counts: Vec<(String, i64)> = table
            .local_secondary_indexes.iter().flatten().map(|i| (i.index_name.clone(), i.item_count))
            .chain(table.global_secondary_indexes.iter().flatten().map(|i| (i.index_name.clone(), i.item_count)))
            .collect();
        for (name, count) in counts {
            let spec = INDEXES.iter().find(|s| s.name == name).unwrap();
            let expected = model.values().filter(|item| expected_entry(spec, item).is_some()).count();
            prop_assert_eq!(count, expected as i64, "ItemCount of {}", name);
        }
    }
}

#[test]
fn the_oracle_refuses_what_dynamodb_refuses() {
    let mut item = key(0, 0);
    assert!(!refused(&item));
    item.insert("g".into(), Val::N(1).wire());
    assert!(refused(&item));
    item.insert("g".into(), Val::S(0).wire());
    assert!(refused(&item));
    item.insert("g".into(), Val::S(2).wire());
    assert!(!refused(&item));
    assert!(Val::B(0).empty() && !Val::N(0).empty() && Val::S(1).type_code() == 'S');
}

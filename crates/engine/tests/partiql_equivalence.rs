//! Property test: a PartiQL statement and the expression-API call that means the same return
//! the same items and the same ConsumedCapacity, and leave the table in the same state.
//!
//! Each case draws random items and a random statement shape (a read by full key, by partition
//! with a sort-key condition and filter terms, a scan with filter terms, or a conditional
//! UPDATE). The shape is rendered twice, independently: as PartiQL text with `?` parameters and
//! as GetItem/Query/Scan/UpdateItem with expression text, so the test checks the planner's
//! translation rather than repeating it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use binderdb_engine::api::{
    CreateTableInput, ExecuteStatementInput, GetItemInput, PutItemInput, QueryInput, ScanInput,
    UpdateItemInput,
};
use binderdb_engine::{Config, Database, RequestContext, SystemClock};
use binderdb_storage::MemoryStore;
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
enum Term {
    /// attribute, operator, value (`x`: number, `y`: string, `sk`: number).
    Compare(&'static str, &'static str, Value),
    BeginsWith(String),
    Between(i64, i64),
    In(Vec<i64>),
    Missing(&'static str, bool),
}

#[derive(Debug, Clone)]
enum Shape {
    Get(String, i64),
    Query(String, Option<(&'static str, i64)>, Vec<Term>, bool),
    Scan(Vec<Term>),
    Update(String, i64, i64, Vec<Term>),
}

fn num(v: i64) -> Value {
    json!({"N": v.to_string()})
}

fn term() -> impl Strategy<Value = Term> {
    let op = prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]);
    prop_oneof![
        (op.clone(), 0i64..6).prop_map(|(o, v)| Term::Compare("x", o, num(v))),
        (op.clone(), prop::sample::select(vec!["p", "q", "pq", "r"]))
            .prop_map(|(o, v)| Term::Compare("y", o, json!({"S": v}))),
        (op, 0i64..10).prop_map(|(o, v)| Term::Compare("sk", o, num(v))),
        prop::sample::select(vec!["p", "q", ""]).prop_map(|p| Term::BeginsWith(p.to_owned())),
        (0i64..6, 0i64..6).prop_map(|(a, b)| Term::Between(a.min(b), a.max(b))),
        prop::collection::vec(0i64..6, 1..4).prop_map(Term::In),
        (prop::sample::select(vec!["x", "y"]), any::<bool>())
            .prop_map(|(a, n)| Term::Missing(a, n)),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let pk = prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_owned);
    let sk_op = prop::sample::select(vec!["=", "<", "<=", ">", ">="]);
    prop_oneof![
        (pk.clone(), 0i64..10).prop_map(|(p, s)| Shape::Get(p, s)),
        (
            pk.clone(),
            prop::option::of((sk_op, 0i64..10)),
            prop::collection::vec(term(), 0..3),
            any::<bool>()
        )
            .prop_map(|(p, k, t, d)| Shape::Query(p, k, t, d)),
        prop::collection::vec(term(), 0..3).prop_map(Shape::Scan),
        (pk, 0i64..10, 0i64..6, prop::collection::vec(term(), 0..2))
            .prop_map(|(p, s, v, t)| Shape::Update(p, s, v, t)),
    ]
}

/// A term as PartiQL (values appended to `params`) and as an expression (values appended to
/// `values` as `:vN`).
fn render(
    t: &Term,
    params: &mut Vec<Value>,
    values: &mut serde_json::Map<String, Value>,
) -> (String, String) {
    let mut value = |v: Value| {
        let name = format!(":v{}", values.len());
        values.insert(name.clone(), v.clone());
        params.push(v);
        name
    };
    match t {
        Term::Compare(a, op, v) => {
            let p = value(v.clone());
            (format!("\"{a}\" {op} ?"), format!("{a} {op} {p}"))
        }
        Term::BeginsWith(prefix) => {
            let p = value(json!({"S": prefix}));
            (
                "begins_with(y, ?)".to_owned(),
                format!("begins_with(y, {p})"),
            )
        }
        Term::Between(lo, hi) => {
            let (l, h) = (value(num(*lo)), value(num(*hi)));
            (
                "x BETWEEN ? AND ?".to_owned(),
                format!("x BETWEEN {l} AND {h}"),
            )
        }
        Term::In(list) => {
            let names: Vec<String> = list.iter().map(|v| value(num(*v))).collect();
            let marks = vec!["?"; list.len()].join(", ");
            (
                format!("x IN [{marks}]"),
                format!("x IN ({})", names.join(", ")),
            )
        }
        Term::Missing(a, negated) => {
            if *negated {
                (
                    format!("{a} IS NOT MISSING"),
                    format!("attribute_exists({a})"),
                )
            } else {
                (
                    format!("{a} IS MISSING"),
                    format!("attribute_not_exists({a})"),
                )
            }
        }
    }
}

fn database() -> Database {
    let db = Database::open(
        Arc::new(MemoryStore::new()),
        Config::default(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let create: CreateTableInput = serde_json::from_value(json!({
        "TableName": "T",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "BillingMode": "PAY_PER_REQUEST"
    }))
    .unwrap();
    db.create_table(&RequestContext::default(), create).unwrap();
    db
}

fn item() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["a", "b", "c"]),
        0i64..10,
        prop::option::of(0i64..6),
        prop::option::of(prop::sample::select(vec!["p", "q", "pq", "r", ""])),
        0usize..3000,
    )
        .prop_map(|(pk, sk, x, y, pad)| {
            let mut m = serde_json::Map::new();
            m.insert("pk".into(), json!({"S": pk}));
            m.insert("sk".into(), num(sk));
            if let Some(x) = x {
                m.insert("x".into(), num(x));
            }
            if let Some(y) = y {
                m.insert("y".into(), json!({"S": y}));
            }
            m.insert("pad".into(), json!({"S": "z".repeat(pad)}));
            Value::Object(m)
        })
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Runs the PartiQL side and the expression side; returns both results as JSON.
fn both(db_sql: &Database, db_api: &Database, shape: &Shape) -> (Value, Value) {
    let ctx = RequestContext::default();
    let mut params = Vec::new();
    let mut values = serde_json::Map::new();
    let mut rendered = |terms: &[Term]| {
        let parts: Vec<(String, String)> = terms
            .iter()
            .map(|t| render(t, &mut params, &mut values))
            .collect();
        parts
    };
    let (statement, api): (String, Value) = match shape {
        Shape::Get(pk, sk) => {
            let sql = format!("SELECT * FROM T WHERE pk = '{pk}' AND sk = {sk}");
            let out = db_api.get_item(&ctx, from::<GetItemInput>(json!({
                "TableName": "T", "Key": {"pk": {"S": pk}, "sk": num(*sk)},
                "ReturnConsumedCapacity": "TOTAL"
            }))).map(|o| json!({"Items": o.item.into_iter().collect::<Vec<_>>(), "ConsumedCapacity": o.consumed_capacity}));
            (sql, result(out))
        }
        Shape::Query(pk, key, terms, desc) => {
            // DynamoDB's rule: without an explicit sort-key term, the first sort-key
            // comparison a key condition can hold becomes the key condition.
            let mut key = *key;
            let mut terms = terms.clone();
            if key.is_none() {
                let found = terms.iter().position(
                    |t| matches!(t, Term::Compare("sk", op, Value::Object(_)) if *op != "<>"),
                );
                if let Some(i) = found {
                    if let Term::Compare(_, op, v) = terms.remove(i) {
                        let n = v["N"].as_str().unwrap().parse().unwrap();
                        key = Some((op, n));
                    }
                }
            }
            let parts = rendered(&terms);
            let mut sql = format!("SELECT * FROM T WHERE pk = '{pk}'");
            let mut key_expr = "pk = :pk".to_owned();
            let mut values = values.clone();
            values.insert(":pk".into(), json!({"S": pk}));
            if let Some((op, v)) = key {
                sql.push_str(&format!(" AND sk {op} {v}"));
                key_expr.push_str(&format!(" AND sk {op} :sk"));
                values.insert(":sk".into(), num(v));
            }
            for (p, _) in &parts {
                sql.push_str(&format!(" AND {p}"));
            }
            if *desc {
                sql.push_str(" ORDER BY sk DESC");
            }
            let filter: Vec<String> = parts.iter().map(|(_, e)| format!("({e})")).collect();
            let mut req = json!({
                "TableName": "T", "KeyConditionExpression": key_expr,
                "ExpressionAttributeValues": values, "ReturnConsumedCapacity": "TOTAL",
                "ScanIndexForward": !desc
            });
            if !filter.is_empty() {
                req["FilterExpression"] = json!(filter.join(" AND "));
            }
            // PartiQL may filter on the sort key; the Query API only with this switch.
            let mut req = from::<QueryInput>(req);
            req.filter_may_read_keys = true;
            let out = db_api
                .query(&ctx, req)
                .map(|o| json!({"Items": o.items, "ConsumedCapacity": o.consumed_capacity}));
            (sql, result(out))
        }
        Shape::Scan(terms) => {
            let parts = rendered(terms);
            let mut sql = "SELECT * FROM T".to_owned();
            let mut req = json!({"TableName": "T", "ReturnConsumedCapacity": "TOTAL"});
            if !parts.is_empty() {
                let p: Vec<&str> = parts.iter().map(|(p, _)| p.as_str()).collect();
                sql.push_str(&format!(" WHERE {}", p.join(" AND ")));
                let e: Vec<String> = parts.iter().map(|(_, e)| format!("({e})")).collect();
                req["FilterExpression"] = json!(e.join(" AND "));
                if !values.is_empty() {
                    req["ExpressionAttributeValues"] = Value::Object(values.clone());
                }
            }
            let out = db_api
                .scan(&ctx, from::<ScanInput>(req))
                .map(|o| json!({"Items": o.items, "ConsumedCapacity": o.consumed_capacity}));
            (sql, result(out))
        }
        Shape::Update(pk, sk, v, terms) => {
            let parts = rendered(terms);
            let mut sql = format!("UPDATE T SET x = {v} WHERE pk = '{pk}' AND sk = {sk}");
            let mut condition = "attribute_exists(pk)".to_owned();
            for (p, e) in &parts {
                sql.push_str(&format!(" AND {p}"));
                condition.push_str(&format!(" AND ({e})"));
            }
            sql.push_str(" RETURNING ALL OLD *");
            let mut values = values.clone();
            values.insert(":new".into(), num(*v));
            let out = db_api.update_item(&ctx, from::<UpdateItemInput>(json!({
                "TableName": "T", "Key": {"pk": {"S": pk}, "sk": num(*sk)},
                "UpdateExpression": "SET x = :new", "ConditionExpression": condition,
                "ExpressionAttributeValues": values, "ReturnValues": "ALL_OLD",
                "ReturnConsumedCapacity": "TOTAL"
            }))).map(|o| json!({"Items": o.attributes.into_iter().collect::<Vec<_>>(), "ConsumedCapacity": o.consumed_capacity}));
            (sql, result(out))
        }
    };
    let mut input: ExecuteStatementInput = from(json!({
        "Statement": statement, "ReturnConsumedCapacity": "TOTAL"
    }));
    input.parameters = (!params.is_empty()).then(|| from(Value::Array(params.clone())));
    let sql = db_sql
        .execute_statement(&ctx, input)
        .map(|o| json!({"Items": o.items, "ConsumedCapacity": o.consumed_capacity}));
    (result(sql), api)
}

fn result(r: Result<Value, binderdb_engine::Error>) -> Value {
    match r {
        Ok(v) => v,
        Err(e) => json!({"Error": e.to_string()}),
    }
}

fn scan_all(db: &Database) -> Value {
    let out = db
        .scan(
            &RequestContext::default(),
            from::<ScanInput>(json!({"TableName": "T"})),
        )
        .unwrap();
    json!(out.items)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn partiql_and_the_expression_api_agree(
        items in prop::collection::vec(item(), 0..25),
        shapes in prop::collection::vec(shape(), 1..6),
    ) {
        let (db_sql, db_api) = (database(), database());
        let ctx = RequestContext::default();
        for item in &items {
            for db in [&db_sql, &db_api] {
                db.put_item(&ctx, from::<PutItemInput>(json!({"TableName": "T", "Item": item}))).unwrap();
            }
        }
        for shape in &shapes {
            let (sql, api) = both(&db_sql, &db_api, shape);
            prop_assert_eq!(&sql, &api, "{:?}", shape);
            prop_assert_eq!(scan_all(&db_sql), scan_all(&db_api));
        }
    }
}

//! PartiQL: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction through the SDK.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::execute_transaction::ExecuteTransactionError;
use aws_sdk_dynamodb::types::{
    AttributeValue, BatchStatementErrorCodeEnum, BatchStatementRequest, ParameterizedStatement,
    ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use serde_json::json;

use crate::common::{call, create_table, error_parts, item, n, put, s, TestServer, VALIDATION};

async fn setup() -> (TestServer, Client) {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(
        &client,
        "Music",
        ("Artist", ScalarAttributeType::S),
        Some(("SongTitle", ScalarAttributeType::S)),
    )
    .await;
    create_table(&client, "Plain", ("id", ScalarAttributeType::S), None).await;
    (server, client)
}

async fn exec(
    client: &Client,
    statement: &str,
    params: Vec<AttributeValue>,
) -> Vec<crate::common::Item> {
    client
        .execute_statement()
        .statement(statement)
        .set_parameters((!params.is_empty()).then_some(params))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{statement}: {:?}", error_parts(e)))
        .items
        .unwrap_or_default()
}

async fn exec_err(
    client: &Client,
    statement: &str,
    params: Vec<AttributeValue>,
) -> (String, String) {
    error_parts(
        client
            .execute_statement()
            .statement(statement)
            .set_parameters((!params.is_empty()).then_some(params))
            .send()
            .await
            .unwrap_err(),
    )
}

async fn songs(client: &Client) {
    for (artist, title, year) in [
        ("Acme", "A", "2001"),
        ("Acme", "B", "2002"),
        ("Acme", "C", "2003"),
        ("Other", "Z", "1999"),
    ] {
        put(
            client,
            "Music",
            &[
                ("Artist", s(artist)),
                ("SongTitle", s(title)),
                ("Year", n(year)),
            ],
        )
        .await;
    }
}

#[tokio::test]
async fn select_by_key_partition_and_scan() {
    let (_server, client) = setup().await;
    songs(&client).await;
    let one = exec(
        &client,
        r#"SELECT * FROM "Music" WHERE Artist = 'Acme' AND SongTitle = 'B'"#,
        vec![],
    )
    .await;
    assert_eq!(
        one,
        vec![item(&[
            ("Artist", s("Acme")),
            ("SongTitle", s("B")),
            ("Year", n("2002"))
        ])]
    );
    let none = exec(
        &client,
        r#"SELECT * FROM "Music" WHERE Artist = 'Acme' AND SongTitle = 'nope'"#,
        vec![],
    )
    .await;
    assert!(none.is_empty());
    // The partition, in sort-key order, then reversed, with a projection and a filter.
    let titles = |items: &[crate::common::Item]| {
        items
            .iter()
            .map(|i| i["SongTitle"].as_s().unwrap().clone())
            .collect::<Vec<_>>()
    };
    let part = exec(
        &client,
        r#"SELECT SongTitle FROM Music WHERE Artist = ?"#,
        vec![s("Acme")],
    )
    .await;
    assert_eq!(titles(&part), ["A", "B", "C"]);
    assert_eq!(part[0].len(), 1);
    let desc = exec(
        &client,
        r#"SELECT * FROM Music WHERE Artist = 'Acme' AND SongTitle > 'A' AND "Year" < 2003 ORDER BY SongTitle DESC"#,
        vec![],
    )
    .await;
    assert_eq!(titles(&desc), ["B"]);
    let between = exec(
        &client,
        "SELECT * FROM Music WHERE Artist = 'Acme' AND SongTitle BETWEEN 'B' AND 'C' ORDER BY SongTitle DESC",
        vec![],
    )
    .await;
    assert_eq!(titles(&between), ["C", "B"]);
    // No partition key: a Scan with the WHERE as filter.
    let mut scanned = titles(
        &exec(
            &client,
            r#"SELECT * FROM Music WHERE "Year" IN (1999, 2003) OR begins_with(SongTitle, 'A')"#,
            vec![],
        )
        .await,
    );
    scanned.sort();
    assert_eq!(scanned, ["A", "C", "Z"]);
    let all = exec(&client, "SELECT * FROM Music", vec![]).await;
    assert_eq!(all.len(), 4);
    let missing = exec(
        &client,
        "SELECT * FROM Music WHERE Genre IS MISSING AND NOT (\"Year\" >= 2002)",
        vec![],
    )
    .await;
    assert_eq!(titles(&missing).len(), 2);
    // ORDER BY needs the partition key.
    let (code, message) = exec_err(
        &client,
        "SELECT * FROM Music WHERE \"Year\" > 1 ORDER BY SongTitle",
        vec![],
    )
    .await;
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause."
    );
}

#[tokio::test]
async fn partition_key_in_reads_each_partition() {
    let (_server, client) = setup().await;
    create_table(&client, "Orders", ("OrderID", ScalarAttributeType::N), None).await;
    for (id, total) in [("1", "10"), ("2", "600"), ("3", "30"), ("4", "40")] {
        put(
            &client,
            "Orders",
            &[("OrderID", n(id)), ("Total", n(total))],
        )
        .await;
    }
    let out = client
        .execute_statement()
        .statement(r#"SELECT OrderID, Total FROM "Orders" WHERE OrderID IN [1, 3, 2, 9] ORDER BY OrderID DESC"#)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = out
        .items()
        .iter()
        .map(|i| i["OrderID"].as_n().unwrap().as_str())
        .collect();
    assert_eq!(ids, ["3", "2", "1"]);
    // Four reads by full key, half a unit each.
    assert_eq!(out.consumed_capacity().unwrap().capacity_units(), Some(2.0));
    songs(&client).await;
    let titles = exec(
        &client,
        "SELECT SongTitle FROM Music WHERE Artist IN ('Other', 'Acme') AND SongTitle <> 'B'",
        vec![],
    )
    .await;
    assert_eq!(titles.len(), 3);
    assert_eq!(titles[0]["SongTitle"], s("Z"));
}

#[tokio::test]
async fn select_reads_an_index() {
    let server = TestServer::memory().await;
    let client = server.client();
    call(
        server.addr,
        "CreateTable",
        json!({
            "TableName": "Gsi",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
                {"AttributeName": "r", "AttributeType": "N"}
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [{
                "IndexName": "byG",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "r", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }]
        }),
    )
    .await;
    for (pk, g, r) in [("1", "x", "3"), ("2", "x", "1"), ("3", "y", "2")] {
        put(&client, "Gsi", &[("pk", s(pk)), ("g", s(g)), ("r", n(r))]).await;
    }
    let items = exec(
        &client,
        r#"SELECT pk FROM "Gsi"."byG" WHERE g = 'x' ORDER BY r"#,
        vec![],
    )
    .await;
    assert_eq!(
        items,
        vec![item(&[("pk", s("2"))]), item(&[("pk", s("1"))])]
    );
    let (code, message) = error_parts(
        client
            .execute_statement()
            .statement(r#"SELECT * FROM "Gsi"."byG" WHERE g = 'x'"#)
            .consistent_read(true)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ValidationException", "{message}");
}

#[tokio::test]
async fn literals_of_every_type_and_blobs_through_parameters() {
    let (_server, client) = setup().await;
    exec(
        &client,
        r#"INSERT INTO Plain VALUE {'id': 'a', 's': 'it''s', 'n': -12.50, 'e': 1e3, 't': true,
            'f': false, 'z': null, 'l': [1, 'x', [true]], 'm': {'k': {'deep': 2}},
            'ss': <<'p', 'q'>>, 'ns': <<1, 2.5>>, 'b': ?, 'bs': <<?, ?>>}"#,
        vec![
            AttributeValue::B(vec![1, 2].into()),
            AttributeValue::B(vec![3].into()),
            AttributeValue::B(vec![4].into()),
        ],
    )
    .await;
    let got = client
        .get_item()
        .table_name("Plain")
        .key("id", s("a"))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(got["s"], s("it's"));
    assert_eq!(got["n"], n("-12.5"));
    assert_eq!(got["e"], n("1000"));
    assert_eq!(got["t"], AttributeValue::Bool(true));
    assert_eq!(got["f"], AttributeValue::Bool(false));
    assert_eq!(got["z"], AttributeValue::Null(true));
    assert_eq!(
        got["l"],
        AttributeValue::L(vec![
            n("1"),
            s("x"),
            AttributeValue::L(vec![AttributeValue::Bool(true)])
        ])
    );
    assert_eq!(
        got["m"],
        AttributeValue::M(item(&[("k", AttributeValue::M(item(&[("deep", n("2"))])))]))
    );
    let mut ss = got["ss"].as_ss().unwrap().clone();
    ss.sort();
    assert_eq!(ss, ["p", "q"]);
    assert_eq!(got["ns"].as_ns().unwrap().len(), 2);
    assert_eq!(got["b"], AttributeValue::B(vec![1, 2].into()));
    assert_eq!(got["bs"].as_bs().unwrap().len(), 2);
    // Nested paths read back what was written.
    let deep = exec(
        &client,
        "SELECT m.k.deep, l[2][0] FROM Plain WHERE id = 'a'",
        vec![],
    )
    .await;
    assert_eq!(
        deep,
        vec![item(&[
            (
                "m",
                AttributeValue::M(item(&[("k", AttributeValue::M(item(&[("deep", n("2"))])))]))
            ),
            (
                "l",
                AttributeValue::L(vec![AttributeValue::L(vec![AttributeValue::Bool(true)])])
            ),
        ])]
    );
    let (_, message) = exec_err(
        &client,
        "INSERT INTO Plain VALUE {'id': 'b', 'x': <<>>}",
        vec![],
    )
    .await;
    assert_eq!(message, "Empty bags are not supported");
    let (_, message) = exec_err(
        &client,
        "INSERT INTO Plain VALUE {'id': 'b', 'x': <<1, 'a'>>}",
        vec![],
    )
    .await;
    assert!(
        message.starts_with("Unsupported data type in Bag"),
        "{message}"
    );
}

#[tokio::test]
async fn parameters_bind_in_order_and_must_match_in_number() {
    let (_server, client) = setup().await;
    exec(
        &client,
        "INSERT INTO Music VALUE {'Artist': ?, 'SongTitle': ?, 'Plays': ?}",
        vec![s("P"), s("T"), n("7")],
    )
    .await;
    let got = exec(
        &client,
        "SELECT Plays FROM Music WHERE SongTitle = ? AND Artist = ?",
        vec![s("T"), s("P")],
    )
    .await;
    assert_eq!(got, vec![item(&[("Plays", n("7"))])]);
    for params in [vec![s("P")], vec![s("P"), s("T"), s("X")]] {
        let (code, message) = exec_err(
            &client,
            "SELECT * FROM Music WHERE Artist = ? AND SongTitle = ?",
            params,
        )
        .await;
        assert_eq!(code, "ValidationException");
        assert_eq!(
            message,
            "Number of parameters in request and statement don't match."
        );
    }
    let answer = call(
        _server.addr,
        "ExecuteStatement",
        json!({"Statement": "SELECT * FROM Music", "Parameters": []}),
    )
    .await;
    answer.assert_error(
        VALIDATION,
        Some("1 validation error detected: Value '[]' at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    );
    // An invalid parameter value is the item API's error.
    let (_, message) = exec_err(&client, "SELECT * FROM Plain WHERE id = ?", vec![n("x1")]).await;
    assert!(!message.is_empty());
}

#[tokio::test]
async fn update_delete_and_their_conditions() {
    let (_server, client) = setup().await;
    put(
        &client,
        "Plain",
        &[
            ("id", s("k")),
            ("count", n("1")),
            ("tags", AttributeValue::Ss(vec!["a".into()])),
            ("old", s("x")),
        ],
    )
    .await;
    let returned = exec(
        &client,
        "UPDATE Plain SET count = count + 2 SET note = 'hi' REMOVE old SET tags = set_add(tags, <<'b'>>) WHERE id = 'k' RETURNING ALL NEW *",
        vec![],
    )
    .await;
    let after = &returned[0];
    assert_eq!(after["count"], n("3"));
    assert_eq!(after["note"], s("hi"));
    assert!(!after.contains_key("old"));
    assert_eq!(after["tags"].as_ss().unwrap().len(), 2);
    let modified = exec(
        &client,
        "UPDATE Plain SET count = 10 WHERE id = 'k' RETURNING MODIFIED OLD *",
        vec![],
    )
    .await;
    assert_eq!(modified, vec![item(&[("count", n("3"))])]);
    // A failed extra condition, with the old item on request.
    let err = client
        .execute_statement()
        .statement("UPDATE Plain SET count = 0 WHERE id = 'k' AND count = 99")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(
        service.is_conditional_check_failed_exception(),
        "{service:?}"
    );
    // UPDATE only changes items that exist.
    let (code, _) = exec_err(
        &client,
        "UPDATE Plain SET count = 1 WHERE id = 'absent'",
        vec![],
    )
    .await;
    assert_eq!(code, "ConditionalCheckFailedException");
    // Key-less writes are refused.
    for statement in [
        "UPDATE Plain SET count = 1 WHERE count = 10",
        "UPDATE Plain SET count = 1",
        "DELETE FROM Plain WHERE count = 10",
        "DELETE FROM Music WHERE Artist = 'Acme'",
    ] {
        let (code, message) = exec_err(&client, statement, vec![]).await;
        assert_eq!(code, "ValidationException", "{statement}");
        assert_eq!(
            message,
            "Where clause does not contain a mandatory equality on all key attributes"
        );
    }
    // DELETE: a false condition on an existing item fails; on a missing item nothing happens.
    let (code, message) = exec_err(
        &client,
        "DELETE FROM Plain WHERE id = 'k' AND count = 1",
        vec![],
    )
    .await;
    assert_eq!(code, "ConditionalCheckFailedException", "{message}");
    assert!(exec(
        &client,
        "DELETE FROM Plain WHERE id = 'nope' AND count = 1",
        vec![]
    )
    .await
    .is_empty());
    let old = exec(
        &client,
        "DELETE FROM Plain WHERE id = 'k' RETURNING ALL OLD *",
        vec![],
    )
    .await;
    assert_eq!(old[0]["count"], n("10"));
    assert!(exec(&client, "SELECT * FROM Plain WHERE id = 'k'", vec![])
        .await
        .is_empty());
    let (_, message) = exec_err(
        &client,
        "DELETE FROM Plain WHERE id = 'k' RETURNING ALL NEW *",
        vec![],
    )
    .await;
    assert_eq!(
        message,
        "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements."
    );
}

#[tokio::test]
async fn insert_of_an_existing_key_is_a_duplicate_item() {
    let (server, client) = setup().await;
    exec(
        &client,
        "INSERT INTO Plain VALUE {'id': 'd', 'v': 1}",
        vec![],
    )
    .await;
    let answer = call(
        server.addr,
        "ExecuteStatement",
        json!({"Statement": "INSERT INTO Plain VALUE {'id': 'd', 'v': 2}"}),
    )
    .await;
    answer.assert_error(
        "com.amazonaws.dynamodb.v20120810#DuplicateItemException",
        Some("Duplicate primary key exists in table"),
    );
    let still = exec(&client, "SELECT v FROM Plain WHERE id = 'd'", vec![]).await;
    assert_eq!(still, vec![item(&[("v", n("1"))])]);
}

#[tokio::test]
async fn malformed_statements_get_dynamodb_messages() {
    let (server, client) = setup().await;
    for (statement, message) in [
        (
            "SELEC * FROM Plain",
            "Statement wasn't well formed, can't be processed: Expected data manipulation",
        ),
        (
            "SELECT * FROM Plain WHERE",
            "Statement wasn't well formed, can't be processed: Unexpected end of statement",
        ),
        (
            "SELECT * FROM WHERE id = 'a'",
            "Statement wasn't well formed, can't be processed: Unexpected keyword",
        ),
        (
            "SELECT * FROM Plain WHERE id = 'a",
            "Statement wasn't well formed, can't be processed: Unterminated string literal",
        ),
        (
            "SELECT * FROM Plain WHERE id IS MISSING AND x = MISSING",
            "MISSING must be compared using IS operator",
        ),
        (
            "EXISTS(SELECT * FROM Plain WHERE id = 'a')",
            "EXISTS can only be used in ExecuteTransaction write requests.",
        ),
    ] {
        let (code, got) = exec_err(&client, statement, vec![]).await;
        assert_eq!(
            (code.as_str(), got.as_str()),
            ("ValidationException", message),
            "{statement}"
        );
    }
    let (code, _) = exec_err(&client, "SELECT * FROM Nope WHERE id = 'a'", vec![]).await;
    assert_eq!(code, "ResourceNotFoundException");
    call(server.addr, "ExecuteStatement", json!({}))
        .await
        .assert_error(VALIDATION, Some("1 validation error detected: Value null at 'statement' failed to satisfy constraint: Member must not be null"));
}

#[tokio::test]
async fn next_token_pages_through_a_scan_and_a_query() {
    let (_server, client) = setup().await;
    for i in 0..7 {
        put(
            &client,
            "Music",
            &[("Artist", s("Acme")), ("SongTitle", s(&format!("t{i}")))],
        )
        .await;
    }
    for statement in [
        "SELECT * FROM Music",
        "SELECT * FROM Music WHERE Artist = 'Acme'",
    ] {
        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        for _ in 0..20 {
            let out = client
                .execute_statement()
                .statement(statement)
                .limit(3)
                .set_next_token(token.take())
                .send()
                .await
                .unwrap();
            assert!(out.items().len() <= 3);
            seen.extend(
                out.items()
                    .iter()
                    .map(|i| i["SongTitle"].as_s().unwrap().clone()),
            );
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            (0..7).map(|i| format!("t{i}")).collect::<Vec<_>>(),
            "{statement}"
        );
    }
    let first = client
        .execute_statement()
        .statement("SELECT * FROM Music")
        .limit(1)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_owned();
    let (_, message) = error_parts(
        client
            .execute_statement()
            .statement("SELECT * FROM Plain")
            .next_token(token)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "NextToken does not match request");
    let (_, message) = error_parts(
        client
            .execute_statement()
            .statement("SELECT * FROM Music")
            .next_token("zz")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(message, "Invalid NextToken");
}

fn stmt(statement: &str, params: Vec<AttributeValue>) -> BatchStatementRequest {
    BatchStatementRequest::builder()
        .statement(statement)
        .set_parameters((!params.is_empty()).then_some(params))
        .build()
        .unwrap()
}

#[tokio::test]
async fn batch_reports_each_statement_on_its_own() {
    let (server, client) = setup().await;
    put(&client, "Plain", &[("id", s("old")), ("v", n("1"))]).await;
    let out = client
        .batch_execute_statement()
        .statements(stmt("INSERT INTO Plain VALUE {'id': ?}", vec![s("new")]))
        .statements(stmt("INSERT INTO Plain VALUE {'id': 'old'}", vec![]))
        .statements(stmt(
            "UPDATE Plain SET v = 2 WHERE id = 'old' AND v = 5",
            vec![],
        ))
        .statements(stmt("DELETE FROM Plain WHERE id = ?", vec![]))
        .statements(stmt("UPDATE Nope SET v = 1 WHERE id = 'x'", vec![]))
        .statements(stmt("UPDATE Plain SET v = 3 WHERE id = 'old'", vec![]))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let codes: Vec<Option<BatchStatementErrorCodeEnum>> = out
        .responses()
        .iter()
        .map(|r| r.error().and_then(|e| e.code().cloned()))
        .collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some(BatchStatementErrorCodeEnum::DuplicateItem),
            Some(BatchStatementErrorCodeEnum::ConditionalCheckFailed),
            Some(BatchStatementErrorCodeEnum::ValidationError),
            Some(BatchStatementErrorCodeEnum::ResourceNotFound),
            None,
        ]
    );
    assert_eq!(
        out.responses()[3].error().unwrap().message(),
        Some("Number of parameters in request and statement don't match.")
    );
    assert_eq!(out.responses()[0].table_name(), Some("Plain"));
    let capacity = out.consumed_capacity();
    assert_eq!(capacity.len(), 1);
    // The two writes that succeeded, one unit each (a refused write reports no capacity,
    // as the item API's errors carry none).
    assert_eq!(capacity[0].capacity_units(), Some(2.0));
    // Reads by full key; a missing item has no Item.
    let out = client
        .batch_execute_statement()
        .statements(stmt("SELECT * FROM Plain WHERE id = 'old'", vec![]))
        .statements(stmt("SELECT * FROM Plain WHERE id = 'gone'", vec![]))
        .statements(stmt("SELECT * FROM Plain WHERE v = 3", vec![]))
        .send()
        .await
        .unwrap();
    let r = out.responses();
    assert_eq!(r[0].item().unwrap()["v"], n("3"));
    assert!(r[1].item().is_none() && r[1].error().is_none());
    assert_eq!(
        r[2].error().unwrap().code(),
        Some(&BatchStatementErrorCodeEnum::ValidationError)
    );
    // Reads and writes do not mix; at most 25 statements.
    let (code, _) = error_parts(
        client
            .batch_execute_statement()
            .statements(stmt("SELECT * FROM Plain WHERE id = 'old'", vec![]))
            .statements(stmt("DELETE FROM Plain WHERE id = 'old'", vec![]))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ValidationException");
    let many: Vec<_> = (0..26)
        .map(|_| json!({"Statement": "SELECT * FROM Plain WHERE id = 'a'"}))
        .collect();
    call(server.addr, "BatchExecuteStatement", json!({"Statements": many}))
        .await
        .assert_error(VALIDATION, Some("1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length less than or equal to 25"));
}

fn tx(statement: &str, params: Vec<AttributeValue>) -> ParameterizedStatement {
    ParameterizedStatement::builder()
        .statement(statement)
        .set_parameters((!params.is_empty()).then_some(params))
        .build()
        .unwrap()
}

fn canceled<R: std::fmt::Debug + Send + Sync + 'static>(
    err: SdkError<ExecuteTransactionError, R>,
) -> Vec<String> {
    match err.into_service_error() {
        ExecuteTransactionError::TransactionCanceledException(e) => e
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or_default().to_owned())
            .collect(),
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
}

#[tokio::test]
async fn transactions_commit_all_or_nothing() {
    let (_server, client) = setup().await;
    put(&client, "Plain", &[("id", s("a")), ("v", n("1"))]).await;
    client
        .execute_transaction()
        .transact_statements(tx("INSERT INTO Plain VALUE {'id': 'b', 'v': 2}", vec![]))
        .transact_statements(tx("UPDATE Plain SET v = v + 1 WHERE id = ?", vec![s("a")]))
        .transact_statements(tx(
            "INSERT INTO Music VALUE {'Artist': 'x', 'SongTitle': 'y'}",
            vec![],
        ))
        .send()
        .await
        .unwrap();
    // A failed condition, a duplicate insert and a failed EXISTS cancel everything.
    let err = client
        .execute_transaction()
        .transact_statements(tx("DELETE FROM Plain WHERE id = 'b'", vec![]))
        .transact_statements(tx("INSERT INTO Plain VALUE {'id': 'a'}", vec![]))
        .transact_statements(tx("UPDATE Plain SET v = 0 WHERE id = 'c'", vec![]))
        .transact_statements(tx(
            r#"EXISTS(SELECT * FROM Music WHERE Artist = 'x' AND SongTitle = 'y' AND plays > 1)"#,
            vec![],
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        canceled(err),
        [
            "None",
            "DuplicateItem",
            "ConditionalCheckFailed",
            "ConditionalCheckFailed"
        ]
    );
    // Nothing of it happened; a read transaction sees the committed state.
    let out = client
        .execute_transaction()
        .transact_statements(tx("SELECT v FROM Plain WHERE id = 'a'", vec![]))
        .transact_statements(tx("SELECT * FROM Plain WHERE id = 'b'", vec![]))
        .transact_statements(tx("SELECT * FROM Plain WHERE id = 'zz'", vec![]))
        .send()
        .await
        .unwrap();
    let r = out.responses();
    assert_eq!(r[0].item().unwrap(), &item(&[("v", n("2"))]));
    assert_eq!(r[1].item().unwrap()["v"], n("2"));
    assert!(r[2].item().is_none());
    let (code, message) = error_parts(
        client
            .execute_transaction()
            .transact_statements(tx("SELECT * FROM Plain WHERE v = 2", vec![]))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "Select statements within ExecuteTransaction must specify the primary key in the where clause.");
}

#[tokio::test]
async fn a_client_request_token_makes_a_retry_a_no_op() {
    let (_server, client) = setup().await;
    put(&client, "Plain", &[("id", s("n")), ("v", n("0"))]).await;
    for _ in 0..3 {
        client
            .execute_transaction()
            .client_request_token("token-1")
            .transact_statements(tx("UPDATE Plain SET v = v + 1 WHERE id = 'n'", vec![]))
            .send()
            .await
            .unwrap();
    }
    let got = exec(&client, "SELECT v FROM Plain WHERE id = 'n'", vec![]).await;
    assert_eq!(got, vec![item(&[("v", n("1"))])]);
    let (code, _) = error_parts(
        client
            .execute_transaction()
            .client_request_token("token-1")
            .transact_statements(tx("UPDATE Plain SET v = v + 5 WHERE id = 'n'", vec![]))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "IdempotentParameterMismatchException");
}

#[tokio::test]
async fn capacity_matches_the_item_api() {
    let (_server, client) = setup().await;
    let big = "x".repeat(5000);
    put(&client, "Plain", &[("id", s("c")), ("big", s(&big))]).await;
    let by_sql = client
        .execute_statement()
        .statement("SELECT * FROM Plain WHERE id = 'c'")
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let by_api = client
        .get_item()
        .table_name("Plain")
        .key("id", s("c"))
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(by_sql.consumed_capacity(), by_api.consumed_capacity());
    assert_eq!(
        by_sql.consumed_capacity().unwrap().capacity_units(),
        Some(2.0)
    );
    let insert = client
        .execute_statement()
        .statement("INSERT INTO Plain VALUE {'id': 'd', 'big': ?}")
        .parameters(s(&big))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(
        insert.consumed_capacity().unwrap().capacity_units(),
        Some(5.0)
    );
}

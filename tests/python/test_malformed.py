"""Malformed requests, sent as raw HTTP, must get DynamoDB's exact error bodies.

Every case is data: (id, operation, body, expected error). The expected texts are real DynamoDB
answers as recorded by dynalite's test suite (mhart/dynalite, architect/dynalite: test/helpers.js,
test/createTable.js, putItem.js, getItem.js, describeTable.js, listTables.js, scan.js, query.js
and validations/*.js), by electricimp's AWSDynamoDB negative tests run against real DynamoDB, and
by public logs of real DynamoDB errors. Cases whose text could not be
confirmed from such a source say so in a comment.

Three body shapes, as real DynamoDB sends them:
- coral SerializationException carries `Message` (capital M);
- a body that is not JSON at all, or an unknown operation, carries only `__type`;
- everything else carries `__type` and `message`.
"""

from __future__ import annotations

import pytest

import support

SER = "com.amazon.coral.service#SerializationException"
UNKNOWN_OP = "com.amazon.coral.service#UnknownOperationException"
VALIDATION = "com.amazon.coral.validate#ValidationException"
NOT_FOUND = "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
IN_USE = "com.amazonaws.dynamodb.v20120810#ResourceInUseException"

# The table every semantic case runs against (created once per module).
TABLE = "MalformedHands"
TABLE_DEFINITION = {
    "TableName": TABLE,
    "AttributeDefinitions": [
        {"AttributeName": "user_id", "AttributeType": "S"},
        {"AttributeName": "hand_timestamp", "AttributeType": "N"},
    ],
    "KeySchema": [
        {"AttributeName": "user_id", "KeyType": "HASH"},
        {"AttributeName": "hand_timestamp", "KeyType": "RANGE"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
MISSING = "NoSuchTableHere"

# Reused message texts.
BIG_NUMBER_TO_STRING = ("class com.amazon.coral.value.json.numbers.TruncatingBigNumber "
                        "can not be converted to an String")
PREFIX = "One or more parameter values were invalid: "
LONG_NAME = "a" * 256
# DynamoDB's wording, recorded by dynalite and reported by SDK users ("...: NaN"); a non-empty
# value is quoted after a colon. ("A value provided cannot be converted into a number" is
# DynamoDB Local's wording, not the service's.)
NOT_A_NUMBER = "The parameter cannot be converted to a numeric value"
NAME_LENGTH = "TableName must be at least 3 characters long and at most 255 characters long"


def key(user="u1", ts="1", **extra):
    """A valid PokerHands key (or item, with extra attributes) for TABLE."""
    item = {"user_id": {"S": user}, "hand_timestamp": {"N": ts}}
    item.update(extra)
    return item


def put(**attrs):
    """A PutItem body on TABLE: a valid key plus the given attributes."""
    return {"TableName": TABLE, "Item": key(**attrs)}


def put_item(item):
    return {"TableName": TABLE, "Item": item}


def ser(message=None):
    """SerializationException body; None means the bare form with only __type."""
    return {"__type": SER} if message is None else {"__type": SER, "Message": message}


def invalid(message):
    return {"__type": VALIDATION, "message": message}


def errors(*parts):
    """DynamoDB's combined constraint message, in the given (significant) order."""
    noun = "validation error" if len(parts) == 1 else "validation errors"
    return invalid(f"{len(parts)} {noun} detected: " + "; ".join(parts))


class AnyOrder:
    """A combined constraint message whose parts may come in any order.

    Used only where dynalite's recorded orders disagree between DynamoDB versions (CreateTable).
    """

    def __init__(self, *parts):
        self.parts = parts

    def check(self, body):
        assert body.get("__type") == VALIDATION, body
        message = body.get("message", "")
        noun = "validation error" if len(self.parts) == 1 else "validation errors"
        head = f"{len(self.parts)} {noun} detected: "
        assert message.startswith(head), message
        assert sorted(message[len(head):].split("; ")) == sorted(self.parts), message
        assert set(body) == {"__type", "message"}, body


def null_at(field):
    return f"Value null at '{field}' failed to satisfy constraint: Member must not be null"


def pattern_at(value, field):
    return (f"Value '{value}' at '{field}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")


def min_len_at(value, field, n=3):
    return (f"Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {n}")


def max_len_at(value, field, n=255):
    return (f"Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {n}")


def enum_at(value, field, allowed):
    return (f"Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{allowed}]")


def create(**fields):
    """A CreateTable body: a valid on-demand table named 'abc', with fields overridden (None drops)."""
    body = {
        "TableName": "abc",
        "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    for name, value in fields.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


AB_DEFS = [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}]

# (id, operation, body, expected). `body` is a str for raw bytes, else JSON-encoded.
# `expected` is the exact response body (a dict), or an AnyOrder.
CASES = [
    # --- framing and JSON shape (coral SerializationException) -------------------------------
    ("broken-json", "ListTables", '{"Limit": 5', ser()),
    ("empty-body", "ListTables", "", ser()),
    # Inferred: coral's rule for a list where a structure is expected (dynalite helpers, Structure).
    ("body-is-a-list", "ListTables", "[]", ser("Start of list found where not expected")),
    ("unknown-operation", "Frobnicate", {}, {"__type": UNKNOWN_OP}),
    ("tablename-number", "DescribeTable", {"TableName": 23}, ser(BIG_NUMBER_TO_STRING)),
    ("tablename-float", "DescribeTable", {"TableName": 34.56}, ser(BIG_NUMBER_TO_STRING)),
    ("tablename-bool", "DescribeTable", {"TableName": True},
     ser("class java.lang.Boolean can not be converted to an String")),
    ("tablename-list", "DescribeTable", {"TableName": []}, ser("Start of list found where not expected")),
    ("tablename-object", "DescribeTable", {"TableName": {}},
     ser("Start of structure or map found where not expected.")),
    ("limit-string", "ListTables", {"Limit": "5"},
     ser("class java.lang.String can not be converted to an Integer")),
    ("limit-bool", "ListTables", {"Limit": True},
     ser("class java.lang.Boolean can not be converted to an Integer")),
    ("limit-object", "ListTables", {"Limit": {}}, ser("Start of structure or map found where not expected.")),
    ("item-list", "PutItem", {"TableName": TABLE, "Item": []}, ser("Start of list found where not expected")),
    ("item-string", "PutItem", {"TableName": TABLE, "Item": "x"}, ser("Expected map or null")),
    ("keyschema-string", "CreateTable", create(KeySchema="x"), ser("Expected list or null")),
    # Inside an AttributeValue a number in S gets a different text from a top-level field
    # (recorded against real DynamoDB by electricimp's AWSDynamoDB negative tests).
    ("attr-s-number", "PutItem", put(note={"S": 5}), ser("NUMBER_VALUE cannot be converted to String")),
    ("attr-value-list", "PutItem", put(note=[]), ser("Start of list found where not expected")),
    ("attr-value-string", "PutItem", put(note="x"), ser("Expected null")),
    ("consistentread-string", "GetItem", {"TableName": TABLE, "Key": key(), "ConsistentRead": "23"},
     ser("'23' can not be converted to an Boolean")),

    # --- request constraints (ValidationException, exact text and order) ----------------------
    ("describe-no-tablename", "DescribeTable", {},
     invalid("The paramater 'tableName' is required but was not present in the request")),  # sic
    # DescribeTable reports a malformed name as the generic validator does (the ack-api-quirks
    # lab's DDB-TABLE-457, recorded live: "Value '' at 'tableName' ... length greater than or
    # equal to 3"), not with CreateTable's sentence.
    ("describe-short-tablename", "DescribeTable", {"TableName": "ab"},
     errors(min_len_at("ab", "tableName"))),
    ("describe-long-tablename", "DescribeTable", {"TableName": LONG_NAME},
     errors(max_len_at(LONG_NAME, "tableName"))),
    ("describe-bad-characters", "DescribeTable", {"TableName": "abc;"},
     errors(pattern_at("abc;", "tableName"))),
    ("create-no-tablename", "CreateTable", {},
     invalid("The parameter 'TableName' is required but was not present in the request")),
    ("create-short-tablename", "CreateTable", create(TableName="a;"), invalid(NAME_LENGTH)),
    ("getitem-empty", "GetItem", {}, errors(null_at("tableName"), null_at("key"))),
    ("putitem-empty-tablename", "PutItem", {"TableName": ""},
     errors(pattern_at("", "tableName"), min_len_at("", "tableName"), null_at("item"))),
    ("putitem-short-tablename", "PutItem", {"TableName": "a;"},
     errors(pattern_at("a;", "tableName"), min_len_at("a;", "tableName"), null_at("item"))),
    ("putitem-long-tablename", "PutItem", {"TableName": LONG_NAME},
     errors(max_len_at(LONG_NAME, "tableName"), null_at("item"))),
    ("putitem-five-errors-in-order", "PutItem",
     {"TableName": "abc;", "ReturnConsumedCapacity": "hi", "ReturnItemCollectionMetrics": "hi",
      "ReturnValues": "hi"},
     errors(enum_at("hi", "returnConsumedCapacity", "INDEXES, TOTAL, NONE"),
            pattern_at("abc;", "tableName"),
            null_at("item"),
            enum_at("hi", "returnValues", "ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW"),
            enum_at("hi", "returnItemCollectionMetrics", "SIZE, NONE"))),
    ("getitem-four-errors-in-order", "GetItem",
     {"TableName": "abc;", "ReturnConsumedCapacity": "hi", "AttributesToGet": []},
     errors(enum_at("hi", "returnConsumedCapacity", "INDEXES, TOTAL, NONE"),
            "Value '[]' at 'attributesToGet' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
            pattern_at("abc;", "tableName"),
            null_at("key"))),
    ("listtables-limit-0", "ListTables", {"Limit": 0},
     errors("Value '0' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1")),
    ("listtables-limit-101", "ListTables", {"Limit": 101},
     errors("Value '101' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 100")),
    ("listtables-three-errors-in-order", "ListTables", {"ExclusiveStartTableName": "a;", "Limit": 500},
     errors("Value '500' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 100",
            pattern_at("a;", "exclusiveStartTableName"),
            min_len_at("a;", "exclusiveStartTableName"))),
    ("create-nulls", "CreateTable", {"TableName": "abc;"},
     AnyOrder(null_at("attributeDefinitions"), pattern_at("abc;", "tableName"), null_at("keySchema"))),
    ("create-missing-keyschema", "CreateTable", create(KeySchema=None), errors(null_at("keySchema"))),
    ("create-bad-keytype", "CreateTable",
     create(KeySchema=[{"AttributeName": "a", "KeyType": "Woop"}]),
     errors(enum_at("Woop", "keySchema.1.member.keyType", "HASH, RANGE"))),
    ("create-bad-attribute-type", "CreateTable",
     create(AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "SS"}]),
     errors(enum_at("SS", "attributeDefinitions.1.member.attributeType", "B, N, S"))),
    ("create-definition-members-null", "CreateTable", create(AttributeDefinitions=[{}]),
     AnyOrder(null_at("attributeDefinitions.1.member.attributeName"),
              null_at("attributeDefinitions.1.member.attributeType"))),

    # --- CreateTable semantics ----------------------------------------------------------------
    ("create-keys-not-defined", "CreateTable",
     create(AttributeDefinitions=[{"AttributeName": "b", "AttributeType": "S"}]),
     invalid(PREFIX + "Some index key attributes are not defined in AttributeDefinitions. "
                      "Keys: [a], AttributeDefinitions: [b]")),
    ("create-extra-definitions", "CreateTable", create(AttributeDefinitions=AB_DEFS),
     invalid(PREFIX + "Number of attributes in KeySchema does not exactly match number of "
                      "attributes defined in AttributeDefinitions")),
    ("create-two-hash-keys", "CreateTable",
     create(AttributeDefinitions=AB_DEFS,
            KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "HASH"}]),
     invalid("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")),
    ("create-range-first", "CreateTable",
     create(AttributeDefinitions=AB_DEFS,
            KeySchema=[{"AttributeName": "a", "KeyType": "RANGE"}, {"AttributeName": "b", "KeyType": "HASH"}]),
     invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")),
    ("create-same-key-twice", "CreateTable",
     create(AttributeDefinitions=AB_DEFS,
            KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "a", "KeyType": "HASH"}]),
     invalid("Both the Hash Key and the Range Key element in the KeySchema have the same name")),
    ("create-on-demand-with-throughput", "CreateTable",
     create(ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
     invalid(PREFIX + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                      "BillingMode is PAY_PER_REQUEST")),
    ("create-provisioned-without-throughput", "CreateTable", create(BillingMode=None),
     invalid(PREFIX + "ReadCapacityUnits and WriteCapacityUnits must both be specified when "
                      "BillingMode is PROVISIONED")),
    ("create-existing-table", "CreateTable", TABLE_DEFINITION,
     {"__type": IN_USE, "message": f"Table already exists: {TABLE}"}),

    # --- unknown tables -----------------------------------------------------------------------
    ("getitem-unknown-table", "GetItem", {"TableName": MISSING, "Key": {"a": {"S": "x"}}},
     {"__type": NOT_FOUND, "message": "Requested resource not found"}),
    ("putitem-unknown-table", "PutItem", {"TableName": MISSING, "Item": {"a": {"S": "x"}}},
     {"__type": NOT_FOUND, "message": "Requested resource not found"}),
    ("describe-unknown-table", "DescribeTable", {"TableName": MISSING},
     {"__type": NOT_FOUND, "message": f"Requested resource not found: Table: {MISSING} not found"}),

    # --- attribute values -----------------------------------------------------------------------
    ("item-too-big", "PutItem", put(payload={"S": "x" * 410_000}),
     invalid("Item size has exceeded the maximum allowed size")),
    ("number-39-digits", "PutItem", put(n={"N": "123456789012345678901234567890123456789"}),
     invalid("Attempting to store more than 38 significant digits in a Number")),
    ("number-39-digits-fraction", "PutItem", put(n={"N": "-1.23456789012345678901234567890123456789"}),
     invalid("Attempting to store more than 38 significant digits in a Number")),
    ("number-invalid", "PutItem", put(n={"N": "b"}),
     invalid(NOT_A_NUMBER + ": b")),
    ("number-empty", "PutItem", put(n={"N": ""}),
     invalid(NOT_A_NUMBER)),
    ("number-overflow", "PutItem", put(n={"N": "1e126"}),
     invalid("Number overflow. Attempting to store a number with magnitude larger than supported range")),
    ("number-overflow-negative", "PutItem", put(n={"N": "-1e126"}),
     invalid("Number overflow. Attempting to store a number with magnitude larger than supported range")),
    ("number-underflow", "PutItem", put(n={"N": "1e-131"}),
     invalid("Number underflow. Attempting to store a number with magnitude smaller than supported range")),
    ("number-set-invalid-member", "PutItem", put(ns={"NS": ["1", "b", "a"]}),
     invalid(NOT_A_NUMBER + ": b")),
    ("empty-string-set", "PutItem", put(s={"SS": []}), invalid(PREFIX + "An string set  may not be empty")),
    ("empty-number-set", "PutItem", put(s={"NS": []}), invalid(PREFIX + "An number set  may not be empty")),
    ("empty-binary-set", "PutItem", put(s={"BS": []}), invalid(PREFIX + "Binary sets should not be empty")),
    ("duplicate-string-set", "PutItem", put(s={"SS": ["a", "a"]}),
     invalid(PREFIX + "Input collection [a, a] contains duplicates.")),
    ("duplicate-number-set", "PutItem", put(s={"NS": ["1", "1"]}),
     invalid("Input collection contains duplicates")),
    ("duplicate-binary-set", "PutItem", put(s={"BS": ["Yg==", "Yg=="]}),
     invalid(PREFIX + "Input collection [Yg==, Yg==]of type BS contains duplicates.")),
    ("empty-attribute-value", "PutItem", put(v={}),
     invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")),
    ("unknown-attribute-type", "PutItem", put(v={"a": ""}),
     invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")),
    ("empty-value-in-list", "PutItem", put(v={"L": [{}]}),
     invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")),
    ("two-types", "PutItem", put(v={"S": "a", "N": "1"}),
     invalid("Supplied AttributeValue has more than one datatypes set, "
             "must contain exactly one of the supported datatypes")),
    ("null-false", "PutItem", put(v={"NULL": False}),
     invalid(PREFIX + "Null attribute value types must have the value of true")),

    # --- keys -----------------------------------------------------------------------------------
    ("key-type-mismatch", "PutItem", put_item({"user_id": {"N": "1"}, "hand_timestamp": {"N": "1"}}),
     invalid(PREFIX + "Type mismatch for key user_id expected: S actual: N")),
    ("range-key-type-mismatch", "PutItem", put_item({"user_id": {"S": "u"}, "hand_timestamp": {"S": "1"}}),
     invalid(PREFIX + "Type mismatch for key hand_timestamp expected: N actual: S")),
    ("missing-hash-key", "PutItem", put_item({"hand_timestamp": {"N": "1"}}),
     invalid(PREFIX + "Missing the key user_id in the item")),
    ("missing-range-key", "PutItem", put_item({"user_id": {"S": "u"}}),
     invalid(PREFIX + "Missing the key hand_timestamp in the item")),
    ("empty-string-key", "PutItem", put_item({"user_id": {"S": ""}, "hand_timestamp": {"N": "1"}}),
     invalid("One or more parameter values are not valid. The AttributeValue for a key attribute "
             "cannot contain an empty string value. Key: user_id")),
    ("hash-key-too-big", "PutItem", put_item({"user_id": {"S": "h" * 2049}, "hand_timestamp": {"N": "1"}}),
     invalid(PREFIX + "Size of hashkey has exceeded the maximum size limit of2048 bytes")),
    ("getitem-missing-range-key", "GetItem", {"TableName": TABLE, "Key": {"user_id": {"S": "u"}}},
     invalid("The provided key element does not match the schema")),
    ("getitem-extra-key-attribute", "GetItem", {"TableName": TABLE, "Key": key(extra={"S": "x"})},
     invalid("The provided key element does not match the schema")),
    ("getitem-wrong-key-type", "GetItem",
     {"TableName": TABLE, "Key": {"user_id": {"N": "1"}, "hand_timestamp": {"N": "1"}}},
     invalid("The provided key element does not match the schema")),
    ("putitem-returnvalues-all-new", "PutItem", {**put(), "ReturnValues": "ALL_NEW"},
     invalid("ReturnValues can only be ALL_OLD or NONE")),

    # --- Query and Scan ---------------------------------------------------------------------------
    ("query-without-key-condition", "Query", {"TableName": TABLE},
     invalid("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")),
    ("scan-segment-not-below-total", "Scan", {"TableName": TABLE, "Segment": 2, "TotalSegments": 2},
     invalid("The Segment parameter is zero-based and must be less than parameter TotalSegments: "
             "Segment: 2 is not less than TotalSegments: 2")),
    ("scan-segment-without-total", "Scan", {"TableName": TABLE, "Segment": 1},
     invalid("The TotalSegments parameter is required but was not present in the request when "
             "Segment parameter is present")),
    ("scan-total-without-segment", "Scan", {"TableName": TABLE, "TotalSegments": 2},
     invalid("The Segment parameter is required but was not present in the request when parameter "
             "TotalSegments is present")),
]


@pytest.fixture(scope="module")
def malformed_endpoint(memory_server):
    client = support.make_client(memory_server.endpoint)
    client.create_table(**TABLE_DEFINITION)
    client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return memory_server.endpoint


@pytest.mark.parametrize("operation,body,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_request(malformed_endpoint, operation, body, expected):
    response = support.raw_post(malformed_endpoint, operation, body)
    assert response.status_code == 400, response.text
    try:
        answer = response.json()
    except ValueError:
        pytest.fail(f"error body is not JSON: {response.text!r}")
    if isinstance(expected, AnyOrder):
        expected.check(answer)
    else:
        assert answer == expected


def test_cases_are_many_and_distinct():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 35


def test_server_still_answers_after_malformed_requests(malformed_endpoint):
    # Runs after the parametrised cases (pytest keeps file order): the server must be unharmed.
    for _id, operation, body, _expected in CASES:
        support.raw_post(malformed_endpoint, operation, body)
    client = support.make_client(malformed_endpoint)
    assert TABLE in client.list_tables()["TableNames"]
    response = support.raw_post(malformed_endpoint, "ListTables", {})
    assert response.status_code == 200
    assert TABLE in response.json()["TableNames"]

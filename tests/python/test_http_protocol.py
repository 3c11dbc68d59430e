"""The HTTP side of DynamoDB's protocol, through the clients most users have (requests, boto3).

Compression both ways, CORS, the health check, refused methods and paths, 413 and connections
that survive error answers. Expected behaviour is DynamoDB's as ScyllaDB's Alternator tests
recorded it against DynamoDB (test_compressed_request.py, test_compressed_response.py,
test_cors.py, test_health.py) and as dynalite's connection tests recorded it.
"""

from __future__ import annotations

import gzip
import json
import socket
import zlib

import botocore.config
import pytest
import requests

import support

TABLE = "HttpProtocol"
INTERNAL = "com.amazonaws.dynamodb.v20120810#InternalServerError"
UNKNOWN_OP = "com.amazon.coral.service#UnknownOperationException"


@pytest.fixture(scope="module")
def endpoint(memory_server):
    client = support.make_client(memory_server.endpoint)
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return memory_server.endpoint


def put_body(pk: str, x: str) -> bytes:
    return json.dumps({"TableName": TABLE, "Item": {"pk": {"S": pk}, "x": {"S": x}}}).encode()


def get_x(endpoint: str, pk: str):
    item = support.make_client(endpoint).get_item(
        TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True
    ).get("Item")
    return item["x"]["S"] if item else None


def post(endpoint: str, operation: str, body: bytes, **headers) -> requests.Response:
    headers = {
        "X-Amz-Target": support.TARGET_PREFIX + operation,
        "Content-Type": "application/x-amz-json-1.0",
        **headers,
    }
    return requests.post(endpoint + "/", data=body, headers=headers, timeout=30)


def test_boto3_compressed_requests_are_read(endpoint):
    # botocore compresses request bodies for operations its service model marks; DynamoDB's
    # model marks none yet, so mark them all, as Alternator's tests do.
    config = support.client_config().merge(
        botocore.config.Config(request_min_compression_size_bytes=1)
    )
    client = support.session().client("dynamodb", endpoint_url=endpoint, config=config)
    model = client.meta.service_model._service_description["operations"]
    for operation in model.values():
        operation["requestcompression"] = {"encodings": ["gzip"]}
    client.put_item(TableName=TABLE, Item={"pk": {"S": "boto"}, "x": {"S": "y" * 10_000}})
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "boto"}}, ConsistentRead=True)["Item"]
    assert item["x"]["S"] == "y" * 10_000


def test_gzip_and_deflate_request_bodies(endpoint):
    assert post(endpoint, "PutItem", gzip.compress(put_body("g", "1")),
                **{"Content-Encoding": "gzip"}).status_code == 200
    assert post(endpoint, "PutItem", zlib.compress(put_body("d", "2")),
                **{"Content-Encoding": "deflate"}).status_code == 200
    body = put_body("two", "3")
    two = gzip.compress(body[:10]) + gzip.compress(body[10:])
    assert post(endpoint, "PutItem", two, **{"Content-Encoding": "gzip"}).status_code == 200
    assert (get_x(endpoint, "g"), get_x(endpoint, "d"), get_x(endpoint, "two")) == ("1", "2", "3")


@pytest.mark.parametrize("encoding, body", [
    ("garbage", put_body("bad1", "1")),
    ("gzip", put_body("bad2", "1")),
    ("gzip", gzip.compress(put_body("bad3", "1"))[:-1]),
    ("gzip", b""),
])
def test_unreadable_encodings_are_server_errors(endpoint, encoding, body):
    r = post(endpoint, "PutItem", body, **{"Content-Encoding": encoding})
    assert r.status_code == 500
    assert r.json()["__type"] == INTERNAL
    for pk in ("bad1", "bad2", "bad3"):
        assert get_x(endpoint, pk) is None


def test_inflated_body_over_16_mb_is_413(endpoint):
    body = put_body("bomb", "1")
    body = body[:-1] + b" " * (16 * 1024 * 1024 + 1) + body[-1:]
    r = post(endpoint, "PutItem", gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert get_x(endpoint, "bomb") is None


def test_large_responses_are_compressed_when_accepted(endpoint):
    x = "x" * 5000
    assert post(endpoint, "PutItem", put_body("big", x)).status_code == 200
    get = json.dumps({"TableName": TABLE, "Key": {"pk": {"S": "big"}}}).encode()
    for accept, expected in [("gzip", "gzip"), ("deflate", "deflate"), ("gzip;q=0.5, deflate", "deflate"),
                             ("identity", None), ("br", None)]:
        # requests inflates gzip and deflate itself; the header says what was sent.
        r = post(endpoint, "GetItem", get, **{"Accept-Encoding": accept})
        assert r.status_code == 200
        assert r.headers.get("Content-Encoding") == expected, accept
        assert r.json()["Item"]["x"]["S"] == x
    small = json.dumps({"TableName": TABLE, "Key": {"pk": {"S": "big"}},
                        "ProjectionExpression": "pk"}).encode()
    r = post(endpoint, "GetItem", small, **{"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers
    # Through boto3 too: it sends no Accept-Encoding of its own, so nothing changes for it.
    item = support.make_client(endpoint).get_item(TableName=TABLE, Key={"pk": {"S": "big"}})["Item"]
    assert item["x"]["S"] == x


def test_server_header_and_cors(endpoint):
    r = post(endpoint, "ListTables", b"{}")
    assert r.headers["Server"] == "Server"
    assert "Access-Control-Allow-Origin" not in r.headers
    r = post(endpoint, "ListTables", b"{}", Origin="http://example.com")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Access-Control-Expose-Headers"] == \
        "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"
    assert "Access-Control-Max-Age" not in r.headers
    r = requests.options(endpoint + "/", timeout=10, headers={
        "Origin": "http://example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target, content-type, authorization",
    })
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Access-Control-Allow-Methods"] == "POST"
    assert r.headers["Access-Control-Allow-Headers"] == "x-amz-target, content-type, authorization"
    assert r.headers["Access-Control-Max-Age"] == "172800"


def test_health_check_and_refused_requests(endpoint):
    r = requests.get(endpoint + "/", timeout=10)
    assert r.status_code == 200
    assert r.text == "healthy: " + endpoint.removeprefix("http://")
    # (DynamoDB answers GET /health with this 404 too; binderdb serves its load balancers'
    # health check there, see test_realism.py.)
    for method, path in [("GET", "/abc"), ("GET", "/healthz"), ("PUT", "/"), ("DELETE", "/"),
                         ("OPTIONS", "/")]:
        r = requests.request(method, endpoint + path, timeout=10)
        assert r.status_code == 404, (method, path)
        assert r.text == "<UnknownOperationException/>\n"
    r = post(endpoint, "ListTables", b"{}", **{"Content-Type": "text/plain"})
    assert r.status_code == 404
    r = post(endpoint, "ListTables", b"{}", **{"Content-Type": "application/json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"


def test_declared_body_over_16_mb_is_refused_without_reading_it(endpoint):
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall((
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {16 * 1024 * 1024 + 1}\r\n\r\n"
        ).encode())
        status_line = s.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Payload Too Large"


def test_connection_survives_error_answers(endpoint):
    with requests.Session() as session:
        big = b" " * 200_000
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        for target, body, status in [
            ("DynamoDB_20120810.DescribeKinesisStreamingDestination", big, 400),
            ("DynamoDB_20120810.ListTables", b"{", 400),
            ("DynamoDB_20120810.ListTables", b"{}", 200),
            ("DynamoDB_20120810.NoSuchThing", big, 400),
            ("DynamoDB_20120810.ListTables", b"{}", 200),
        ]:
            r = session.post(endpoint + "/", data=body, timeout=30,
                             headers={**headers, "X-Amz-Target": target})
            assert r.status_code == status, target
        unknown = session.post(endpoint + "/", data=big, timeout=30,
                               headers={**headers, "X-Amz-Target": "Nope"})
        assert unknown.json() == {"__type": UNKNOWN_OP}


def test_describe_endpoints(endpoint):
    answer = support.make_client(endpoint).describe_endpoints()
    assert answer["Endpoints"] == [{
        "Address": endpoint.removeprefix("http://"),
        "CachePeriodInMinutes": 1440,
    }]

"""Export and import through boto3, with an independent reader of the export format.

The reader below is written from the AWS documentation of DynamoDB's export output
("DynamoDB table export output format"): `manifest-summary.json` names `manifest-files.json`,
whose JSON lines name each gzip data file with its item count, its MD5 (base64 in
`md5Checksum`, hex in `etag`); a DynamoDB JSON data line is `{"Item": {...}}` in the API's
attribute-value form; an Ion data file is Ion text whose values are `{Item: {...}}`, numbers
as decimals, binary as blobs and sets as lists annotated `$dynamodb_SS`/`NS`/`BS`. Ion is
parsed with the `amazon.ion` package, not with anything of binderdb's.
"""

from __future__ import annotations

import base64
import decimal
import gzip
import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import zstandard
from amazon.ion import simpleion
from boto3.dynamodb.types import Binary, TypeDeserializer

import support

ITEMS = 150


@pytest.fixture(scope="module")
def s3_server():
    root = Path(tempfile.mkdtemp(prefix="binderdb-s3-"))
    (root / "exports").mkdir()
    srv = support.Server(in_memory=True, extra_args=["--s3-dir", str(root)]).start()
    yield srv, root
    assert srv.stop() == 0
    shutil.rmtree(root, ignore_errors=True)


def wait_export(client, arn: str) -> dict:
    """DescribeExport polled as a waiter does until the export leaves IN_PROGRESS (60 s at most)."""
    for _ in range(1200):
        d = client.describe_export(ExportArn=arn)["ExportDescription"]
        if d["ExportStatus"] != "IN_PROGRESS":
            return d
        time.sleep(0.05)
    raise AssertionError(f"export {arn} still IN_PROGRESS after 60 s")


def wait_import(client, arn: str) -> dict:
    """DescribeImport polled as a waiter does until the import leaves IN_PROGRESS (60 s at most)."""
    for _ in range(1200):
        d = client.describe_import(ImportArn=arn)["ImportTableDescription"]
        if d["ImportStatus"] != "IN_PROGRESS":
            return d
        time.sleep(0.05)
    raise AssertionError(f"import {arn} still IN_PROGRESS after 60 s")


def _python(value):
    """An attribute value as plain Python, sets as sorted lists (for comparison)."""
    if isinstance(value, set):
        return sorted((_python(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, Binary):
        return bytes(value.value)
    return value


def _from_ion(value):
    annotations = [a.text for a in getattr(value, "ion_annotations", ())]
    if annotations and annotations[0].startswith("$dynamodb_"):
        return sorted((_from_ion(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {k: _from_ion(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_ion(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return decimal.Decimal(value)
    if value is None or getattr(value, "ion_type", None) is not None and value.ion_type.name == "NULL":
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    return value


def _from_json(av: dict):
    """A DynamoDB JSON attribute value (as the API writes it: numbers as strings, binary as
    base64) as plain Python."""
    (kind, v), = av.items()
    if kind == "S":
        return v
    if kind == "N":
        return decimal.Decimal(v)
    if kind == "B":
        return base64.b64decode(v)
    if kind == "BOOL":
        return v
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _from_json(x) for k, x in v.items()}
    if kind == "L":
        return [_from_json(x) for x in v]
    if kind == "SS":
        return sorted(v, key=repr)
    if kind == "NS":
        return sorted((decimal.Decimal(x) for x in v), key=repr)
    if kind == "BS":
        return sorted((base64.b64decode(x) for x in v), key=repr)
    raise AssertionError(f"unknown type {kind}")


def read_export(bucket, summary_key: str) -> tuple[dict, list[dict]]:
    """The summary and every item of an export, checking each file's MD5 and item count.

    `bucket` is a local directory, or a function from an object key to its bytes (an S3
    client's GetObject)."""
    get = bucket if callable(bucket) else (lambda key: (bucket / key).read_bytes())
    summary = json.loads(get(summary_key))
    files = get(summary["manifestFilesS3Key"]).decode().splitlines()
    items = []
    for line in files:
        entry = json.loads(line)
        raw = get(entry["dataFileS3Key"])
        digest = hashlib.md5(raw).digest()
        assert entry["md5Checksum"] == base64.b64encode(digest).decode()
        assert entry["etag"] == digest.hex()
        text = gzip.decompress(raw).decode()
        if summary["outputFormat"] == "DYNAMODB_JSON":
            found = [json.loads(l)["Item"] for l in text.splitlines() if l.strip()]
            found = [{k: _from_json(v) for k, v in i.items()} for i in found]
        else:
            values = simpleion.loads(text, single_value=False) if text.strip() else []
            found = [{k: _from_ion(v) for k, v in value["Item"].items()} for value in values]
        assert len(found) == entry["itemCount"]
        items.extend(found)
    assert len(items) == summary["itemCount"]
    return summary, items


def _table(client, name: str) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def _items(client, table: str) -> list[dict]:
    deserializer = TypeDeserializer()
    out = [
        {k: _python(deserializer.deserialize(v)) for k, v in item.items()}
        for item in support.scan_all(client, table)
    ]
    return sorted(out, key=lambda i: (i["pk"], i["sk"]))


def _fill(client, table: str) -> None:
    for i in range(ITEMS):
        client.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"p{i % 9}"},
                "sk": {"N": f"{i}.25"},
                "text": {"S": f"\"quoted\" {i}\n\\ ünï"},
                "bin": {"B": bytes([0, i % 256, 255])},
                "flag": {"BOOL": i % 2 == 0},
                "none": {"NULL": True},
                "ss": {"SS": ["x", "y"]},
                "ns": {"NS": ["1", "0.5", "-7e10"]},
                "bs": {"BS": [b"\x00", b"\x01"]},
                "m": {"M": {"l": {"L": [{"N": "12345678901234567890123456789012345678"}, {"M": {}}]}}},
            },
        )


@pytest.mark.parametrize("fmt", ["DYNAMODB_JSON", "ION"])
def test_the_independent_reader_reads_the_export_and_imports_round_trip(s3_server, fmt):
    srv, root = s3_server
    client = support.make_client(srv.endpoint)
    source = f"Src{fmt.replace('_', '')}"
    _table(client, source)
    _fill(client, source)
    expected = _items(client, source)
    arn = f"arn:aws:dynamodb:us-east-1:000000000000:table/{source}"

    started = client.export_table_to_point_in_time(
        TableArn=arn, S3Bucket="exports", S3Prefix="py", ExportFormat=fmt
    )["ExportDescription"]
    assert started["ExportStatus"] == "IN_PROGRESS"
    described = wait_export(client, started["ExportArn"])
    assert described["ExportStatus"] == "COMPLETED"
    assert described["ItemCount"] == ITEMS
    assert described["ExportFormat"] == fmt
    summary, exported = read_export(root / "exports", described["ExportManifest"])
    assert summary["exportArn"] == started["ExportArn"]
    assert summary["tableArn"] == arn
    exported.sort(key=lambda i: (i["pk"], i["sk"]))
    assert exported == expected

    # The data files again as ZSTD, and uncompressed: both import back to the same table.
    export_id = started["ExportArn"].rsplit("/", 1)[1]
    data = root / "exports" / "py" / "AWSDynamoDB" / export_id / "data"
    for compression in ["ZSTD", "NONE", "GZIP"]:
        prefix = f"py/AWSDynamoDB/{export_id}/data/"
        if compression != "GZIP":
            prefix = f"recompressed-{fmt}-{compression}/"
            (root / "exports" / prefix).mkdir()
            for f in data.iterdir():
                plain = gzip.decompress(f.read_bytes())
                body = zstandard.ZstdCompressor().compress(plain) if compression == "ZSTD" else plain
                (root / "exports" / prefix / f.name).write_bytes(body)
        target = f"Dst{fmt.replace('_', '')}{compression}"
        imported = client.import_table(
            S3BucketSource={"S3Bucket": "exports", "S3KeyPrefix": prefix},
            InputFormat=fmt,
            InputCompressionType=compression,
            TableCreationParameters={
                "TableName": target,
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                ],
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
        )["ImportTableDescription"]
        assert imported["ImportStatus"] == "IN_PROGRESS"
        done = wait_import(client, imported["ImportArn"])
        assert done["ImportStatus"] == "COMPLETED", done
        assert done["ImportedItemCount"] == ITEMS
        assert done["ErrorCount"] == 0
        assert done["InputCompressionType"] == compression
        assert _items(client, target) == expected

    listed = client.list_exports(TableArn=arn)["ExportSummaries"]
    assert [e["ExportArn"] for e in listed] == [started["ExportArn"]]


def test_errors_through_boto3(s3_server):
    srv, _ = s3_server
    client = support.make_client(srv.endpoint)
    missing = "arn:aws:dynamodb:us-east-1:000000000000:table/Nope/export/01700000000000-00000000"
    with pytest.raises(client.exceptions.ExportNotFoundException):
        client.describe_export(ExportArn=missing)
    with pytest.raises(client.exceptions.ImportNotFoundException):
        client.describe_import(ImportArn=missing.replace("export", "import"))
    with pytest.raises(client.exceptions.TableNotFoundException):
        client.export_table_to_point_in_time(
            TableArn="arn:aws:dynamodb:us-east-1:000000000000:table/Nope", S3Bucket="exports"
        )


def test_the_cli_round_trip(s3_server, tmp_path):
    """`binderdb export` then `binderdb import` against the endpoint: the copy equals the
    table, and the CLI's files read with the same independent reader."""
    import subprocess

    srv, _ = s3_server
    client = support.make_client(srv.endpoint)
    _table(client, "CliSource")
    _fill(client, "CliSource")
    expected = _items(client, "CliSource")
    binary = str(support.binary_path())
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "dump"
    subprocess.run(
        [binary, "export", "--endpoint", srv.endpoint, "--table", "CliSource", "--to", str(out),
         "--segments", "3", "--format", "ION"],
        check=True, env=env, timeout=60,
    )
    summaries = list(out.glob("AWSDynamoDB/*/manifest-summary.json"))
    assert len(summaries) == 1
    summary, exported = read_export(out, str(summaries[0].relative_to(out)))
    assert summary["itemCount"] == ITEMS
    assert len(json.loads("[" + ",".join((out / summary["manifestFilesS3Key"]).read_text().split()) + "]")) == 3
    assert sorted(exported, key=lambda i: (i["pk"], i["sk"])) == expected

    _table(client, "CliCopy")
    done = subprocess.run(
        [binary, "import", "--endpoint", srv.endpoint, "--table", "CliCopy", "--from", str(out),
         "--connections", "4"],
        check=True, env=env, timeout=60, capture_output=True, text=True,
    )
    assert f"imported {ITEMS} items" in done.stderr
    assert _items(client, "CliCopy") == expected

    missing = subprocess.run(
        [binary, "import", "--endpoint", srv.endpoint, "--table", "NoSuchTable", "--from", str(out)],
        env=env, timeout=60, capture_output=True, text=True,
    )
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_an_import_interrupted_by_a_crash_or_a_stop_fails_and_leaves_no_table(tmp_path, how):
    """A durable server killed (SIGKILL) or stopped (SIGTERM) while an import loads: after the
    restart, DescribeImport says FAILED (the job is not resumed) and the half-loaded table is
    gone, so the import can simply be started again."""
    root = tmp_path / "buckets"
    (root / "big").mkdir(parents=True)
    with open(root / "big" / "items.json", "w") as f:
        for i in range(400_000):
            f.write(f'{{"Item":{{"pk":{{"S":"k{i}"}},"v":{{"N":"{i}"}}}}}}\n')
    data = support.new_data_dir()
    args = ["--s3-dir", str(root)]
    srv = support.Server(in_memory=False, data_dir=data, extra_args=args).start()
    client = support.make_client(srv.endpoint)
    arn = client.import_table(
        S3BucketSource={"S3Bucket": "big"},
        InputFormat="DYNAMODB_JSON",
        TableCreationParameters={
            "TableName": "Interrupted",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]["ImportArn"]
    # Interrupt it once it is visibly loading (its counters saved at least once).
    assert support.wait_until(
        lambda: client.describe_import(ImportArn=arn)["ImportTableDescription"]
        .get("ProcessedItemCount", 0) > 0,
        timeout=30,
    )
    before = client.describe_import(ImportArn=arn)["ImportTableDescription"]
    assert before["ImportStatus"] == "IN_PROGRESS", "the source is too small to interrupt"
    if how == "kill":
        srv.kill()
    else:
        assert srv.stop() == 0
    srv = support.Server(in_memory=False, data_dir=data, extra_args=args).start()
    try:
        client = support.make_client(srv.endpoint)
        after = client.describe_import(ImportArn=arn)["ImportTableDescription"]
        assert after["ImportStatus"] == "FAILED", after
        assert after["FailureCode"] == "InternalServerError"
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_table(TableName="Interrupted")
    finally:
        assert srv.stop() == 0
        shutil.rmtree(data.parent, ignore_errors=True)

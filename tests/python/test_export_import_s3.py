"""Export and import against a real S3-compatible server: moto's, run in this process on an
ephemeral port (`ThreadedMotoServer`), its S3 API path-style.

binderdb is started with `--s3-endpoint` (and ListObjectsV2 pages of 2 keys, so listing pages
through continuation tokens). Everything binderdb writes is read back through boto3's S3
client and checked by the independent reader of `test_export_import.py`; imports read objects
boto3 wrote. Also: a data file large enough to go up as a multipart upload, DynamoDB's
failure codes for a missing bucket and an empty prefix, and `binderdb export` / `import` with
`s3://` locations and an `https://` endpoint (binderdb itself serving TLS, trusted through
AWS_CA_BUNDLE).
"""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import os
import subprocess

import boto3
import pytest
import zstandard
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.server import ThreadedMotoServer

import support
from test_export_import import ITEMS, _fill, _items, _table, read_export, wait_export, wait_import

BUCKET = "exports"
KEYS = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
]
SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]


@pytest.fixture(scope="module")
def moto_s3():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name=support.REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket=BUCKET)
    yield url, s3
    server.stop()


@pytest.fixture(scope="module")
def s3_server(moto_s3):
    url, s3 = moto_s3
    srv = support.Server(
        in_memory=True, extra_args=["--s3-endpoint", url, "--s3-list-page-size", "2"]
    ).start()
    yield srv, s3
    assert srv.stop() == 0


def _getter(s3):
    return lambda key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _import(client, prefix: str, fmt: str, compression: str, target: str, bucket: str = BUCKET) -> dict:
    started = client.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": prefix},
        InputFormat=fmt,
        InputCompressionType=compression,
        TableCreationParameters={
            "TableName": target, "AttributeDefinitions": KEYS, "KeySchema": SCHEMA,
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    assert started["ImportStatus"] == "IN_PROGRESS"
    return wait_import(client, started["ImportArn"])


@pytest.mark.parametrize("fmt", ["DYNAMODB_JSON", "ION"])
def test_export_to_s3_reads_back_and_imports_round_trip(s3_server, fmt):
    srv, s3 = s3_server
    client = support.make_client(srv.endpoint)
    source = f"S3Src{fmt.replace('_', '')}"
    _table(client, source)
    _fill(client, source)
    expected = _items(client, source)
    arn = f"arn:aws:dynamodb:us-east-1:000000000000:table/{source}"

    started = client.export_table_to_point_in_time(
        TableArn=arn, S3Bucket=BUCKET, S3Prefix=f"nightly/{fmt}", ExportFormat=fmt
    )["ExportDescription"]
    assert started["ExportStatus"] == "IN_PROGRESS"
    described = wait_export(client, started["ExportArn"])
    assert described["ExportStatus"] == "COMPLETED", described
    assert described["ItemCount"] == ITEMS
    assert described["S3Prefix"] == f"nightly/{fmt}"
    summary, exported = read_export(_getter(s3), described["ExportManifest"])
    assert summary["s3Bucket"] == BUCKET and summary["s3Prefix"] == f"nightly/{fmt}"
    assert sorted(exported, key=lambda i: (i["pk"], i["sk"])) == expected
    export_id = started["ExportArn"].rsplit("/", 1)[1]
    base = f"nightly/{fmt}/AWSDynamoDB/{export_id}/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=base)["Contents"]]
    assert f"{base}_started" in keys and f"{base}manifest-summary.checksum" in keys

    # The data as exported (GZIP), and rewritten by boto3 as ZSTD and uncompressed, each in
    # three objects (so the import lists more than one page of 2 keys).
    plain = b"".join(
        gzip.decompress(_getter(s3)(json.loads(line)["dataFileS3Key"]))
        for line in _getter(s3)(summary["manifestFilesS3Key"]).decode().splitlines()
    )
    lines = plain.decode().splitlines(keepends=True)
    header = [lines.pop(0)] if fmt == "ION" and lines[0].startswith("$ion_1_0") else []
    for compression in ["GZIP", "ZSTD", "NONE"]:
        prefix = f"{base}data/"
        if compression != "GZIP":
            prefix = f"rewritten/{fmt}/{compression}/"
            for part in range(3):
                body = "".join(header + lines[part::3]).encode()
                if compression == "ZSTD":
                    body = zstandard.ZstdCompressor().compress(body)
                s3.put_object(Bucket=BUCKET, Key=f"{prefix}part-{part}", Body=body)
        target = f"S3Dst{fmt.replace('_', '')}{compression}"
        done = _import(client, prefix, fmt, compression, target)
        assert done["ImportStatus"] == "COMPLETED", done
        assert done["ImportedItemCount"] == ITEMS and done["ErrorCount"] == 0
        assert _items(client, target) == expected


def test_a_large_export_goes_up_as_a_multipart_upload(s3_server):
    srv, s3 = s3_server
    client = support.make_client(srv.endpoint)
    _table(client, "S3Large")
    count = 2600
    for start in range(0, count, 25):
        client.batch_write_item(RequestItems={"S3Large": [
            {"PutRequest": {"Item": {
                "pk": {"S": f"p{i % 13}"}, "sk": {"N": str(i)}, "noise": {"B": os.urandom(4000)},
            }}}
            for i in range(start, min(start + 25, count))
        ]})
    started = client.export_table_to_point_in_time(
        TableArn="arn:aws:dynamodb:us-east-1:000000000000:table/S3Large", S3Bucket=BUCKET,
        S3Prefix="large",
    )["ExportDescription"]
    described = wait_export(client, started["ExportArn"])
    assert described["ExportStatus"] == "COMPLETED", described
    summary, exported = read_export(_getter(s3), described["ExportManifest"])
    assert len(exported) == count
    files = _getter(s3)(summary["manifestFilesS3Key"]).decode().splitlines()
    head = s3.head_object(Bucket=BUCKET, Key=json.loads(files[0])["dataFileS3Key"])
    # More than one 8 MiB part: S3 names a multipart object's ETag "<md5 of part md5s>-<parts>".
    assert head["ContentLength"] > 8 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]

    done = _import(client, f"large/AWSDynamoDB/{started['ExportArn'].rsplit('/', 1)[1]}/data/",
                   "DYNAMODB_JSON", "GZIP", "S3LargeCopy")
    assert done["ImportStatus"] == "COMPLETED", done
    assert done["ImportedItemCount"] == count


def test_s3_failures_are_dynamodbs(s3_server):
    srv, _ = s3_server
    client = support.make_client(srv.endpoint)
    _table(client, "S3Fail")
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/S3Fail"
    started = client.export_table_to_point_in_time(TableArn=arn, S3Bucket="no-such-bucket")
    failed = wait_export(client, started["ExportDescription"]["ExportArn"])
    assert failed["ExportStatus"] == "FAILED"
    assert failed["FailureCode"] == "S3NoSuchBucket"
    assert failed["FailureMessage"]

    for bucket, prefix, code in [("no-such-bucket", "", "S3NoSuchBucket"),
                                 (BUCKET, "nothing/here/", "S3NoSuchKey")]:
        done = _import(client, prefix, "DYNAMODB_JSON", "NONE", "S3Never", bucket=bucket)
        assert done["ImportStatus"] == "FAILED"
        assert done["FailureCode"] == code, done
        # A failed import leaves no table.
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_table(TableName="S3Never")


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {"PATH": "/usr/bin:/bin", **support.CREDENTIAL_ENV, **(env or {})}
    return subprocess.run([str(support.binary_path()), *args], env=full, timeout=120,
                          capture_output=True, text=True)


def test_the_cli_exports_to_and_imports_from_s3(s3_server, moto_s3):
    srv, s3 = s3_server
    url, _ = moto_s3
    client = support.make_client(srv.endpoint)
    _table(client, "CliS3Source")
    _fill(client, "CliS3Source")
    expected = _items(client, "CliS3Source")

    out = _cli("export", "--endpoint", srv.endpoint, "--table", "CliS3Source",
               "--to", f"s3://{BUCKET}/cli", "--s3-endpoint", url, "--segments", "3")
    assert out.returncode == 0, out.stderr
    summaries = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="cli/")["Contents"]
                 if o["Key"].endswith("manifest-summary.json")]
    assert len(summaries) == 1
    assert f"s3://{BUCKET}/cli/AWSDynamoDB/" in out.stderr
    summary, exported = read_export(_getter(s3), summaries[0])
    assert summary["s3Prefix"] == "cli"
    assert sorted(exported, key=lambda i: (i["pk"], i["sk"])) == expected

    _table(client, "CliS3Copy")
    data = summaries[0].rsplit("/", 1)[0] + "/data/"
    done = _cli("import", "--endpoint", srv.endpoint, "--table", "CliS3Copy",
                "--from", f"s3://{BUCKET}/{data}", "--s3-endpoint", url)
    assert done.returncode == 0, done.stderr
    assert f"imported {ITEMS} items" in done.stderr
    assert _items(client, "CliS3Copy") == expected

    missing = _cli("export", "--endpoint", srv.endpoint, "--table", "CliS3Source",
                   "--to", "s3://no-such-bucket/x", "--s3-endpoint", url)
    assert missing.returncode != 0
    assert "S3NoSuchBucket" in missing.stderr


def _certificates(directory) -> tuple[str, str, str]:
    """A throwaway CA and a certificate it signed for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "binderdb test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(str(p) for p in paths)


def test_the_cli_speaks_https(tmp_path):
    """`binderdb export` / `import` against an https:// endpoint: binderdb serving TLS with a
    certificate of a private CA, which the CLI trusts through AWS_CA_BUNDLE (and refuses
    without it)."""
    ca, cert, key = _certificates(tmp_path)
    srv = support.Server(in_memory=True, extra_args=["--tls-cert", cert, "--tls-key", key]).start()
    try:
        assert srv.endpoint.startswith("https://")
        # boto3 over TLS too (verifying with the same CA).
        client = support.session().client("dynamodb", endpoint_url=srv.endpoint, verify=ca,
                                           config=support.client_config())
        _table(client, "TlsSource")
        _fill(client, "TlsSource")
        expected = _items(client, "TlsSource")
        out = _cli("export", "--endpoint", srv.endpoint, "--table", "TlsSource",
                   "--to", str(tmp_path / "dump"), env={"AWS_CA_BUNDLE": ca})
        assert out.returncode == 0, out.stderr
        _table(client, "TlsCopy")
        done = _cli("import", "--endpoint", srv.endpoint, "--table", "TlsCopy",
                    "--from", str(tmp_path / "dump"), env={"AWS_CA_BUNDLE": ca})
        assert done.returncode == 0, done.stderr
        assert _items(client, "TlsCopy") == expected

        untrusted = _cli("export", "--endpoint", srv.endpoint, "--table", "TlsSource",
                         "--to", str(tmp_path / "never"))
        assert untrusted.returncode != 0
        assert "TLS handshake" in untrusted.stderr or "certificate" in untrusted.stderr
    finally:
        assert srv.stop() == 0

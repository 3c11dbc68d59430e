"""SigV4 verification with configured keys, driven by boto3: `--access-key` and `--credentials`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import boto3
import botocore.exceptions
import pytest

import support

CLI_KEY = ("AKIDFROMFLAG", "flag/secret+KEY")
FILE_KEY = ("AKIDFROMFILE", "file/secret+KEY")


@pytest.fixture(scope="module")
def signed_server():
    scratch = Path(tempfile.mkdtemp(prefix="binderdb-sigv4-"))
    credentials = scratch / "credentials"
    credentials.write_text(f"# binderdb keys\n\n{FILE_KEY[0]} {FILE_KEY[1]}\n")
    srv = support.Server(
        in_memory=True,
        extra_args=["--access-key", f"{CLI_KEY[0]}:{CLI_KEY[1]}", "--credentials", str(credentials)],
    ).start()
    yield srv
    try:
        assert srv.stop() == 0, srv.log()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def client_for(endpoint: str, key: tuple[str, str]):
    session = boto3.session.Session(
        aws_access_key_id=key[0], aws_secret_access_key=key[1], region_name=support.REGION
    )
    return session.client("dynamodb", endpoint_url=endpoint, config=support.client_config())


def error_of(call) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def test_both_configured_keys_are_accepted(signed_server):
    flag = client_for(signed_server.endpoint, CLI_KEY)
    support.create_pk_table(flag, "sigv4")
    flag.put_item(TableName="sigv4", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    from_file = client_for(signed_server.endpoint, FILE_KEY)
    item = from_file.get_item(TableName="sigv4", Key={"pk": {"S": "a"}})["Item"]
    assert item == {"pk": {"S": "a"}, "v": {"N": "1"}}


def test_unknown_keys_and_wrong_secrets_are_refused(signed_server):
    unknown = client_for(signed_server.endpoint, ("AKIDNOBODY", CLI_KEY[1]))
    assert error_of(unknown.list_tables) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
    wrong = client_for(signed_server.endpoint, (CLI_KEY[0], "wrong"))
    assert error_of(wrong.list_tables) == (
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.",
    )


def test_unsigned_requests_are_refused(signed_server):
    resp = support.raw_post(signed_server.endpoint, "ListTables", {}, sign=False)
    assert resp.status_code == 400
    assert resp.json() == {
        "__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
        "message": "Request is missing Authentication Token",
    }

"""SigV4 verification with configured keys, driven by boto3: `--access-key` and `--credentials`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


def cli(endpoint: str, key: tuple[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs the venv's AWS CLI with `key` as its credentials and nothing else of the developer's."""
    aws = Path(sys.executable).parent / "aws"
    exe = str(aws) if aws.exists() else shutil.which("aws")
    assert exe, "the AWS CLI is not installed (pip install -r tests/python/requirements.txt)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key[0],
        AWS_SECRET_ACCESS_KEY=key[1],
        AWS_DEFAULT_REGION=support.REGION,
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
    )
    return subprocess.run(
        [exe, "dynamodb", *args, "--endpoint-url", endpoint, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=120,
    )


def test_the_aws_cli_signs_with_a_configured_key_and_is_refused_with_a_wrong_one(signed_server, tmp_path):
    flag = client_for(signed_server.endpoint, CLI_KEY)
    support.create_pk_table(flag, "sigv4-cli")
    put = cli(signed_server.endpoint, FILE_KEY, tmp_path, "put-item", "--table-name", "sigv4-cli",
              "--item", '{"pk": {"S": "cli"}, "n": {"N": "7"}}')
    assert put.returncode == 0, put.stderr
    got = cli(signed_server.endpoint, CLI_KEY, tmp_path, "get-item", "--table-name", "sigv4-cli",
              "--key", '{"pk": {"S": "cli"}}')
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Item"] == {"pk": {"S": "cli"}, "n": {"N": "7"}}

    wrong = cli(signed_server.endpoint, (CLI_KEY[0], "not-the-secret"), tmp_path, "list-tables")
    assert wrong.returncode != 0
    assert "(InvalidSignatureException)" in wrong.stderr, wrong.stderr
    assert "The request signature we calculated does not match" in wrong.stderr, wrong.stderr
    unknown = cli(signed_server.endpoint, ("AKIDNOBODY", "x"), tmp_path, "list-tables")
    assert unknown.returncode != 0
    assert "(UnrecognizedClientException)" in unknown.stderr, unknown.stderr
    assert "The security token included in the request is invalid." in unknown.stderr, unknown.stderr

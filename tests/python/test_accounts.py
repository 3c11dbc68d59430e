"""Accounts, access policies and the `binderdb keys` commands, driven by boto3 and the binary;
and the refusal to serve a non-loopback address without keys."""

from __future__ import annotations

import json
import subprocess

import boto3
import botocore.exceptions
import pytest

import support

ACCOUNT = "111122223333"


def keys(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(support.binary_path()), "keys", *args],
                          capture_output=True, text=True, timeout=30)


def created(result: subprocess.CompletedProcess) -> tuple[str, str]:
    assert result.returncode == 0, result.stderr
    values = {}
    for line in result.stdout.splitlines():
        label, value = line.rsplit(None, 1)
        values[label.strip()] = value
    return values["access key id"], values["secret access key"]


def client(endpoint: str, key: tuple[str, str]):
    session = boto3.session.Session(aws_access_key_id=key[0], aws_secret_access_key=key[1],
                                    region_name=support.REGION)
    return session.client("dynamodb", endpoint_url=endpoint, config=support.client_config())


def make_table(c, name: str) -> None:
    c.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")


def test_keys_commands_accounts_and_policies(tmp_path):
    credentials = tmp_path / "credentials"
    (tmp_path / "readonly.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:ListTables"], "Resource": "*"}]}))
    admin = created(keys("create", "--credentials", str(credentials)))
    other = created(keys("create", "--credentials", str(credentials), "--account", ACCOUNT))
    reader = created(keys("create", "--credentials", str(credentials), "--user", "reader",
                          "--policy", "readonly.json"))
    assert keys("create", "--credentials", str(credentials), "--account", "12").returncode != 0
    listed = keys("list", "--credentials", str(credentials))
    assert listed.returncode == 0, listed.stderr
    assert ACCOUNT in listed.stdout and "reader" in listed.stdout
    assert admin[1] not in listed.stdout, "list must not print secrets"

    srv = support.Server(in_memory=True, extra_args=["--credentials", str(credentials)]).start()
    try:
        a, o, r = (client(srv.endpoint, k) for k in (admin, other, reader))
        make_table(a, "Shared")
        make_table(o, "Shared")
        a.put_item(TableName="Shared", Item={"pk": {"S": "x"}})
        assert "Item" not in o.get_item(TableName="Shared", Key={"pk": {"S": "x"}})
        arn = o.describe_table(TableName="Shared")["Table"]["TableArn"]
        assert arn == f"arn:aws:dynamodb:{support.REGION}:{ACCOUNT}:table/Shared"
        assert r.get_item(TableName="Shared", Key={"pk": {"S": "x"}})["Item"]["pk"] == {"S": "x"}
        with pytest.raises(botocore.exceptions.ClientError) as info:
            r.put_item(TableName="Shared", Item={"pk": {"S": "y"}})
        error = info.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert error["Message"] == (
            "User: arn:aws:iam::000000000000:user/reader is not authorized to perform: "
            "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/Shared "
            "because no identity-based policy allows the dynamodb:PutItem action")
    finally:
        assert srv.stop() == 0, srv.log()

    revoked = keys("revoke", "--credentials", str(credentials), other[0])
    assert revoked.returncode == 0, revoked.stderr
    assert keys("revoke", "--credentials", str(credentials), other[0]).returncode != 0
    srv = support.Server(in_memory=True, extra_args=["--credentials", str(credentials)]).start()
    try:
        with pytest.raises(botocore.exceptions.ClientError) as info:
            client(srv.endpoint, other).list_tables()
        assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
        client(srv.endpoint, admin).list_tables()
    finally:
        assert srv.stop() == 0, srv.log()


class PublicServer(support.Server):
    """A server on every interface, allowed to run without keys."""

    def command(self) -> list[str]:
        return [str(support.binary_path()), "serve", "--host", "0.0.0.0", "--port", "0",
                "--in-memory", "--insecure"]


def test_a_public_address_needs_keys_or_insecure():
    refused = subprocess.run([str(support.binary_path()), "serve", "--in-memory", "--host", "0.0.0.0",
                              "--port", "0"], capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert "refusing to listen on 0.0.0.0 without access keys" in refused.stderr
    assert len([l for l in refused.stderr.splitlines() if "refusing" in l]) == 1
    srv = PublicServer(in_memory=True)
    # The ready line names 0.0.0.0; talk to it over loopback.
    srv.start()
    try:
        port = srv.endpoint.rsplit(":", 1)[1]
        c = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}",
                         config=support.client_config())
        c.list_tables()
    finally:
        assert srv.stop() == 0, srv.log()

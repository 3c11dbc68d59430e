"""Tags, resource-based policies, DescribeLimits and TableClass through boto3, on both engines;
then tags and a policy across a restart of a durable server."""

from __future__ import annotations

import json
import shutil

import botocore.exceptions
import pytest

import support

POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "000000000000"},
                   "Action": ["dynamodb:GetItem"], "Resource": "*"}],
})


def _error(excinfo) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def _arn(client, name: str) -> str:
    return client.describe_table(TableName=name)["Table"]["TableArn"]


def test_tags(client):
    client.create_table(
        TableName="py_tags",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "owner", "Value": "me"}],
    )
    arn = _arn(client, "py_tags")
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "you"}])
    assert client.list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "you"}]
    client.untag_resource(ResourceArn=arn, TagKeys=["env", "absent"])
    answer = client.list_tags_of_resource(ResourceArn=arn)
    assert answer["Tags"] == [{"Key": "owner", "Value": "you"}]
    assert "NextToken" not in answer

    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "v"}])
    assert _error(e) == ("ValidationException", "Tag Key cannot be prefixed with aws:, Key: aws:x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": str(i), "Value": "v"} for i in range(50)])
    assert _error(e) == ("ValidationException",
                         "Number of Tags exceed the current limit for the provided ResourceArn")
    missing = arn + "_gone"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.list_tags_of_resource(ResourceArn=missing)
    assert _error(e) == ("ResourceNotFoundException",
                         f"Requested resource not found: ResourcArn: {missing} not found")
    client.delete_table(TableName="py_tags")


def test_resource_policy_limits_and_table_class(client):
    support.create_pk_table(client, "py_policy")
    arn = _arn(client, "py_policy")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.get_resource_policy(ResourceArn=arn)
    assert _error(e) == ("PolicyNotFoundException",
                         f"Resource-based policy not found for the provided ResourceArn: {arn}")
    revision = client.put_resource_policy(ResourceArn=arn, Policy=POLICY, ExpectedRevisionId="NO_POLICY")["RevisionId"]
    got = client.get_resource_policy(ResourceArn=arn)
    assert (got["Policy"], got["RevisionId"]) == (POLICY, revision)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.put_resource_policy(ResourceArn=arn, Policy="not json")
    assert _error(e) == ("ValidationException", "One or more parameter values were invalid: "
                         "Invalid policy document: This policy contains invalid Json")
    assert client.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=revision)["RevisionId"] == revision

    limits = client.describe_limits()
    assert {k: v for k, v in limits.items() if k != "ResponseMetadata"} == {
        "AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}

    described = client.update_table(TableName="py_policy", TableClass="STANDARD_INFREQUENT_ACCESS")
    assert described["TableDescription"]["TableClassSummary"] == {"TableClass": "STANDARD_INFREQUENT_ACCESS"}
    client.delete_table(TableName="py_policy")


def test_tags_and_policy_survive_a_restart():
    data_dir = support.new_data_dir()
    try:
        server = support.Server(in_memory=False, data_dir=data_dir).start()
        client = support.make_client(server.endpoint)
        support.create_pk_table(client, "py_kept")
        arn = _arn(client, "py_kept")
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
        revision = client.put_resource_policy(ResourceArn=arn, Policy=POLICY)["RevisionId"]
        assert server.stop() == 0

        server = support.Server(in_memory=False, data_dir=data_dir).start()
        client = support.make_client(server.endpoint)
        assert client.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
        assert client.get_resource_policy(ResourceArn=arn)["RevisionId"] == revision
        assert server.stop() == 0
    finally:
        shutil.rmtree(data_dir.parent, ignore_errors=True)

"""Tags, resource-based policies, DescribeLimits, TableClass, WarmThroughput and Contributor
Insights through boto3, on both engines; then tags and a policy across a restart of a durable
server."""

from __future__ import annotations

import datetime
import json
import shutil
import time

import botocore.exceptions
import pytest

import support

POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "000000000000"},
                   "Action": ["dynamodb:GetItem"], "Resource": "*"}],
})
# POLICY as GetResourcePolicy returns it: minified, the account as its root ARN, the
# one-element Action list as a string.
CANONICAL_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                    '"Principal":{"AWS":"arn:aws:iam::000000000000:root"},'
                    '"Action":"dynamodb:GetItem","Resource":"*"}]}')


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
                         f"Requested resource not found: ResourceArn: {missing} not found")
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
    assert (got["Policy"], got["RevisionId"]) == (CANONICAL_POLICY, revision)
    # The canonical form is the same document: no change, same revision.
    assert client.put_resource_policy(ResourceArn=arn, Policy=CANONICAL_POLICY)["RevisionId"] == revision
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
    summary = described["TableDescription"]["TableClassSummary"]
    # No create delay: done at once, stamped with the change's completion.
    assert summary["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert isinstance(summary["LastUpdateDateTime"], datetime.datetime)
    assert client.describe_table(TableName="py_policy")["Table"]["TableClassSummary"] == summary
    client.delete_table(TableName="py_policy")


def _settled(read, done, what: str):
    """`read()` once `done(value)` holds (the server's create delay is short); fails after 30 s."""
    deadline = time.monotonic() + 30
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what} never settled: {value}"
        time.sleep(0.05)


def test_warm_throughput_and_contributor_insights(client):
    created = client.create_table(
        TableName="py_warm",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        WarmThroughput={"ReadUnitsPerSecond": 13000},
    )["TableDescription"]
    assert created["WarmThroughput"]["ReadUnitsPerSecond"] == 13000
    assert created["WarmThroughput"]["WriteUnitsPerSecond"] == 4000
    warm = _settled(lambda: client.describe_table(TableName="py_warm")["Table"]["WarmThroughput"],
                    lambda w: w["Status"] == "ACTIVE", "WarmThroughput")
    assert warm == {"ReadUnitsPerSecond": 13000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.update_table(TableName="py_warm", WarmThroughput={"ReadUnitsPerSecond": 12000})
    assert _error(e) == ("ValidationException", "One or more parameter values were invalid: Requested "
                         "ReadUnitsPerSecond for WarmThroughput for table is lower than current "
                         "WarmThroughput, decreasing WarmThroughput is not supported")
    client.update_table(TableName="py_warm", WarmThroughput={"WriteUnitsPerSecond": 5000})
    _settled(lambda: client.describe_table(TableName="py_warm")["Table"]["WarmThroughput"],
             lambda w: w == {"ReadUnitsPerSecond": 13000, "WriteUnitsPerSecond": 5000, "Status": "ACTIVE"},
             "the pre-warm")

    assert client.describe_contributor_insights(TableName="py_warm")["ContributorInsightsStatus"] == "DISABLED"
    answer = client.update_contributor_insights(TableName="py_warm", ContributorInsightsAction="ENABLE")
    assert answer["ContributorInsightsStatus"] in ("ENABLING", "ENABLED")
    described = _settled(lambda: client.describe_contributor_insights(TableName="py_warm"),
                         lambda d: d["ContributorInsightsStatus"] == "ENABLED", "Contributor Insights")
    assert [rule.split("-")[1] for rule in described["ContributorInsightsRuleList"]] == ["PKC", "PKT", "SKC", "SKT"]
    assert described["LastUpdateDateTime"].year >= 2024
    summaries = client.list_contributor_insights(TableName="py_warm")["ContributorInsightsSummaries"]
    assert summaries == [{"TableName": "py_warm", "ContributorInsightsStatus": "ENABLED",
                          "ContributorInsightsMode": "ACCESSED_AND_THROTTLED_KEYS"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.describe_contributor_insights(TableName="py_warm", IndexName="nope")
    assert _error(e) == ("ResourceNotFoundException",
                         "Requested resource not found: Index: nope not found for table: py_warm")
    client.delete_table(TableName="py_warm")


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

"""Production realism with boto3: throttling that boto3 retries, injected faults, and
`binderdb bill` wrapping a command to price what it did."""

from __future__ import annotations

import json
import subprocess
import sys

import botocore.config
import botocore.exceptions
import pytest
import requests

import support

PTE_MESSAGE = ("The level of configured provisioned throughput for the table was exceeded. "
               "Consider increasing your provisioning level with the UpdateTable API.")


@pytest.fixture(scope="module")
def throttled_server():
    srv = support.Server(in_memory=True, extra_args=["--throttling"]).start()
    yield srv
    assert srv.stop() == 0, srv.log()


def create_provisioned(client, name: str, rcu: int, wcu: int) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu},
    )


def test_a_throttled_write_is_refused_with_dynamodbs_error_and_retried_by_boto3(throttled_server):
    plain = no_retries(throttled_server.endpoint)
    create_provisioned(plain, "py_throttled", 1, 1)
    plain.put_item(TableName="py_throttled", Item={"pk": {"S": "a"}})
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        plain.put_item(TableName="py_throttled", Item={"pk": {"S": "b"}})
    error = refused.value.response["Error"]
    assert error["Code"] == "ProvisionedThroughputExceededException"
    assert error["Message"] == PTE_MESSAGE
    assert refused.value.response["ThrottlingReasons"][0]["reason"] == \
        "TableWriteProvisionedThroughputExceeded"

    # boto3's standard retries wait out the refill (1 WCU per second) and succeed.
    retrying = support.session().client(
        "dynamodb", endpoint_url=throttled_server.endpoint,
        config=botocore.config.Config(
            region_name=support.REGION, retries={"total_max_attempts": 12, "mode": "standard"}))
    for pk in ("c", "d"):
        retrying.put_item(TableName="py_throttled", Item={"pk": {"S": pk}})
    count = plain.scan(TableName="py_throttled", ConsistentRead=True)["Count"]
    assert count == 3


def no_retries(endpoint: str):
    """A client that sends each call once (botocore's `max_attempts` counts retries, so
    `support.make_client`'s 1 still retries once)."""
    return support.session().client(
        "dynamodb", endpoint_url=endpoint,
        config=botocore.config.Config(
            region_name=support.REGION, retries={"total_max_attempts": 1, "mode": "standard"}))


def test_an_injected_fault_fires_on_the_nth_call(memory_server):
    client = no_retries(memory_server.endpoint)
    client.create_table(
        TableName="py_faults",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    rules = {"rules": [{"table": "py_faults", "operation": "GetItem",
                        "error": "ThrottlingException", "nth": 2}]}
    r = requests.put(memory_server.endpoint + "/binderdb/faults", data=json.dumps(rules), timeout=10)
    assert r.status_code == 200, r.text
    try:
        client.get_item(TableName="py_faults", Key={"pk": {"S": "a"}})
        with pytest.raises(botocore.exceptions.ClientError) as injected:
            client.get_item(TableName="py_faults", Key={"pk": {"S": "a"}})
        assert injected.value.response["Error"]["Code"] == "ThrottlingException"
        client.get_item(TableName="py_faults", Key={"pk": {"S": "a"}})
    finally:
        requests.delete(memory_server.endpoint + "/binderdb/faults", timeout=10)


def test_metrics_count_what_boto3_did_and_health_answers(memory_server):
    client = no_retries(memory_server.endpoint)
    client.create_table(
        TableName="py_metrics",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(3):
        client.put_item(TableName="py_metrics", Item={"pk": {"S": f"k{i}"}})
    assert client.scan(TableName="py_metrics")["Count"] == 3
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.put_item(TableName="py_metrics", Item={"pk": {"S": "k0"}},
                        ConditionExpression="attribute_not_exists(pk)")
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    r = requests.get(memory_server.endpoint + "/metrics", timeout=10)
    assert r.status_code == 200
    series = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    table = 'Region="us-east-1",TableName="py_metrics"'
    assert series[f'SuccessfulRequestLatency_count{{{table},Operation="PutItem"}}'] == 3
    assert series[f'SuccessfulRequestLatency_count{{{table},Operation="Scan"}}'] == 1
    assert series[f'ReturnedItemCount{{{table},Operation="Scan"}}'] == 3
    assert series[f"ConditionalCheckFailedRequests{{{table}}}"] == 1
    assert series[f"ConsumedWriteCapacityUnits{{{table}}}"] == 4
    r = requests.get(memory_server.endpoint + "/health", timeout=10)
    assert (r.status_code, r.text) == (200, "ok\n")


def test_binderdb_bill_prices_what_a_command_did(memory_server):
    script = (
        "import boto3\n"
        f"c = boto3.client('dynamodb', endpoint_url={memory_server.endpoint!r}, region_name='us-east-1',"
        " aws_access_key_id='x', aws_secret_access_key='x')\n"
        "c.create_table(TableName='py_billed', BillingMode='PAY_PER_REQUEST',"
        " AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],"
        " KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}])\n"
        "for i in range(4):\n"
        "    c.put_item(TableName='py_billed', Item={'pk': {'S': str(i)}})\n"
        "c.get_item(TableName='py_billed', Key={'pk': {'S': '0'}})\n"
    )
    out = subprocess.run(
        [str(support.binary_path()), "bill", "--endpoint", memory_server.endpoint, "--json",
         "--", sys.executable, "-c", script],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    bill = json.loads(out.stdout)
    [line] = [l for l in bill["tables"] if l["table_name"] == "py_billed"]
    assert line["write_units"] == 4
    assert line["read_units"] == 0.5
    assert line["cost"] == pytest.approx((4 * 0.625 + 0.5 * 0.125) / 1e6)
    # A failing command's exit code is passed on.
    failed = subprocess.run(
        [str(support.binary_path()), "bill", "--endpoint", memory_server.endpoint, "--",
         sys.executable, "-c", "raise SystemExit(7)"],
        capture_output=True, text=True, timeout=60)
    assert failed.returncode == 7

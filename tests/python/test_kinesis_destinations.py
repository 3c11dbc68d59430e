"""Kinesis streaming destinations through boto3, on both engines: binderdb has no Kinesis, so
an Enable is answered as DynamoDB answers one for a stream that does not exist (ENABLING, then
ENABLE_FAILED), and Disable and Update refuse with DynamoDB's ValidationException texts."""

from __future__ import annotations

import botocore.exceptions
import pytest

import support

STREAM = "arn:aws:kinesis:us-east-1:000000000000:stream/py-orders"
STATE = "Table is not in a valid state to enable Kinesis Streaming Destination: "


def _error(excinfo) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def _destinations(client, table: str) -> list[dict]:
    return client.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"]


def test_an_enable_fails_and_cannot_be_disabled(client):
    support.create_pk_table(client, "py_kinesis")
    assert _destinations(client, "py_kinesis") == []

    answer = client.enable_kinesis_streaming_destination(TableName="py_kinesis", StreamArn=STREAM)
    assert answer["DestinationStatus"] == "ENABLING"
    assert answer["EnableKinesisStreamingConfiguration"] == {}
    # The server runs without a create delay: the failure is already there.
    assert _destinations(client, "py_kinesis") == [{
        "StreamArn": STREAM, "DestinationStatus": "ENABLE_FAILED",
        "DestinationStatusDescription": "User does not have a permission to use kinesis stream"}]

    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.disable_kinesis_streaming_destination(TableName="py_kinesis", StreamArn=STREAM)
    assert _error(e) == ("ValidationException",
                         STATE + "KinesisStreamingDestination must be ACTIVE to perform DISABLE operation.")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.update_kinesis_streaming_destination(
            TableName="py_kinesis", StreamArn=STREAM,
            UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"})
    assert _error(e) == ("ValidationException",
                         STATE + "Kinesis streaming is not in ACTIVE state. Updates are only allowed in "
                         f"ACTIVE state. TableName: py_kinesis, kdsArn: {STREAM}")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.describe_kinesis_streaming_destination(TableName="py_kinesis_nope")
    assert _error(e) == ("ResourceNotFoundException",
                         "Requested resource not found: Table: py_kinesis_nope not found")

"""boto3's `dynamodbstreams` client against the same endpoint as `dynamodb`: a stream enabled on
CreateTable, its records read by following shard lineage from TRIM_HORIZON."""

from __future__ import annotations

import support


def test_dynamodbstreams_client_reads_every_change(server):
    ddb = support.make_client(server.endpoint)
    streams = support.session().client(
        "dynamodbstreams", endpoint_url=server.endpoint, config=support.client_config()
    )
    desc = ddb.create_table(
        TableName="py_streamed",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    arn = desc["LatestStreamArn"]
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    try:
        ddb.put_item(TableName="py_streamed", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
        ddb.update_item(TableName="py_streamed", Key={"pk": {"S": "a"}},
                        UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
        ddb.delete_item(TableName="py_streamed", Key={"pk": {"S": "a"}})

        listed = streams.list_streams(TableName="py_streamed")["Streams"]
        assert [s["StreamArn"] for s in listed] == [arn]
        description = streams.describe_stream(StreamArn=arn)["StreamDescription"]
        assert description["StreamStatus"] == "ENABLED"
        assert description["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        records = []
        for shard in description["Shards"]:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            page = streams.get_records(ShardIterator=it)
            records.extend(page["Records"])
            assert "NextShardIterator" in page  # the shard is open
        assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
        modify = records[1]
        assert modify["eventSource"] == "aws:dynamodb"
        assert modify["eventVersion"] == "1.1"
        assert modify["awsRegion"] == support.REGION
        assert modify["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
        assert modify["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
        assert modify["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}}
        assert modify["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert "OldImage" not in records[0]["dynamodb"]
        assert "NewImage" not in records[2]["dynamodb"]

        try:
            streams.get_records(ShardIterator="not an iterator")
            raise AssertionError("expected a ValidationException")
        except streams.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "ValidationException"
    finally:
        ddb.delete_table(TableName="py_streamed")

"""An online index backfill survives a power cut: the durable server is killed with SIGKILL while
a new global secondary index is being filled, restarted on the same data dir, and the finished
index must equal the index recomputed from the table, with the backfill resumed from its saved
position rather than started over.

The backfill is slowed down (`--backfill-items-per-second`) so the kill lands mid-way whatever
the machine's speed.
"""

import shutil
import time

import support

TABLE = "BackfillCrash"
ITEMS = 3000
INDEX = "by_group"


def load(client) -> None:
    for start in range(0, ITEMS, 25):
        requests = []
        for i in range(start, min(start + 25, ITEMS)):
            item = {"pk": {"S": f"item-{i:05d}"}, "n": {"N": str(i)}}
            # Every seventh item lacks the index key (a sparse index leaves it out).
            if i % 7:
                item["grp"] = {"S": f"g{i % 11}"}
            requests.append({"PutRequest": {"Item": item}})
        client.batch_write_item(RequestItems={TABLE: requests})


def index_of(client) -> set:
    items = set()
    kwargs = {"TableName": TABLE, "IndexName": INDEX}
    while True:
        page = client.scan(**kwargs)
        items.update((i["grp"]["S"], i["pk"]["S"], i["n"]["N"]) for i in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def recomputed(client) -> set:
    items = set()
    kwargs = {"TableName": TABLE}
    while True:
        page = client.scan(**kwargs)
        items.update((i["grp"]["S"], i["pk"]["S"], i["n"]["N"]) for i in page["Items"] if "grp" in i)
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def index_description(client) -> dict:
    table = client.describe_table(TableName=TABLE)["Table"]
    return next(g for g in table.get("GlobalSecondaryIndexes", []) if g["IndexName"] == INDEX)


def test_backfill_resumes_after_sigkill():
    data_dir = support.new_data_dir("binderdb-backfill-crash-")
    first = support.Server(in_memory=False, data_dir=data_dir,
                           extra_args=["--backfill-items-per-second", "1500"]).start()
    try:
        client = support.make_client(first.endpoint)
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        load(client)
        client.update_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "grp", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": INDEX,
                "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"},
                              {"AttributeName": "pk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]},
            }}],
        )
        # At 1,500 items/s the 3,000 items take two seconds: a kill after about one second
        # lands after some chunks were committed and before the last one.
        time.sleep(1.0)
        described = index_description(client)
        assert described["IndexStatus"] == "CREATING" and described.get("Backfilling") is True, described
        first.kill()
    finally:
        if first.running:
            first.kill()

    second = support.Server(in_memory=False, data_dir=data_dir).start()
    try:
        client = support.make_client(second.endpoint)
        assert support.wait_until(lambda: index_description(client)["IndexStatus"] == "ACTIVE", timeout=60), \
            index_description(client)
        assert "resuming an index backfill from its saved position" in second.log(), second.log()
        expected = recomputed(client)
        assert len(expected) == ITEMS - len(range(0, ITEMS, 7))
        assert index_of(client) == expected
        assert index_description(client)["ItemCount"] == len(expected)
        # The index serves queries and is maintained from now on.
        page = client.query(TableName=TABLE, IndexName=INDEX, KeyConditionExpression="grp = :g",
                            ExpressionAttributeValues={":g": {"S": "g3"}})
        assert page["Count"] == sum(1 for g, _, _ in expected if g == "g3")
        client.put_item(TableName=TABLE, Item={"pk": {"S": "late"}, "grp": {"S": "g3"}, "n": {"N": "1"}})
        again = client.query(TableName=TABLE, IndexName=INDEX, KeyConditionExpression="grp = :g",
                             ExpressionAttributeValues={":g": {"S": "g3"}})
        assert again["Count"] == page["Count"] + 1
    finally:
        second.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)

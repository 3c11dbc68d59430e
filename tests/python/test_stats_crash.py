"""Statistics survive SIGKILL exactly: ItemCount and TableSizeBytes of a table and of its GSI.

Eight writers run a mix of PutItem (new and overwrite), UpdateItem, DeleteItem, BatchWriteItem
and TransactWriteItems on a durable server, each in a key range of its own; after about two
seconds the server is killed with SIGKILL mid-load and restarted on the same data dir. Whatever
the crash recovered, the first DescribeTable after the restart must report exactly what a Scan
of the recovered table adds up to, for the table and for the index.
"""

from __future__ import annotations

import random
import shutil

import support

TABLE = "CrashStats"
WRITERS = 8
KEYS_PER_WRITER = 40
LOAD_SECONDS = 2.0
INDEX_OVERHEAD = 100  # DynamoDB counts 100 bytes per index entry on top of its attributes


def item_size(item: dict) -> int:
    """DynamoDB's size of an item of string attributes."""
    return sum(len(name.encode()) + len(value["S"].encode()) for name, value in item.items())


def random_item(writer: int, rng: random.Random) -> dict:
    item = {"pk": {"S": f"w{writer}-{rng.randrange(KEYS_PER_WRITER)}"},
            "v": {"S": "x" * rng.randint(0, 300)}}
    if rng.random() < 0.5:
        item["g"] = {"S": f"g{rng.randrange(5)}"}
    return item


def key_of(item: dict) -> dict:
    return {"pk": item["pk"]}


def one_write(writer: int, client, rng: random.Random) -> None:
    choice = rng.random()
    if choice < 0.35:
        client.put_item(TableName=TABLE, Item=random_item(writer, rng))
    elif choice < 0.5:
        key = key_of(random_item(writer, rng))
        if rng.random() < 0.5:
            client.update_item(TableName=TABLE, Key=key, UpdateExpression="SET v = :v, g = :g",
                               ExpressionAttributeValues={":v": {"S": "u" * rng.randint(0, 50)},
                                                          ":g": {"S": "updated"}})
        else:
            client.update_item(TableName=TABLE, Key=key, UpdateExpression="REMOVE g")
    elif choice < 0.65:
        client.delete_item(TableName=TABLE, Key=key_of(random_item(writer, rng)))
    elif choice < 0.85:
        requests, seen = [], set()
        for _ in range(rng.randint(1, 8)):
            item = random_item(writer, rng)
            if item["pk"]["S"] in seen:
                continue
            seen.add(item["pk"]["S"])
            if rng.random() < 0.7:
                requests.append({"PutRequest": {"Item": item}})
            else:
                requests.append({"DeleteRequest": {"Key": key_of(item)}})
        out = client.batch_write_item(RequestItems={TABLE: requests})
        assert not out.get("UnprocessedItems"), out
    else:
        actions, seen = [], set()
        for _ in range(3):
            item = random_item(writer, rng)
            if item["pk"]["S"] in seen:
                continue
            seen.add(item["pk"]["S"])
            if rng.random() < 0.7:
                actions.append({"Put": {"TableName": TABLE, "Item": item}})
            else:
                actions.append({"Delete": {"TableName": TABLE, "Key": key_of(item)}})
        client.transact_write_items(TransactItems=actions)


def test_statistics_are_exact_after_sigkill():
    data_dir = support.new_data_dir("binderdb-stats-crash-")
    scratch = data_dir.parent
    try:
        first = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            client = support.make_client(first.endpoint)
            client.create_table(
                TableName=TABLE,
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "g", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                GlobalSecondaryIndexes=[{"IndexName": "byG",
                                         "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                         "Projection": {"ProjectionType": "ALL"}}],
                BillingMode="PAY_PER_REQUEST",
            )
            client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            rngs = [random.Random(1000 + w) for w in range(WRITERS)]
            writes = [0] * WRITERS

            def work(writer: int, client) -> None:
                one_write(writer, client, rngs[writer])
                writes[writer] += 1

            failures = support.kill_mid_load(first, WRITERS, LOAD_SECONDS, work)
        finally:
            if first.running:
                first.kill()
        assert not failures, "a write failed before the kill:\n" + "\n".join(failures[:20])
        assert sum(writes) > 0, "no write was acknowledged in the load window"

        second = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            client = support.make_client(second.endpoint)
            table = client.describe_table(TableName=TABLE)["Table"]
            items = support.scan_all(client, TABLE)
            indexed = [i for i in items if "g" in i]
            index = table["GlobalSecondaryIndexes"][0]
            support.report(f"stats crash test: writes={sum(writes)} items={len(items)} "
                           f"ItemCount={table['ItemCount']} indexed={len(indexed)} "
                           f"index ItemCount={index['ItemCount']}")
            assert table["ItemCount"] == len(items)
            assert table["TableSizeBytes"] == sum(item_size(i) for i in items)
            assert index["ItemCount"] == len(indexed)
            assert index["IndexSizeBytes"] == sum(item_size(i) + INDEX_OVERHEAD for i in indexed)
        finally:
            code = second.stop()
        assert code == 0, f"restarted binderdb exited with {code} after SIGTERM; stderr:\n{second.log()}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

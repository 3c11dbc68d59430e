"""Several binderdb nodes serving one RADOS pool at once, coordinated through the cluster only.

Runs only against a test Ceph cluster (BINDERDB_CEPH_CONF, set by scripts/test). Each test
starts two `binderdb serve --storage rados` processes on one fresh pool and drives both with
boto3: the catalog is shared (a table created on one node is usable on the other at once),
conditional writes race to exactly one winner, a transaction's ClientRequestToken holds across
nodes, a node killed with SIGKILL mid-transactions leaves the other serving every transaction
all-or-nothing, and TTL deletes happen exactly once.
"""

from __future__ import annotations

import datetime
import threading
import time

import botocore.exceptions
import pytest

import support

pytestmark = pytest.mark.skipif(not support.ceph_conf(), reason="no test Ceph cluster (BINDERDB_CEPH_CONF)")


class Nodes:
    """Two servers on one fresh pool (`second` adds arguments to the second one's)."""

    def __init__(self, *extra: str, second: tuple[str, ...] = ()) -> None:
        self.pool = support.new_rados_pool()
        self.servers = [support.Server(in_memory=False, rados_pool=self.pool,
                                       extra_args=list(extra) + (list(second) if i else [])).start()
                        for i in range(2)]
        self.clients = [support.make_client(s.endpoint) for s in self.servers]

    def close(self) -> None:
        try:
            for server in self.servers:
                if server.running:
                    assert server.stop() == 0, server.log()
        finally:
            support.drop_rados_pool(self.pool)


@pytest.fixture
def nodes():
    n = Nodes()
    yield n
    n.close()


def _code(error: botocore.exceptions.ClientError) -> str:
    return error.response["Error"]["Code"]


def test_rados_nodes_share_the_catalog(nodes):
    a, b = nodes.clients
    a.create_table(
        TableName="shared",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # Right after CreateTable returned on A, B knows the table: no waiting, no retry.
    assert b.describe_table(TableName="shared")["Table"]["TableName"] == "shared"
    assert b.list_tables()["TableNames"] == ["shared"]
    b.put_item(TableName="shared", Item={"pk": {"S": "from-b"}, "v": {"N": "1"}})
    assert a.get_item(TableName="shared", Key={"pk": {"S": "from-b"}}, ConsistentRead=True)["Item"]["v"] == {"N": "1"}

    # A second CreateTable of the name, on the other node, is refused as on one node.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        b.create_table(
            TableName="shared",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _code(refused.value) == "ResourceInUseException"

    # An update on B (a new GSI, backfilled) is seen on A, and A's writes maintain the index.
    b.update_table(
        TableName="shared",
        AttributeDefinitions=[{"AttributeName": "v", "AttributeType": "N"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "by-v",
            "KeySchema": [{"AttributeName": "v", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }}],
    )
    assert [i["IndexName"] for i in a.describe_table(TableName="shared")["Table"]["GlobalSecondaryIndexes"]] == ["by-v"]
    a.put_item(TableName="shared", Item={"pk": {"S": "from-a"}, "v": {"N": "2"}})

    # B backfills; once done, A (which never touched the index itself) says ACTIVE.
    def index_status() -> str:
        return a.describe_table(TableName="shared")["Table"]["GlobalSecondaryIndexes"][0]["IndexStatus"]

    assert support.wait_until(lambda: index_status() == "ACTIVE", timeout=60, interval=0.2)

    def indexed() -> set[str]:
        items = b.query(TableName="shared", IndexName="by-v", KeyConditionExpression="v = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}})["Items"]
        return {i["pk"]["S"] for i in items}

    assert support.wait_until(lambda: indexed() == {"from-a"}, timeout=30)

    a.delete_table(TableName="shared")
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        b.describe_table(TableName="shared")
    assert _code(gone.value) == "ResourceNotFoundException"


def test_rados_nodes_racing_creates_make_one_table(nodes):
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def create(client) -> None:
        barrier.wait()
        try:
            client.create_table(
                TableName="raced",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            outcomes.append("created")
        except botocore.exceptions.ClientError as e:
            outcomes.append(_code(e))

    threads = [threading.Thread(target=create, args=(c,)) for c in nodes.clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ResourceInUseException", "created"]


def test_rados_nodes_racing_conditional_writes_have_one_winner(nodes):
    a, b = nodes.clients
    support.create_pk_table(a, "race")
    rounds = 20
    wins = {0: 0, 1: 0}
    failed = {0: 0, 1: 0}
    barrier = threading.Barrier(2)

    def racer(i: int) -> None:
        client = support.make_client(nodes.servers[i].endpoint)
        for r in range(rounds):
            barrier.wait()
            try:
                client.put_item(TableName="race", Item={"pk": {"S": f"k{r}"}, "winner": {"N": str(i)}},
                                ConditionExpression="attribute_not_exists(pk)")
                wins[i] += 1
            except botocore.exceptions.ClientError as e:
                assert _code(e) in ("ConditionalCheckFailedException", "TransactionConflictException"), e
                failed[i] += 1

    threads = [threading.Thread(target=racer, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins[0] + wins[1] == rounds, (wins, failed)
    assert failed[0] + failed[1] == rounds
    items = support.scan_all(b, "race")
    assert len(items) == rounds
    # Every stored winner is the node that was told it won.
    assert sum(1 for item in items if item["winner"]["N"] == "0") == wins[0]

    # Read-modify-writes from both nodes on one counter lose no update.
    per_node = 25

    def adder(i: int) -> None:
        client = support.make_client(nodes.servers[i].endpoint, retries=True)
        for _ in range(per_node):
            client.update_item(TableName="race", Key={"pk": {"S": "counter"}},
                               UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})

    threads = [threading.Thread(target=adder, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item = a.get_item(TableName="race", Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": str(2 * per_node)}
    support.report(f"rados two nodes: conditional races won {wins}, counter {item['n']['N']}")


def test_rados_transaction_token_is_honoured_across_nodes(nodes):
    a, b = nodes.clients
    support.create_pk_table(a, "tokens")
    items = [{"Update": {"TableName": "tokens", "Key": {"pk": {"S": k}},
                         "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}
             for k in ("x", "y")]
    a.transact_write_items(TransactItems=items, ClientRequestToken="token-1")
    # The same request on the other node is a repeat: answered, not applied again.
    b.transact_write_items(TransactItems=items, ClientRequestToken="token-1")
    for k in ("x", "y"):
        assert b.get_item(TableName="tokens", Key={"pk": {"S": k}}, ConsistentRead=True)["Item"]["n"] == {"N": "1"}
    # The token with other parameters, on the other node: refused.
    with pytest.raises(botocore.exceptions.ClientError) as mismatch:
        b.transact_write_items(TransactItems=items[:1], ClientRequestToken="token-1")
    assert _code(mismatch.value) == "IdempotentParameterMismatchException"

    # Both nodes sending one token at once: the transaction applies once.
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def send(client) -> None:
        barrier.wait()
        try:
            client.transact_write_items(TransactItems=items, ClientRequestToken="token-2")
        except botocore.exceptions.ClientError as e:
            errors.append(_code(e))

    threads = [threading.Thread(target=send, args=(c,)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(errors) <= {"TransactionInProgressException", "TransactionCanceledException"}
    for k in ("x", "y"):
        assert a.get_item(TableName="tokens", Key={"pk": {"S": k}}, ConsistentRead=True)["Item"]["n"] == {"N": "2"}


def test_rados_node_killed_mid_transactions_other_node_serves_all_or_nothing(nodes):
    """SIGKILL node A while it commits transfers between accounts (two-partition transactions);
    node B, which kept running, then sees every transaction whole or not at all (the money
    adds up, no account is half-transferred) and commits new transactions on every account
    (it recovers A's abandoned locks)."""
    a, b = nodes.clients
    support.create_pk_table(a, "bank")
    accounts = 8
    for i in range(accounts):
        a.put_item(TableName="bank", Item={"pk": {"S": f"acct{i}"}, "balance": {"N": "1000"}})

    def transfer(writer: int, client) -> None:
        src, dst = f"acct{writer * 2}", f"acct{writer * 2 + 1}"
        if int(time.time() * 1000) % 2:
            src, dst = dst, src
        try:
            client.transact_write_items(TransactItems=[
                {"Update": {"TableName": "bank", "Key": {"pk": {"S": src}},
                            "UpdateExpression": "ADD balance :m", "ExpressionAttributeValues": {":m": {"N": "-7"}}}},
                {"Update": {"TableName": "bank", "Key": {"pk": {"S": dst}},
                            "UpdateExpression": "ADD balance :p", "ExpressionAttributeValues": {":p": {"N": "7"}}}},
            ])
        except botocore.exceptions.ClientError as e:
            if _code(e) not in ("TransactionCanceledException", "TransactionConflictException"):
                raise

    failures = support.kill_mid_load(nodes.servers[0], writers=accounts // 2, seconds=4.0, work=transfer)
    assert failures == []

    def balances() -> list[int]:
        got = []
        for i in range(accounts):
            item = b.get_item(TableName="bank", Key={"pk": {"S": f"acct{i}"}}, ConsistentRead=True)["Item"]
            got.append(int(item["balance"]["N"]))
        return got

    after = balances()
    # Each pair's transfers are whole: the pair's total never changed.
    for w in range(accounts // 2):
        assert after[2 * w] + after[2 * w + 1] == 2000, after
    # B commits on every account: the dead node's locks do not block it for good.
    retrying = support.make_client(nodes.servers[1].endpoint, retries=True)
    for w in range(accounts // 2):
        deadline = time.time() + 60
        while True:
            try:
                retrying.transact_write_items(TransactItems=[
                    {"Update": {"TableName": "bank", "Key": {"pk": {"S": f"acct{2 * w}"}},
                                "UpdateExpression": "ADD balance :m", "ExpressionAttributeValues": {":m": {"N": "-1"}}}},
                    {"Update": {"TableName": "bank", "Key": {"pk": {"S": f"acct{2 * w + 1}"}},
                                "UpdateExpression": "ADD balance :p", "ExpressionAttributeValues": {":p": {"N": "1"}}}},
                ])
                break
            except botocore.exceptions.ClientError as e:
                assert _code(e) in ("TransactionCanceledException", "TransactionConflictException"), e
                assert time.time() < deadline, "the killed node's locks were never recovered"
                time.sleep(0.5)
    final = balances()
    assert sum(final) == 1000 * accounts
    support.report(f"rados two nodes, one killed mid-transactions: balances {final}")


def test_rados_ttl_deletes_happen_exactly_once():
    """Both nodes run a TTL sweeper; the expired items are deleted once each: one REMOVE stream
    record per item, by the TTL service, and the item gone."""
    n = Nodes("--ttl-sweep-interval-ms", "100")
    try:
        a, b = n.clients
        a.create_table(
            TableName="expiring",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )
        b.update_time_to_live(TableName="expiring",
                              TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
        past = int(time.time()) - 60
        count = 40
        for i in range(count):
            (a if i % 2 else b).put_item(TableName="expiring",
                                         Item={"pk": {"S": f"e{i}"}, "expires": {"N": str(past)}})
        assert support.wait_until(lambda: support.scan_all(a, "expiring") == [], timeout=60)

        streams = support.session().client("dynamodbstreams", endpoint_url=n.servers[1].endpoint,
                                           config=support.client_config())
        arn = b.describe_table(TableName="expiring")["Table"]["LatestStreamArn"]

        def removes() -> list[str]:
            keys = []
            for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                while it:
                    page = streams.get_records(ShardIterator=it)
                    for r in page["Records"]:
                        if r["eventName"] == "REMOVE":
                            assert r["userIdentity"]["PrincipalId"] == "dynamodb.amazonaws.com"
                            keys.append(r["dynamodb"]["Keys"]["pk"]["S"])
                    if not page["Records"]:
                        break
                    it = page.get("NextShardIterator")
            return keys

        # Stream records of a shared store show once they settled (a couple of seconds).
        assert support.wait_until(lambda: len(removes()) >= count, timeout=60, interval=0.5)
        keys = removes()
        assert sorted(keys) == sorted(f"e{i}" for i in range(count)), "an item was expired twice or never"
    finally:
        n.close()


def _load_grouped(client, table: str, items: int) -> None:
    for start in range(0, items, 25):
        requests = []
        for i in range(start, min(start + 25, items)):
            item = {"pk": {"S": f"item-{i:05d}"}, "n": {"N": str(i)}}
            # Every seventh item lacks the index key (a sparse index leaves it out).
            if i % 7:
                item["grp"] = {"S": f"g{i % 11}"}
            requests.append({"PutRequest": {"Item": item}})
        pending = {table: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None


def _add_grp_index(client, table: str, *, keys_only: bool) -> None:
    """Adds GSI `by_grp` on `grp` to `table`: hash key only, KEYS_ONLY; or (grp, pk) keys
    projecting `n`."""
    if keys_only:
        schema = [{"AttributeName": "grp", "KeyType": "HASH"}]
        projection = {"ProjectionType": "KEYS_ONLY"}
    else:
        schema = [{"AttributeName": "grp", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}]
        projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]}
    client.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "grp", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by_grp", "KeySchema": schema, "Projection": projection}}],
    )


def test_rados_node_killed_mid_backfill_leaves_the_index_to_the_other_node():
    """Node A fills a new GSI slowly and is killed with SIGKILL half-way; node B, which never
    took part in the backfill, adopts it once A's job lease lapsed, resuming from A's saved
    position: the index turns ACTIVE with exactly the table's indexable items, and queries on it
    answer right."""
    n = Nodes("--backfill-items-per-second", "250")
    try:
        a, b = n.clients
        items = 1500
        a.create_table(
            TableName="adopted",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        _load_grouped(a, "adopted", items)
        _add_grp_index(a, "adopted", keys_only=False)

        def index() -> dict:
            return b.describe_table(TableName="adopted")["Table"]["GlobalSecondaryIndexes"][0]

        time.sleep(1.5)  # let A commit a few chunks (about 250 items a second)
        n.servers[0].kill()
        assert index()["IndexStatus"] == "CREATING", "the backfill ended before the kill"
        # A's job lease lapses after 15 s; B then adopts the job and finishes it.
        assert support.wait_until(lambda: index()["IndexStatus"] == "ACTIVE", timeout=120, interval=0.5), \
            n.servers[1].log()[-3000:]

        expected = {(f"g{i % 11}", f"item-{i:05d}", str(i)) for i in range(items) if i % 7}
        got = set()
        kwargs = {"TableName": "adopted", "IndexName": "by_grp"}
        while True:
            page = b.scan(**kwargs)
            got.update((i["grp"]["S"], i["pk"]["S"], i["n"]["N"]) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert got == expected
        assert support.wait_until(lambda: index()["ItemCount"] == len(expected), timeout=10), index()
        queried = b.query(TableName="adopted", IndexName="by_grp", KeyConditionExpression="grp = :g",
                          ExpressionAttributeValues={":g": {"S": "g3"}})["Items"]
        assert sorted(i["pk"]["S"] for i in queried) == sorted(k for g, k, _ in expected if g == "g3")
        assert "adopting a background job" in n.servers[1].log()
        support.report(f"rados two nodes, backfill adopted after a kill: {len(expected)} index entries")
    finally:
        n.close()


def _race(clients, call) -> list:
    """Calls `call(client)` on every client at once; returns each result or error code."""
    barrier = threading.Barrier(len(clients))
    out: list = [None] * len(clients)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = call(clients[i])
        except botocore.exceptions.ClientError as e:
            out[i] = _code(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_rados_racing_client_tokens_start_one_export_and_one_import(tmp_path):
    """Both nodes get ExportTableToPointInTime (then ImportTable) with the same ClientToken at the
    same instant, several times: each time exactly one job starts and both answers describe it;
    the token with other parameters is refused on either node."""
    root = tmp_path / "buckets"
    (root / "exports").mkdir(parents=True)
    (root / "source").mkdir(parents=True)
    with open(root / "source" / "items.json", "w") as f:
        for i in range(20):
            f.write(f'{{"Item":{{"pk":{{"S":"k{i}"}}}}}}\n')
    n = Nodes("--s3-dir", str(root))
    try:
        a, b = n.clients
        support.create_pk_table(a, "exported")
        a.update_continuous_backups(TableName="exported",
                                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        arn = a.describe_table(TableName="exported")["Table"]["TableArn"]
        rounds = 5
        for r in range(rounds):
            answers = _race([a, b], lambda c: c.export_table_to_point_in_time(
                TableArn=arn, S3Bucket="exports", ClientToken=f"export-{r}")["ExportDescription"]["ExportArn"])
            assert answers[0] == answers[1], answers
        exports = a.list_exports(TableArn=arn)["ExportSummaries"]
        assert len(exports) == rounds, exports
        for client in (a, b):
            with pytest.raises(botocore.exceptions.ClientError) as conflict:
                client.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", S3Prefix="other",
                                                     ClientToken="export-0")
            assert _code(conflict.value) == "ExportConflictException"

        for r in range(rounds):
            answers = _race([a, b], lambda c: c.import_table(
                ClientToken=f"import-{r}",
                S3BucketSource={"S3Bucket": "source"},
                InputFormat="DYNAMODB_JSON",
                TableCreationParameters={
                    "TableName": f"imported-{r}",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "BillingMode": "PAY_PER_REQUEST",
                })["ImportTableDescription"]["ImportArn"])
            assert answers[0] == answers[1], answers
        imports = a.list_imports()["ImportSummaryList"]
        assert len(imports) == rounds, imports
        for r in range(rounds):
            assert support.wait_until(
                lambda: b.describe_table(TableName=f"imported-{r}")["Table"]["TableStatus"] == "ACTIVE",
                timeout=60, interval=0.2)
            assert len(support.scan_all(b, f"imported-{r}")) == 20
    finally:
        n.close()


def test_rados_restore_follows_commit_order_when_node_clocks_disagree():
    """Node B's clock is 3 s behind node A's. Items are written alternately by A and then at once
    by B, so B's log entries carry instants *earlier* than the A writes they overwrote. A restore
    to a time between the first write and B's stamps must still give each item as it was then
    in commit order (A's first value), never a value that a later write produced, and a restore
    to now gives the last write."""
    n = Nodes(second=("--clock-offset-ms", "-3000"))
    try:
        a, b = n.clients
        support.create_pk_table(a, "skewed")
        a.update_continuous_backups(TableName="skewed",
                                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        keys = [f"k{i}" for i in range(6)]
        for k in keys:
            a.put_item(TableName="skewed", Item={"pk": {"S": k}, "v": {"N": "0"}, "by": {"S": "a"}})
        time.sleep(1.0)
        restore_at = time.time()  # v = 0 everywhere, by A's clock
        time.sleep(4.0)
        # A writes, then B overwrites: B stamps these about 3 s back, that is after `restore_at`
        # but before A's own writes that they overwrote.
        for round_ in range(1, 3):
            for k in keys:
                a.put_item(TableName="skewed", Item={"pk": {"S": k}, "v": {"N": str(2 * round_ - 1)}, "by": {"S": "a"}})
                b.put_item(TableName="skewed", Item={"pk": {"S": k}, "v": {"N": str(2 * round_)}, "by": {"S": "b"}})
        time.sleep(1.0)

        def restored(name: str, **when) -> dict:
            a.restore_table_to_point_in_time(SourceTableName="skewed", TargetTableName=name, **when)
            assert support.wait_until(
                lambda: a.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", timeout=60)
            return {i["pk"]["S"]: (i["v"]["N"], i["by"]["S"]) for i in support.scan_all(a, name)}

        then = restored("skewed-then", RestoreDateTime=datetime.datetime.fromtimestamp(restore_at, datetime.timezone.utc))
        assert then == {k: ("0", "a") for k in keys}, then
        latest = restored("skewed-now", UseLatestRestorableTime=True)
        assert latest == {k: ("4", "b") for k in keys}, latest
    finally:
        n.close()


def test_rados_index_statistics_stay_exact_while_the_other_node_writes():
    """Node A builds a new GSI (its backfill ends with a recount of the index's entries) while
    node B keeps writing and deleting indexed items (items the backfill does not read, which
    would only make its chunks retry). Once the writes stop, the index's and the
    table's ItemCount equal what a scan finds: no write of B is lost from, or counted twice in,
    the recount (B's commits wait while A's recount walks)."""
    n = Nodes()
    try:
        a, b = n.clients
        a.create_table(
            TableName="counted",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        _load_grouped(a, "counted", 1000)
        stop = threading.Event()
        errors: list[str] = []

        def writer(w: int) -> None:
            client = support.make_client(n.servers[1].endpoint, retries=True)
            i = 0
            while not stop.is_set():
                try:
                    client.put_item(TableName="counted",
                                    Item={"pk": {"S": f"b{w}-{i}"}, "grp": {"S": f"g{i % 5}"}, "n": {"N": str(i)}})
                    if i % 3 == 2:
                        client.delete_item(TableName="counted", Key={"pk": {"S": f"b{w}-{i - 1}"}})
                except botocore.exceptions.ClientError as e:
                    errors.append(_code(e))
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            _add_grp_index(a, "counted", keys_only=True)

            def index() -> dict:
                return a.describe_table(TableName="counted")["Table"]["GlobalSecondaryIndexes"][0]

            assert support.wait_until(lambda: index()["IndexStatus"] == "ACTIVE", timeout=120, interval=0.2), \
                n.servers[0].log()[-4000:]
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert errors == []
        items = support.scan_all(a, "counted")
        indexed = sum(1 for i in items if "grp" in i)
        scanned_index = 0
        kwargs = {"TableName": "counted", "IndexName": "by_grp"}
        while True:
            page = a.scan(**kwargs)
            scanned_index += len(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert scanned_index == indexed

        def counts(client) -> tuple[int, int]:
            table = client.describe_table(TableName="counted")["Table"]
            return table["ItemCount"], table["GlobalSecondaryIndexes"][0]["ItemCount"]

        for client in (a, b):
            assert support.wait_until(lambda: counts(client) == (len(items), indexed), timeout=10), \
                (counts(client), len(items), indexed)
        support.report(f"rados two nodes, index built under the other node's writes: {indexed} entries, counts exact")
    finally:
        n.close()


def _manifest_items(root, bucket: str, summary_key: str) -> int:
    """Items in the data files an export's manifest names."""
    import gzip
    import json
    summary = json.loads((root / bucket / summary_key).read_text())
    files = (root / bucket / summary["manifestFilesS3Key"]).read_text().splitlines()
    total = 0
    for line in files:
        entry = json.loads(line)
        with gzip.open(root / bucket / entry["dataFileS3Key"], "rt") as f:
            total += sum(1 for row in f if row.strip())
    return total


def test_rados_node_killed_mid_export_and_import_leaves_them_to_the_other_node(tmp_path):
    """Node A starts an export and an import (made slow by a hidden per-item pause) and is
    killed with SIGKILL while both run; node B adopts both once A's job leases lapsed and runs
    them again from their start to COMPLETED: the export's manifest names every item once, the
    imported table is ACTIVE with every line. A node started afterwards describes both jobs
    exactly as B does."""
    root = tmp_path / "buckets"
    (root / "exports").mkdir(parents=True)
    (root / "source").mkdir(parents=True)
    items = 800
    with open(root / "source" / "items.json", "w") as f:
        for i in range(items):
            f.write(f'{{"Item":{{"pk":{{"S":"k{i:04d}"}},"n":{{"N":"{i}"}}}}}}\n')
    args = ("--s3-dir", str(root), "--job-item-delay-us", "4000")
    n = Nodes(*args)
    late = None
    try:
        a, b = n.clients
        support.create_pk_table(a, "exported")
        a.update_continuous_backups(TableName="exported",
                                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        for start in range(0, items, 25):
            a.batch_write_item(RequestItems={"exported": [
                {"PutRequest": {"Item": {"pk": {"S": f"k{i:04d}"}}}} for i in range(start, start + 25)]})
        arn = a.describe_table(TableName="exported")["Table"]["TableArn"]
        export_arn = a.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports")["ExportDescription"]["ExportArn"]
        import_arn = a.import_table(
            S3BucketSource={"S3Bucket": "source"},
            InputFormat="DYNAMODB_JSON",
            TableCreationParameters={
                "TableName": "imported",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            })["ImportTableDescription"]["ImportArn"]
        time.sleep(1.0)  # both jobs run on A (about 3 s each at 4 ms an item)

        def export_status(client) -> str:
            return client.describe_export(ExportArn=export_arn)["ExportDescription"]["ExportStatus"]

        def import_status(client) -> str:
            return client.describe_import(ImportArn=import_arn)["ImportTableDescription"]["ImportStatus"]

        assert (export_status(b), import_status(b)) == ("IN_PROGRESS", "IN_PROGRESS")
        n.servers[0].kill()
        # A's leases lapse after 15 s; B adopts both jobs and runs them again.
        assert support.wait_until(lambda: export_status(b) == "COMPLETED", timeout=120, interval=0.5), \
            n.servers[1].log()[-3000:]
        assert support.wait_until(lambda: import_status(b) == "COMPLETED", timeout=120, interval=0.5), \
            n.servers[1].log()[-3000:]
        assert "adopting a background job" in n.servers[1].log()

        export = b.describe_export(ExportArn=export_arn)["ExportDescription"]
        assert export["ItemCount"] == items
        assert _manifest_items(root, "exports", export["ExportManifest"]) == items
        imported = b.describe_import(ImportArn=import_arn)["ImportTableDescription"]
        assert (imported["ImportedItemCount"], imported["ErrorCount"]) == (items, 0)
        assert b.describe_table(TableName="imported")["Table"]["TableStatus"] == "ACTIVE"
        assert sorted(i["pk"]["S"] for i in support.scan_all(b, "imported")) == [f"k{i:04d}" for i in range(items)]

        # A node started afterwards (A's place) answers exactly as B does.
        late = support.Server(in_memory=False, rados_pool=n.pool, extra_args=list(args)).start()
        c = support.make_client(late.endpoint)
        assert c.describe_export(ExportArn=export_arn) ["ExportDescription"] == export
        assert c.describe_import(ImportArn=import_arn)["ImportTableDescription"] == imported
        support.report(f"rados two nodes, export and import adopted after a kill: {items} items each")
    finally:
        if late is not None and late.running:
            assert late.stop() == 0, late.log()
        n.close()


def test_rados_backfill_finishes_while_the_other_node_rewrites_the_items_it_reads():
    """Node A builds a GSI while node B, from several threads, keeps updating, deleting and
    re-creating the very items A's backfill reads. The backfill's chunks lose to those writes
    and shrink until they commit, so the index turns ACTIVE; once the writes stop it holds
    exactly the indexable items a scan finds, and the counts are exact."""
    n = Nodes()
    try:
        a, b = n.clients
        items = 1200
        a.create_table(
            TableName="churned",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        _load_grouped(a, "churned", items)
        stop = threading.Event()
        errors: list[str] = []
        writes = [0]

        def writer(w: int) -> None:
            client = support.make_client(n.servers[1].endpoint, retries=True)
            rng = __import__("random").Random(w)
            while not stop.is_set():
                i = rng.randrange(items)
                key = {"pk": {"S": f"item-{i:05d}"}}
                try:
                    action = rng.randrange(3)
                    if action == 0:
                        client.delete_item(TableName="churned", Key=key)
                    elif action == 1:
                        client.update_item(TableName="churned", Key=key, UpdateExpression="SET grp = :g, n = :n",
                                           ExpressionAttributeValues={":g": {"S": f"g{rng.randrange(11)}"},
                                                                      ":n": {"N": str(i)}})
                    else:
                        client.put_item(TableName="churned", Item={**key, "n": {"N": str(i)}})
                    writes[0] += 1
                except botocore.exceptions.ClientError as e:
                    errors.append(_code(e))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            _add_grp_index(a, "churned", keys_only=False)

            def index() -> dict:
                return a.describe_table(TableName="churned")["Table"]["GlobalSecondaryIndexes"][0]

            assert support.wait_until(lambda: index()["IndexStatus"] == "ACTIVE", timeout=240, interval=0.5), \
                n.servers[0].log()[-4000:]
            during = writes[0]
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert errors == []
        assert during > 0
        table = support.scan_all(a, "churned")
        expected = {(i["grp"]["S"], i["pk"]["S"], i["n"]["N"]) for i in table if "grp" in i}
        got = set()
        kwargs = {"TableName": "churned", "IndexName": "by_grp"}
        while True:
            page = a.scan(**kwargs)
            got.update((i["grp"]["S"], i["pk"]["S"], i["n"]["N"]) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert got == expected

        def counts(client) -> tuple[int, int]:
            t = client.describe_table(TableName="churned")["Table"]
            return t["ItemCount"], t["GlobalSecondaryIndexes"][0]["ItemCount"]

        for client in (a, b):
            assert support.wait_until(lambda: counts(client) == (len(table), len(expected)), timeout=10), \
                (counts(client), len(table), len(expected))
        support.report(f"rados two nodes, backfill under {during} rewrites of its items: {len(expected)} entries exact")
    finally:
        n.close()


def test_rados_recounter_killed_mid_recount_the_other_node_writes_on_and_counts_exactly():
    """Node A's index backfill ends with a recount of the index's entries (slowed by a hidden
    per-entry pause), during which node B's writes of indexed items wait. A is killed with
    SIGKILL mid-recount: B's writes resume once A's liveness lapsed (B gives A's recount up),
    B adopts the backfill and counts again, and the index's ItemCount then equals a scan."""
    n = Nodes("--job-item-delay-us", "8000")
    try:
        a, b = n.clients
        a.create_table(
            TableName="recounted",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        _load_grouped(a, "recounted", 1000)
        stop = threading.Event()
        errors: list[str] = []
        in_flight: list[float | None] = [None]
        longest = [0.0]

        def writer() -> None:
            client = support.make_client(n.servers[1].endpoint, retries=True)
            i = 0
            while not stop.is_set():
                in_flight[0] = time.monotonic()
                try:
                    client.put_item(TableName="recounted",
                                    Item={"pk": {"S": f"b-{i}"}, "grp": {"S": f"g{i % 5}"}})
                    if i % 3 == 2:
                        client.delete_item(TableName="recounted", Key={"pk": {"S": f"b-{i - 1}"}})
                except botocore.exceptions.ClientError as e:
                    errors.append(_code(e))
                longest[0] = max(longest[0], time.monotonic() - in_flight[0])
                in_flight[0] = None
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            _add_grp_index(a, "recounted", keys_only=True)

            def held() -> bool:
                started = in_flight[0]
                return started is not None and time.monotonic() - started > 2.0

            # B's write waits: A's recount walks (about 7 s at 8 ms an entry).
            assert support.wait_until(held, timeout=120, interval=0.05), n.servers[0].log()[-3000:]
            n.servers[0].kill()

            def index() -> dict:
                return b.describe_table(TableName="recounted")["Table"]["GlobalSecondaryIndexes"][0]

            assert support.wait_until(lambda: index()["IndexStatus"] == "ACTIVE", timeout=180, interval=0.5), \
                n.servers[1].log()[-4000:]
            time.sleep(1.0)
        finally:
            stop.set()
            thread.join()
        assert errors == []
        log = n.servers[1].log()
        assert "a node died while recounting" in log, log[-3000:]
        items = support.scan_all(b, "recounted")
        indexed = sum(1 for i in items if "grp" in i)

        def counts() -> tuple[int, int]:
            t = b.describe_table(TableName="recounted")["Table"]
            return t["ItemCount"], t["GlobalSecondaryIndexes"][0]["ItemCount"]

        assert support.wait_until(lambda: counts() == (len(items), indexed), timeout=10), \
            (counts(), len(items), indexed)
        support.report(f"rados two nodes, recounter killed: writes held {longest[0]:.1f} s at most, "
                       f"{indexed} index entries counted exactly")
    finally:
        n.close()

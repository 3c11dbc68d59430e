"""Transactions under a crash: after SIGKILL mid-load and a restart, every transaction is wholly
present or wholly absent, and every acknowledged one is present.

Eight writers each send TransactWriteItems that put four new items (one group per transaction)
and add 1 to the writer's own counter item. After about two seconds of load the server is killed
with SIGKILL and restarted on the same data dir. Then: every group has all four items or none;
every group whose transaction got a 200 is there; and each writer's counter equals the number of
that writer's groups present (the update and the puts committed together or not at all).
"""

from __future__ import annotations

import collections
import os
import shutil

import support

TABLE = "CrashTxn"
WRITERS = 8
ITEMS_PER_TXN = 4
LOAD_SECONDS = 2.0


def transaction(writer: int, seq: int) -> list[dict]:
    group = f"w{writer}-{seq:07d}"
    puts = [
        {"Put": {"TableName": TABLE, "Item": {
            "pk": {"S": f"{group}-{k}"}, "group": {"S": group}, "writer": {"N": str(writer)},
            "payload": {"S": "x" * (100 + 500 * k)},
        }}}
        for k in range(ITEMS_PER_TXN)
    ]
    count = {"Update": {"TableName": TABLE, "Key": {"pk": {"S": f"count-w{writer}"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}}
    return puts + [count]


def scan_all(client) -> list[dict]:
    return support.scan_all(client, TABLE)


def test_transactions_are_all_or_nothing_across_sigkill():
    data_dir = support.new_data_dir("binderdb-txn-crash-")
    scratch = data_dir.parent
    try:
        first = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            support.create_pk_table(support.make_client(first.endpoint), TABLE)
            acked_by_writer: list[list[str]] = [[] for _ in range(WRITERS)]

            def work(writer: int, client) -> None:
                seq = len(acked_by_writer[writer])
                client.transact_write_items(TransactItems=transaction(writer, seq))
                acked_by_writer[writer].append(f"w{writer}-{seq:07d}")

            failures = support.kill_mid_load(first, WRITERS, LOAD_SECONDS, work)
        finally:
            if first.running:
                first.kill()

        assert not failures, "TransactWriteItems failed before the kill:\n" + "\n".join(failures[:20])
        acked = {g for per_writer in acked_by_writer for g in per_writer}
        assert acked, "no transaction was acknowledged in the load window"

        second = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            client = support.make_client(second.endpoint)
            items = scan_all(client)
            groups = collections.Counter(i["group"]["S"] for i in items if "group" in i)
            counters = {i["pk"]["S"]: int(i["n"]["N"]) for i in items if i["pk"]["S"].startswith("count-")}
            partial = {g: n for g, n in groups.items() if n != ITEMS_PER_TXN}
            lost = sorted(acked - set(groups))
            per_writer = collections.Counter(g.split("-")[0] for g in groups)
            counter_mismatch = {
                f"w{w}": (counters.get(f"count-w{w}", 0), per_writer.get(f"w{w}", 0))
                for w in range(WRITERS)
                if counters.get(f"count-w{w}", 0) != per_writer.get(f"w{w}", 0)
            }
            support.report(f"txn crash test: acked={len(acked)} present={len(groups)} "
                           f"unacked_present={len(set(groups) - acked)} lost={len(lost)} "
                           f"partial={len(partial)} counter_mismatch={len(counter_mismatch)}")
            assert not partial, f"{len(partial)} transactions are partly present, e.g. {list(partial.items())[:5]}"
            assert not lost, f"{len(lost)} acknowledged transactions lost, e.g. {lost[:5]}"
            assert not counter_mismatch, f"counters disagree with the groups present: {counter_mismatch}"
            # Transactions still run after recovery.
            client.transact_write_items(TransactItems=transaction(99, 0))
        finally:
            code = second.stop()
        assert code == 0, f"restarted binderdb exited with {code} after SIGTERM; stderr:\n{second.log()}"
    finally:
        if os.environ.get("BINDERDB_KEEP_CRASH_DIR"):
            print(f"crash data dir kept at {data_dir}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

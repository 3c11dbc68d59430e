"""Point-in-time recovery across a crash: the change log is written in each write's own commit,
so it survives SIGKILL exactly as the writes do.

A durable server with point-in-time recovery on a table takes 200 acknowledged puts, then
writers update and delete those items until the server is killed with SIGKILL mid-load. After
a restart on the same data dir, a restore to a second between the two phases equals the table
as phase 1 left it, and a restore to the latest restorable time equals the table as it is.
"""

from __future__ import annotations

import datetime
import math
import os
import random
import shutil
import time

import support

TABLE = "PitrCrash"
WRITERS = 4
LOAD_SECONDS = 1.5
ITEMS = 200


def state(client, table: str) -> dict:
    return {item["pk"]["S"]: item.get("v", {}).get("N") for item in support.scan_all(client, table)}


def restore(client, target: str, **when) -> dict:
    client.restore_table_to_point_in_time(SourceTableName=TABLE, TargetTableName=target, **when)
    client.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return state(client, target)


def test_the_change_log_survives_sigkill():
    data_dir = support.new_data_dir("binderdb-pitr-crash-")
    scratch = data_dir.parent
    try:
        first = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            client = support.make_client(first.endpoint)
            support.create_pk_table(client, TABLE)
            client.update_continuous_backups(
                TableName=TABLE,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
            for i in range(ITEMS):
                client.put_item(TableName=TABLE, Item={"pk": {"S": f"k{i:04d}"}, "v": {"N": "1"}})
            phase1 = state(client, TABLE)
            # A whole second strictly after phase 1 and before phase 2 (the server's clock is
            # this machine's; the restore names the instant to the second).
            time.sleep(1.2)
            between = math.floor(time.time())
            rngs = [random.Random(w) for w in range(WRITERS)]
            acked = [0] * WRITERS

            def work(writer: int, client) -> None:
                # Each writer owns the keys i % WRITERS == writer.
                i = rngs[writer].randrange(writer, ITEMS, WRITERS)
                key = {"pk": {"S": f"k{i:04d}"}}
                if rngs[writer].random() < 0.2:
                    client.delete_item(TableName=TABLE, Key=key)
                else:
                    client.update_item(TableName=TABLE, Key=key, UpdateExpression="ADD v :one",
                                       ExpressionAttributeValues={":one": {"N": "1"}})
                acked[writer] += 1

            failures = support.kill_mid_load(first, WRITERS, LOAD_SECONDS, work)
        finally:
            if first.running:
                first.kill()
        assert not failures, "a write failed before the kill:\n" + "\n".join(failures[:20])
        assert sum(acked) > 0, "no write was acknowledged in the load window"

        second = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            client = support.make_client(second.endpoint)
            window = client.describe_continuous_backups(TableName=TABLE)[
                "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            assert window["PointInTimeRecoveryStatus"] == "ENABLED"
            at_between = restore(client, "PitrBetween", RestoreDateTime=datetime.datetime.fromtimestamp(
                between, tz=datetime.timezone.utc))
            latest = restore(client, "PitrLatest", UseLatestRestorableTime=True)
            now = state(client, TABLE)
            support.report(f"pitr crash test: acked phase-2 writes={sum(acked)} items now={len(now)}")
            assert at_between == phase1
            assert latest == now
            assert now != phase1, "phase 2 changed nothing"
        finally:
            code = second.stop()
        assert code == 0, f"restarted binderdb exited with {code} after SIGTERM; stderr:\n{second.log()}"
    finally:
        if os.environ.get("BINDERDB_KEEP_CRASH_DIR"):
            print(f"crash data dir kept at {data_dir}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

"""Durability under a crash: every acknowledged PutItem survives SIGKILL, and no item is half-written.

Eight writers put distinct items on the durable engine; after about two seconds the server is
killed with SIGKILL mid-load and restarted on the same data dir. Every item whose PutItem got a
200 must be there with exactly the attributes written. Items that were in flight may or may not
be there, but any item that is there must be whole: its payload must match the checksum stored
beside it.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import string

import support

TABLE = "CrashItems"
WRITERS = 8
LOAD_SECONDS = 2.0


def make_item(writer: int, seq: int, rng: random.Random) -> dict:
    payload = "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(16, 6000)))
    return {
        "pk": {"S": f"w{writer}-{seq:07d}"},
        "writer": {"N": str(writer)},
        "seq": {"N": str(seq)},
        "payload": {"S": payload},
        "sha256": {"S": hashlib.sha256(payload.encode()).hexdigest()},
        "tags": {"SS": [f"writer-{writer}", "crash-test"]},
    }


def normalise(item: dict) -> dict:
    """Sets come back in any order; compare them as sorted lists."""
    return {name: ({"SS": sorted(value["SS"])} if "SS" in value else value) for name, value in item.items()}


def scan_all(client) -> dict:
    return {item["pk"]["S"]: item for item in support.scan_all(client, TABLE)}


def test_acknowledged_writes_survive_sigkill():
    data_dir = support.new_data_dir("binderdb-crash-")
    scratch = data_dir.parent
    try:
        first = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            support.create_pk_table(support.make_client(first.endpoint), TABLE)
            acked_by_writer = [dict() for _ in range(WRITERS)]
            rngs = [random.Random(w) for w in range(WRITERS)]

            def work(writer: int, client) -> None:
                item = make_item(writer, len(acked_by_writer[writer]), rngs[writer])
                client.put_item(TableName=TABLE, Item=item)
                acked_by_writer[writer][item["pk"]["S"]] = item

            failures = support.kill_mid_load(first, WRITERS, LOAD_SECONDS, work)
        finally:
            if first.running:
                first.kill()

        assert not failures, "PutItem failed before the kill:\n" + "\n".join(failures[:20])
        acked = {k: v for per_writer in acked_by_writer for k, v in per_writer.items()}
        assert acked, "no PutItem was acknowledged in the load window"

        second = support.Server(in_memory=False, data_dir=data_dir).start()
        try:
            client = support.make_client(second.endpoint)
            assert TABLE in client.list_tables()["TableNames"]
            assert client.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE"

            found = scan_all(client)
            missing = sorted(set(acked) - set(found))
            # Confirm each miss with a strongly consistent GetItem so the report names real losses.
            lost = [k for k in missing
                    if "Item" not in client.get_item(TableName=TABLE, Key={"pk": {"S": k}}, ConsistentRead=True)]
            wrong = [k for k, item in acked.items() if k in found and normalise(found[k]) != normalise(item)]
            torn = [k for k, item in found.items()
                    if hashlib.sha256(item.get("payload", {}).get("S", "").encode()).hexdigest()
                    != item.get("sha256", {}).get("S")]
            extra = len(set(found) - set(acked))
            support.report(f"crash test: acked={len(acked)} found={len(found)} "
                           f"acked_found={len(acked) - len(lost)} lost={len(lost)} wrong={len(wrong)} "
                           f"torn={len(torn)} unacked_present={extra}")

            assert not lost, f"{len(lost)} acknowledged items lost, e.g. {lost[:5]}"
            assert not wrong, f"{len(wrong)} acknowledged items differ from what was written, e.g. {wrong[:5]}"
            assert not torn, f"{len(torn)} items are half-written (payload != checksum), e.g. {torn[:5]}"
            # The table is still writable after recovery.
            client.put_item(TableName=TABLE, Item=make_item(99, 0, random.Random(99)))
        finally:
            code = second.stop()
        assert code == 0, f"restarted binderdb exited with {code} after SIGTERM; stderr:\n{second.log()}"
    finally:
        if os.environ.get("BINDERDB_KEEP_CRASH_DIR"):
            print(f"crash data dir kept at {data_dir}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

"""The RADOS engine when the cluster loses an OSD: writes go on, nothing acknowledged is lost.

Runs only against a test Ceph cluster (BINDERDB_CEPH_CONF, set by scripts/test, whose
scripts/ceph-cluster keeps each daemon's PID in run/<name>.pid next to ceph.conf). Kills one of
the three OSDs with SIGKILL under a write load, checks every acknowledged item afterwards, and
restarts the OSD so the cluster heals for the tests after it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import support

pytestmark = pytest.mark.skipif(not support.ceph_conf(), reason="no test Ceph cluster (BINDERDB_CEPH_CONF)")


def _osd_up_count(conf: str) -> int:
    out = subprocess.run(["ceph", "-c", conf, "osd", "stat"], capture_output=True, text=True, timeout=30).stdout
    # "3 osds: 2 up (since 5s), 3 in ..."
    return int(out.split(":")[1].split("up")[0].strip())


def test_rados_osd_killed_under_write_load_loses_no_acknowledged_write():
    conf = support.ceph_conf()
    run_dir = Path(conf).parent / "run"
    pool = support.new_rados_pool()
    server = support.Server(in_memory=False, rados_pool=pool).start()
    try:
        client = support.make_client(server.endpoint, retries=True)
        support.create_pk_table(client, "acked")
        acked: list[str] = []
        stop = threading.Event()

        def writer(w: int) -> None:
            own = support.make_client(server.endpoint, retries=True)
            i = 0
            while not stop.is_set():
                key = f"w{w}-{i}"
                own.put_item(TableName="acked", Item={"pk": {"S": key}, "n": {"N": str(i)}})
                acked.append(key)
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        assert support.wait_until(lambda: len(acked) >= 10, timeout=60)
        osd_pid = int((run_dir / "osd.1.pid").read_text())
        os.kill(osd_pid, signal.SIGKILL)
        before = len(acked)
        # Writes keep being acknowledged with two of three replicas (min_size 2).
        assert support.wait_until(lambda: len(acked) >= before + 20, timeout=60), "writes stalled"
        stop.set()
        for t in threads:
            t.join()

        missing = [k for k in acked
                   if "Item" not in client.get_item(TableName="acked", Key={"pk": {"S": k}}, ConsistentRead=True)]
        assert missing == []
        assert len(support.scan_all(client, "acked")) == len(acked)
        assert client.describe_table(TableName="acked")["Table"]["ItemCount"] == len(acked)
        support.report(f"rados OSD kill: acked={len(acked)} (after the kill: {len(acked) - before}) missing=0")
    finally:
        # Heal the cluster: restart the OSD and wait for it to be up again.
        subprocess.run(["ceph-osd", "-c", conf, "-i", "1"], capture_output=True, timeout=60)
        assert support.wait_until(lambda: _osd_up_count(conf) == 3, timeout=60, interval=0.5)
        assert server.stop() == 0
        support.drop_rados_pool(pool)


def test_rados_node_killed_mid_transactions_recovers_all_or_nothing():
    """SIGKILL the binderdb node while it commits puts and two-partition transactions (each an
    intent in RADOS, applied object by object); a new node on the pool replays what was left
    half-applied: every acknowledged write is there, every transaction is all-or-nothing, and
    ItemCount matches the items."""
    pool = support.new_rados_pool()
    first = support.Server(in_memory=False, rados_pool=pool).start()
    acked_puts: list[str] = []
    sent_txns: list[tuple[str, str]] = []
    acked_txns: list[tuple[str, str]] = []
    try:
        support.create_pk_table(support.make_client(first.endpoint), "txns")
        counters = [0] * 4

        def work(writer: int, client) -> None:
            n = counters[writer]
            counters[writer] += 1
            if n % 2:
                pair = (f"t{writer}-{n}-a", f"t{writer}-{n}-b")
                sent_txns.append(pair)
                client.transact_write_items(TransactItems=[
                    {"Put": {"TableName": "txns", "Item": {"pk": {"S": k}}}} for k in pair])
                acked_txns.append(pair)
            else:
                key = f"p{writer}-{n}"
                client.put_item(TableName="txns", Item={"pk": {"S": key}})
                acked_puts.append(key)

        failures = support.kill_mid_load(first, writers=4, seconds=4.0, work=work)
        assert failures == []
        # A new node opens the pool at once and recovers the killed node's transactions (its liveness
        # lock lapses within 10 s; readers meeting its locks resolve them).
        second = support.Server(in_memory=False, rados_pool=pool).start(ready_timeout=60)
        try:
            client = support.make_client(second.endpoint)
            present = {item["pk"]["S"] for item in support.scan_all(client, "txns")}
            assert [k for k in acked_puts if k not in present] == []
            assert [p for p in acked_txns if not set(p) <= present] == []
            assert [p for p in sent_txns if len(set(p) & present) == 1] == [], "a half transaction"
            assert client.describe_table(TableName="txns")["Table"]["ItemCount"] == len(present)
            support.report(f"rados node kill: puts acked={len(acked_puts)} "
                           f"txns acked={len(acked_txns)} sent={len(sent_txns)} items={len(present)}")
        finally:
            assert second.stop() == 0
    finally:
        support.drop_rados_pool(pool)

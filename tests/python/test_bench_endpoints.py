"""`binderdb bench` against another DynamoDB implementation: moto's server (run in this
process), which serves TransactWriteItems and closes the connection after every response, as
servers without keep-alive do. The bench must reconnect transparently and its `txn` workload
must write whole four-item transactions."""

from __future__ import annotations

import json
import subprocess

import pytest
from moto.server import ThreadedMotoServer

import support

TABLE = "bench_txn"


@pytest.fixture(scope="module")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def run_bench(endpoint: str, workload: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(support.binary_path()), "bench", "--endpoint", endpoint, "--workload", workload,
         "--duration", "1s", "--warmup", "200ms", "--json", *extra],
        capture_output=True, text=True, timeout=120)


def test_txn_writes_four_item_transactions(moto_endpoint):
    # One connection: moto's TransactWriteItems is not safe under concurrent calls (it copies
    # the table while other requests change it and answers 500).
    out = run_bench(moto_endpoint, "txn", "--connections", "1", "--table", TABLE, "--keep-table")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["workload"] == "txn"
    assert summary["errors"] == {}
    assert summary["ops"] > 0
    client = support.make_client(moto_endpoint)
    items = client.get_paginator("scan").paginate(TableName=TABLE).build_full_result()["Items"]
    # Every transaction put four new items: the measured ones, the probe before the run and the
    # warm-up's (whose count the summary leaves out).
    assert len(items) % 4 == 0
    assert len(items) >= 4 * (summary["ops"] + 1)
    keys = {(item["pk"]["S"], item["sk"]["N"]) for item in items}
    assert len(keys) == len(items)
    assert all(item["pk"]["S"].startswith("c") for item in items)
    client.delete_table(TableName=TABLE)


def test_get_reconnects_to_a_server_that_closes_connections(moto_endpoint):
    out = run_bench(moto_endpoint, "get", "--connections", "4", "--items", "40")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["errors"] == {}
    assert summary["ops"] > 0

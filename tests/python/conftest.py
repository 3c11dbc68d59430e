"""Fixtures: a running binderdb (in-memory or durable) and boto3 clients pointed at it."""

from __future__ import annotations

import shutil

import pytest

import support


def _start(mode: str) -> tuple[support.Server, object]:
    if mode == "rados":
        pool = support.new_rados_pool()
        return support.Server(in_memory=False, rados_pool=pool).start(), pool
    if mode == "memory":
        return support.Server(in_memory=True).start(), None
    data_dir = support.new_data_dir()
    return support.Server(in_memory=False, data_dir=data_dir).start(), data_dir.parent


def _stop(server: support.Server, scratch) -> None:
    try:
        code = server.stop()
        assert code == 0, f"binderdb exited with {code} after SIGTERM; stderr:\n{server.log()}"
    finally:
        if isinstance(scratch, str):
            support.drop_rados_pool(scratch)
        elif scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


# With a test Ceph cluster (BINDERDB_CEPH_CONF, set by scripts/test), every module also runs
# against a server on RADOS (`-k rados` selects just those).
ENGINES = ["memory", "durable"] + (["rados"] if support.ceph_conf() else [])


@pytest.fixture(scope="module", params=ENGINES)
def server(request):
    """A server per test module, once in memory, once on a temp data dir (the default engine) and,
    with a test Ceph cluster, once on a fresh RADOS pool."""
    srv, scratch = _start(request.param)
    yield srv
    _stop(srv, scratch)


@pytest.fixture(scope="module")
def memory_server():
    srv, scratch = _start("memory")
    yield srv
    _stop(srv, scratch)


@pytest.fixture(scope="module")
def durable_server():
    srv, scratch = _start("durable")
    yield srv
    _stop(srv, scratch)


@pytest.fixture
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture
def client(server):
    """A low-level client that never retries, so error tests see the first answer."""
    return support.make_client(server.endpoint)


@pytest.fixture
def resource(server):
    return support.make_resource(server.endpoint)


def pytest_terminal_summary(terminalreporter):
    for line in support.SUMMARY_LINES:
        terminalreporter.write_line(line)

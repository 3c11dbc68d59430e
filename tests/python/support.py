"""Helpers shared by the Python suite: start/stop a binderdb server, build clients, send raw requests.

Tests import this module directly (pytest puts this directory on sys.path because it has no
__init__.py); the fixtures in conftest.py are thin wrappers around it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import boto3
import botocore.exceptions
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_PATTERN = re.compile(r"listening on (http://[0-9.]+:[0-9]+)")
ADDRESS_PATTERN = re.compile(r"https?://[0-9.]+:[0-9]+")
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
REGION = "us-east-1"
TARGET_PREFIX = "DynamoDB_20120810."

# Dummy credentials: binderdb accepts any, real clients insist on having some.
CREDENTIAL_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
for _name, _value in CREDENTIAL_ENV.items():
    os.environ.setdefault(_name, _value)


def binary_path() -> Path:
    """The server binary: $BINDERDB_BIN, or the workspace's debug build."""
    override = os.environ.get("BINDERDB_BIN")
    return Path(override) if override else REPO_ROOT / "target" / "debug" / "binderdb"


def ceph_conf() -> str | None:
    """The test Ceph cluster's ceph.conf ($BINDERDB_CEPH_CONF, set by scripts/test), if any."""
    return os.environ.get("BINDERDB_CEPH_CONF")


_pool_serial = iter(range(1 << 30))


def new_rados_pool() -> str:
    """A fresh pool on the test cluster, so a RADOS server starts empty (3 replicas, 8 PGs)."""
    conf = ceph_conf()
    assert conf, "BINDERDB_CEPH_CONF is not set"
    name = f"binderdb-test-{os.getpid()}-{next(_pool_serial)}"
    subprocess.run(["ceph", "-c", conf, "osd", "pool", "create", name, "8", "8"],
                   check=True, capture_output=True, timeout=60)
    # A write returns once the pool's placement groups are active.
    subprocess.run(["rados", "-c", conf, "-p", name, "put", "ready", "-"], input=b"x",
                   check=True, capture_output=True, timeout=120)
    subprocess.run(["rados", "-c", conf, "-p", name, "rm", "ready"], check=True, capture_output=True, timeout=60)
    return name


def drop_rados_pool(name: str) -> None:
    subprocess.run(["ceph", "-c", str(ceph_conf()), "osd", "pool", "rm", name, name,
                    "--yes-i-really-really-mean-it"], capture_output=True, timeout=60)


class Server:
    """One binderdb process.

    Stderr is drained by a thread for the whole life of the process (a full pipe would block the
    server's logging), and kept so a failing test can show it.
    """

    def __init__(self, *, in_memory: bool, data_dir: Path | None = None, extra_args: list[str] | None = None,
                 rados_pool: str | None = None):
        self.in_memory = in_memory
        self.rados_pool = rados_pool
        self.data_dir = data_dir
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.log_lines: list[str] = []
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def command(self) -> list[str]:
        cmd = [str(binary_path()), "serve", "--host", "127.0.0.1", "--port", "0"]
        if self.rados_pool:
            cmd += ["--storage", "rados", "--ceph-conf", str(ceph_conf()), "--pool", self.rados_pool]
        elif self.in_memory:
            cmd.append("--in-memory")
        else:
            assert self.data_dir is not None, "a durable server needs a data dir"
            cmd += ["--data-dir", str(self.data_dir)]
        return cmd + self.extra_args

    def start(self, ready_timeout: float = READY_TIMEOUT_S) -> "Server":
        binary = binary_path()
        if not binary.exists():
            raise RuntimeError(f"binderdb binary not found at {binary}; run `cargo build --workspace` "
                               "or set BINDERDB_BIN")
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env["NO_COLOR"] = "1"
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(self.data_dir.parent) if self.data_dir else None,
        )
        self._reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()
        if not self._ready.wait(ready_timeout) or self.endpoint is None:
            code = self.proc.poll()
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(
                f"binderdb did not print 'listening on http://...' within {ready_timeout:.0f}s "
                f"(exit code {code}); stderr:\n{self.log()}"
            )
        return self

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log_lines.append(line)
            if not self._ready.is_set() and "listening on" in line:
                found = ADDRESS_PATTERN.search(line)
                if found:
                    self.endpoint = found.group(0)
                    self._ready.set()
        # EOF: the process closed stderr (exited); unblock a waiting start().
        self._ready.set()

    def log(self) -> str:
        return "\n".join(self.log_lines[-200:])

    def stop(self) -> int:
        """SIGTERM, wait up to 10 s, return the exit code (killing the process if it hangs)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"binderdb did not exit within {STOP_TIMEOUT_S:.0f}s of SIGTERM; "
                                     f"stderr:\n{self.log()}")
        if self._reader is not None:
            self._reader.join(5)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: the crash test's power cut."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def new_data_dir(prefix: str = "binderdb-test-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix)) / "data"


def client_config(*, retries: bool = False) -> botocore.config.Config:
    return botocore.config.Config(
        region_name=REGION,
        retries={"max_attempts": 5 if retries else 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )


def session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=CREDENTIAL_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIAL_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )


def make_client(endpoint: str, *, retries: bool = False):
    return session().client("dynamodb", endpoint_url=endpoint, config=client_config(retries=retries))


def make_resource(endpoint: str, *, retries: bool = False):
    return session().resource("dynamodb", endpoint_url=endpoint, config=client_config(retries=retries))


_CREDENTIALS = botocore.credentials.Credentials(
    CREDENTIAL_ENV["AWS_ACCESS_KEY_ID"], CREDENTIAL_ENV["AWS_SECRET_ACCESS_KEY"]
)


def raw_post(endpoint: str, operation: str, body, *, target: str | None = None,
             content_type: str = "application/x-amz-json-1.0", sign: bool = True) -> requests.Response:
    """POST one DynamoDB request exactly as given.

    `body` is sent verbatim if it is str/bytes, otherwise JSON-encoded. The request is SigV4-signed
    like an SDK's, so only the body is malformed, never the envelope (real DynamoDB answers an
    unsigned request with MissingAuthenticationTokenException before looking at the body).
    """
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    if isinstance(data, str):
        data = data.encode("utf-8")
    headers = {
        "X-Amz-Target": target if target is not None else TARGET_PREFIX + operation,
        "Content-Type": content_type,
    }
    if sign:
        request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + "/", data=data, headers=headers)
        botocore.auth.SigV4Auth(_CREDENTIALS, "dynamodb", REGION).add_auth(request)
        headers = dict(request.headers.items())
    return requests.post(endpoint + "/", data=data, headers=headers, timeout=30)


SUMMARY_LINES: list[str] = []


def report(line: str) -> None:
    """A line for the end-of-run summary (conftest prints these even under -q)."""
    print(line)
    SUMMARY_LINES.append(line)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def create_pk_table(client, name: str) -> None:
    """An on-demand table with a string partition key `pk`, waited for until it exists."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


CLIENT_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                 requests.RequestException, OSError)


def scan_all(client, table: str) -> list[dict]:
    """Every item of `table`, read by a consistent paginated Scan."""
    items, start = [], None
    while True:
        page = client.scan(TableName=table, ConsistentRead=True,
                           **({"ExclusiveStartKey": start} if start else {}))
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def kill_mid_load(server: Server, writers: int, seconds: float, work) -> list[str]:
    """Runs `work(writer, client)` in a loop on `writers` threads, each with its own client, for
    about `seconds`, then SIGKILLs `server` (the power cut: no chance to flush) and waits for the
    threads. A thread stops at its first client error; errors from before the kill are returned
    as failures (those the kill causes are expected)."""
    stop, killing = threading.Event(), threading.Event()
    failures: list[str] = []

    def loop(writer: int) -> None:
        client = make_client(server.endpoint)
        while not stop.is_set():
            try:
                work(writer, client)
            except CLIENT_ERRORS as error:
                # `killing` is set before the kill, so no error the kill causes can precede it.
                if not killing.is_set():
                    failures.append(f"writer {writer}: {error!r}")
                return

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    killing.set()
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a writer hung after the kill"
    return failures

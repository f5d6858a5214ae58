from chassis.testing import assert_serves_health


def test_the_gateway_processes_start_and_report_ready(start_services):
    platform = start_services("gateway", "gateway:api")
    for process in platform.processes.values():
        assert_serves_health(process)

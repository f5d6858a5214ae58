from chassis.testing import assert_serves_health


def test_the_catalog_processes_start_and_report_ready(start_services):
    platform = start_services("catalog")
    for process in platform.processes.values():
        assert_serves_health(process)

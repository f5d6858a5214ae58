from chassis.testing import assert_serves_health


def test_the_selfcare_processes_start_and_report_ready(start_services):
    platform = start_services("selfcare", "selfcare:api")
    for process in platform.processes.values():
        assert_serves_health(process)

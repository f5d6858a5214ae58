from chassis.testing import assert_serves_health


def test_the_customer_processes_start_and_report_ready(start_services):
    platform = start_services("customer")
    for process in platform.processes.values():
        assert_serves_health(process)

from chassis.testing import assert_serves_health


def test_the_notification_processes_start_and_report_ready(start_services):
    platform = start_services("notification")
    for process in platform.processes.values():
        assert_serves_health(process)

from gateway.domain.auth import permitted


def test_a_viewer_reads_but_changes_nothing():
    assert permitted("viewer", "GET")
    assert not permitted("viewer", "POST")
    assert not permitted("viewer", "PATCH")


def test_an_operator_changes_customers_but_not_admin_only_operations():
    assert permitted("operator", "DELETE")
    assert not permitted("operator", "POST", ["admin"])
    assert not permitted("operator", "GET", ["admin"])


def test_an_admin_may_do_everything():
    assert permitted("admin", "POST", ["admin"])
    assert permitted("admin", "PUT")


def test_an_unknown_role_may_do_nothing():
    assert not permitted("guest", "GET")

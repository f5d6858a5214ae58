import httpx
import pytest

from chassis.testing import operator_client


@pytest.fixture(scope="module")
def platform(start_services):
    return start_services("gateway:api")


@pytest.fixture(scope="module")
def admin(platform):
    with operator_client(platform) as client:
        yield client


def _user(admin, username, role, password="a-long-password-1"):
    response = admin.post("/api/v1/users", json={"username": username, "password": password, "role": role})
    assert response.status_code == 201, response.text
    return password


def test_every_api_call_needs_a_token_but_health_does_not(platform):
    with httpx.Client(base_url=platform["gateway:api"].url) as anonymous:
        assert anonymous.get("/api/v1/customers").status_code == 401
        assert anonymous.get("/api/v1/audit").status_code == 401
        bad = anonymous.get("/api/v1/audit", headers={"Authorization": "Bearer not-a-token"})
        assert bad.status_code == 401
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert anonymous.get("/health/live").status_code == 200


def test_a_wrong_password_gets_no_token(platform):
    with httpx.Client(base_url=platform["gateway:api"].url) as anonymous:
        response = anonymous.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-password"})
        assert response.status_code == 401
        assert "accessToken" not in response.text
        assert anonymous.post("/api/v1/auth/token", json={"username": "admin"}).status_code == 400


def test_the_initial_admin_logs_in_and_its_password_is_stored_as_an_argon2_hash(platform, admin):
    assert admin.get("/api/v1/users").json()[0]["role"] == "admin"
    stored = platform.database("gateway").operator_users.find_one({"_id": "admin"})
    assert stored["password_hash"].startswith("$argon2")
    assert platform.env["GATEWAY_ADMIN_PASSWORD"] not in str(stored)


def test_a_viewer_reads_but_every_change_is_forbidden(platform, admin):
    password = _user(admin, "vera", "viewer")
    with operator_client(platform, username="vera", password=password) as viewer:
        assert viewer.get("/api/v1/audit").status_code == 200
        refused = viewer.post("/api/v1/customers/1/close")
        assert refused.status_code == 403
        assert refused.json()["title"] == "Forbidden"
        assert viewer.get("/api/v1/users").status_code == 403


def test_an_operator_cannot_manage_users(platform, admin):
    password = _user(admin, "otto", "operator")
    with operator_client(platform, username="otto", password=password) as operator:
        response = operator.post("/api/v1/users", json={"username": "mallory", "password": "x" * 12,
                                                        "role": "admin"})
        assert response.status_code == 403
    assert "mallory" not in [u["username"] for u in admin.get("/api/v1/users").json()]


def test_disabling_a_user_revokes_their_token_at_once(platform, admin):
    password = _user(admin, "dora", "operator")
    with operator_client(platform, username="dora", password=password) as dora:
        assert dora.get("/api/v1/audit").status_code == 200
        assert admin.patch("/api/v1/users/dora", json={"enabled": False}).status_code == 200
        assert dora.get("/api/v1/audit").status_code == 401
    with pytest.raises(RuntimeError):
        operator_client(platform, username="dora", password=password)


def test_changes_are_audited_with_who_what_when_before_and_after(platform, admin):
    _user(admin, "paula", "viewer")
    admin.patch("/api/v1/users/paula", json={"role": "operator"})
    assert admin.delete("/api/v1/users/paula").status_code == 204
    response = admin.get("/api/v1/audit", params={"target": "user/paula"})
    assert response.headers["X-Total-Count"] == "3"
    deleted, updated, created = response.json()
    assert [e["operation"] for e in (created, updated, deleted)] == [
        "gateway.api.auth.create_user", "gateway.api.auth.update_user", "gateway.api.auth.delete_user"]
    assert {e["actor"] for e in (created, updated, deleted)} == {"admin"}
    assert created["before"] is None and created["after"]["role"] == "viewer"
    assert (updated["before"]["role"], updated["after"]["role"]) == ("viewer", "operator")
    assert deleted["after"] is None and deleted["before"]["username"] == "paula"
    assert "password" not in str(response.json()) and "a-long-password" not in str(response.json())


def test_reads_refusals_and_logins_are_not_changes(platform, admin):
    before = int(admin.get("/api/v1/audit").headers["X-Total-Count"])
    admin.get("/api/v1/users")
    admin.post("/api/v1/users", json={"username": "x", "password": "short", "role": "viewer"})  # 400
    operator_client(platform).close()
    assert int(admin.get("/api/v1/audit").headers["X-Total-Count"]) == before


def test_an_admin_cannot_lock_themselves_out(admin):
    assert admin.patch("/api/v1/users/admin", json={"role": "viewer"}).status_code == 409
    assert admin.delete("/api/v1/users/admin").status_code == 409

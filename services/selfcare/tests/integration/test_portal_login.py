"""The customers' side: logging in, sessions, emailed links, and the bad input the issue lists."""
from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def portal(platform, kit):
    with kit.portal_client(platform) as client:
        yield client


def test_a_verified_enabled_user_logs_in_with_a_secure_httponly_samesite_cookie(portal, kit, verified):
    customer_id, email = verified()
    response = kit.log_in(portal, email.upper())
    assert response.status_code == 200, response.text
    assert response.json()["customerId"] == customer_id and response.json()["csrfToken"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("selfcare_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert portal.get("/api/v1/session").json()["email"] == email


def test_logging_out_ends_the_session(portal, kit, verified, platform):
    customer_id, email = verified()
    kit.log_in(portal, email)
    assert portal.delete("/api/v1/session").status_code == 204
    assert kit.session_count(platform, customer_id) == 0
    kit.problem(portal.get("/api/v1/session"), 401)


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(portal, kit, verified):
    _, email = verified()
    wrong = kit.problem(kit.log_in(portal, email, "not-the-password-1"), 401)
    unknown = kit.problem(kit.log_in(portal, "nobody@example.com"), 401)
    assert wrong["detail"] == unknown["detail"] == "Invalid email or password"


def test_an_unverified_user_cannot_log_in(portal, kit, operator, platform):
    customer_id, user = kit.create_user(operator)
    assert "Verify your email" in kit.problem(kit.log_in(portal, user["email"]), 403)["detail"]
    assert kit.session_count(platform, customer_id) == 0


def test_a_disabled_user_cannot_log_in_and_disabling_ends_open_sessions(portal, kit, operator, verified, platform):
    customer_id, email = verified()
    assert kit.log_in(portal, email).status_code == 200
    operator.patch(f"/api/v1/customers/{customer_id}/portalUser", json={"enabled": False})
    kit.problem(portal.get("/api/v1/session"), 401)
    assert "disabled" in kit.problem(kit.log_in(portal, email), 403)["detail"]
    operator.patch(f"/api/v1/customers/{customer_id}/portalUser", json={"enabled": True})
    assert kit.log_in(portal, email).status_code == 200


def test_a_deleted_user_with_a_live_session_loses_access_at_once(portal, kit, operator, verified, platform):
    customer_id, email = verified()
    assert kit.log_in(portal, email).status_code == 200
    assert operator.delete(f"/api/v1/customers/{customer_id}/portalUser").status_code == 204
    assert kit.session_count(platform, customer_id) == 0
    kit.problem(portal.get("/api/v1/profile"), 401)
    assert portal.get("/balances").headers["location"].startswith("/login")
    kit.problem(kit.log_in(portal, email), 401)


def test_a_password_change_by_the_operator_revokes_every_session(portal, kit, operator, verified, platform):
    customer_id, email = verified()
    kit.log_in(portal, email)
    new = "orchid-lantern-77-moss"
    assert operator.patch(f"/api/v1/customers/{customer_id}/portalUser",
                          json={"password": new, "passwordConfirmation": new}).status_code == 200
    kit.problem(portal.get("/api/v1/session"), 401)
    assert kit.log_in(portal, email, new).status_code == 200


def test_wrong_passwords_past_the_threshold_lock_the_account_even_for_the_right_one(portal, kit, verified, operator):
    customer_id, email = verified()
    for _ in range(5):
        kit.problem(kit.log_in(portal, email, "wrong-password-here"), 401)
    locked = kit.log_in(portal, email)
    assert kit.problem(locked, 429)["detail"].startswith("This account is locked")
    assert int(locked.headers["retry-after"]) > 800
    assert operator.get(f"/api/v1/customers/{customer_id}/portalUser").json()["lockedUntil"] is not None


def test_too_many_attempts_from_one_address_are_refused_whatever_the_account(platform, kit):
    with kit.portal_client(platform) as client:
        answers = [kit.log_in(client, f"someone-{i}@example.com").status_code for i in range(52)]
    assert answers[:50] == [401] * 50 and answers[50:] == [429, 429]


def test_a_verification_link_works_once(portal, kit, operator, mailbox):
    customer_id, user = kit.create_user(operator)
    operator.post(f"/api/v1/customers/{customer_id}/portalUser/verificationEmail")
    token = mailbox.token(customer_id, "verification")
    assert portal.post("/api/v1/email-verifications", json={"token": token}).json()["verified"] is True
    reused = portal.post("/api/v1/email-verifications", json={"token": token})
    assert kit.fields(reused) == {"token": "already used"}
    assert operator.get(f"/api/v1/customers/{customer_id}/portalUser").json()["verified"] is True
    kit.problem(operator.post(f"/api/v1/customers/{customer_id}/portalUser/verificationEmail"), 409)


def test_an_expired_or_replaced_link_is_refused_and_changes_nothing(portal, kit, operator, mailbox, platform):
    customer_id, _ = kit.create_user(operator)
    url = f"/api/v1/customers/{customer_id}/portalUser/verificationEmail"
    operator.post(url)
    first = mailbox.token(customer_id, "verification")
    operator.post(url)
    second = mailbox.token(customer_id, "verification")
    assert kit.fields(portal.post("/api/v1/email-verifications", json={"token": first})) == {"token": "unknown"}
    platform.database("selfcare").one_time_links.update_many(
        {"customer_id": customer_id}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
    assert kit.fields(portal.post("/api/v1/email-verifications", json={"token": second})) == {"token": "expired"}
    assert operator.get(f"/api/v1/customers/{customer_id}/portalUser").json()["verified"] is False


def test_a_reset_link_sets_a_new_password_once_and_a_weak_one_does_not_spend_it(portal, kit, operator, mailbox,
                                                                                verified, platform):
    customer_id, email = verified()
    kit.log_in(portal, email)
    operator.post(f"/api/v1/customers/{customer_id}/portalUser/passwordUpdate", json={"mode": "email"})
    token = mailbox.token(customer_id, "password_reset")
    weak = portal.post("/api/v1/password-resets", json={"token": token, "password": "sunshine123",
                                                        "passwordConfirmation": "sunshine123"})
    assert "password" in kit.fields(weak)
    mismatch = portal.post("/api/v1/password-resets", json={"token": token, "password": "orchid-lantern-77-moss",
                                                            "passwordConfirmation": "orchid-lantern-77-mos"})
    assert "passwordConfirmation" in kit.fields(mismatch)
    new = "orchid-lantern-77-moss"
    body = {"token": token, "password": new, "passwordConfirmation": new}
    assert portal.post("/api/v1/password-resets", json=body).status_code == 200
    assert kit.session_count(platform, customer_id) == 0
    assert kit.fields(portal.post("/api/v1/password-resets", json=body)) == {"token": "already used"}
    kit.problem(kit.log_in(portal, email), 401)
    assert kit.log_in(portal, email, new).status_code == 200


def test_a_forced_password_change_holds_the_user_until_the_password_is_changed(portal, kit, operator, verified):
    customer_id, email = verified()
    operator.post(f"/api/v1/customers/{customer_id}/portalUser/passwordUpdate", json={"mode": "nextLogin"})
    session = kit.log_in(portal, email).json()
    assert session["mustChangePassword"] is True
    kit.problem(portal.get("/api/v1/profile"), 403)
    assert portal.get("/balances").headers["location"] == "/change-password"
    same = {"currentPassword": kit.PASSWORD, "newPassword": kit.PASSWORD, "newPasswordConfirmation": kit.PASSWORD}
    assert "newPassword" in kit.fields(portal.post("/api/v1/password", json=same))
    new = "orchid-lantern-77-moss"
    changed = portal.post("/api/v1/password", json={"currentPassword": kit.PASSWORD, "newPassword": new,
                                                    "newPasswordConfirmation": new})
    assert changed.status_code == 204, changed.text
    assert portal.get("/api/v1/session").json()["mustChangePassword"] is False
    assert operator.get(f"/api/v1/customers/{customer_id}/portalUser").json()["mustChangePassword"] is False


def test_a_change_without_the_csrf_header_is_refused_and_the_session_stays(portal, kit, verified):
    _, email = verified()
    kit.log_in(portal, email)
    token = portal.headers.pop("X-CSRF-Token")
    assert portal.delete("/api/v1/session").status_code in (400, 403)
    portal.headers["X-CSRF-Token"] = "forged"
    kit.problem(portal.delete("/api/v1/session"), 403)
    portal.headers["X-CSRF-Token"] = token
    assert portal.get("/api/v1/session").status_code == 200


def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(portal, kit, verified, platform):
    customer_id, email = verified()
    kit.log_in(portal, email)
    refused = portal.post("/logout", data={})
    assert refused.status_code == 403 and "out of date" in refused.text
    assert kit.session_count(platform, customer_id) == 1
    login_without_token = portal.post("/login", data={"email": email, "password": kit.PASSWORD})
    assert login_without_token.status_code == 403
    assert kit.session_count(platform, customer_id) == 1


def test_the_login_page_logs_in_and_the_logout_form_logs_out(platform, kit, verified):
    customer_id, email = verified()
    with kit.portal_client(platform) as browser:
        page = browser.get("/login")
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
        token = kit.hidden(page.text, "csrf_token")
        logged = browser.post("/login?next=/profile", data={"csrf_token": token, "email": email,
                                                           "password": kit.PASSWORD})
        assert logged.status_code == 303 and logged.headers["location"] == "/profile"
        profile = browser.get("/profile")
        assert profile.status_code in (200, 503)
        csrf = kit.hidden(browser.get("/change-password").text, "csrf_token")
        assert browser.post("/logout", data={"csrf_token": csrf}).headers["location"] == "/login"
        assert kit.session_count(platform, customer_id) == 0


def test_the_login_page_says_why_a_login_failed_and_keeps_no_session(platform, kit, verified):
    _, email = verified()
    with kit.portal_client(platform) as browser:
        token = kit.hidden(browser.get("/login").text, "csrf_token")
        failed = browser.post("/login", data={"csrf_token": token, "email": email, "password": "nope-nope-nope"})
        assert failed.status_code == 401 and "Invalid email or password" in failed.text
        assert "selfcare_session" not in failed.headers.get("set-cookie", "")


def test_the_profile_shows_the_customers_own_contact_details(portal, kit, verified):
    customer_id, email = verified()
    kit.log_in(portal, email)
    profile = portal.get("/api/v1/profile").json()
    assert profile["customerId"] == customer_id and profile["user"]["email"] == email
    assert profile["contacts"][0]["city"] == "Ljubljana"

"""Operators manage a customer's portal user through the gateway (auth, audit, problems)."""
import pytest


def test_an_operator_creates_the_portal_user_of_a_customer_unverified_and_enabled(operator, kit, platform):
    customer_id, user = kit.create_user(operator)
    assert user == {**user, "customerId": customer_id, "firstName": "Ana", "lastName": "Novak",
                    "enabled": True, "verified": False, "mustChangePassword": False}
    assert "password" not in user and "passwordHash" not in user
    stored = platform.database("selfcare").portal_users.find_one({"_id": customer_id})
    assert stored["password_hash"].startswith("$argon2id$")
    assert operator.get(f"/api/v1/customers/{customer_id}/portalUser").json()["email"] == user["email"]


@pytest.mark.parametrize("changes, field", [
    ({"password": "short1!", "passwordConfirmation": "short1!"}, "password"),
    ({"password": "Password2024!", "passwordConfirmation": "Password2024!"}, "password"),
    ({"passwordConfirmation": "violet-harbour-93-kitf"}, "passwordConfirmation"),
    ({"email": "not-an-email"}, "email"),
    ({"firstName": ""}, "firstName"),
])
def test_a_weak_or_unconfirmed_password_or_a_bad_field_is_refused_and_nothing_is_stored(operator, kit, platform,
                                                                                          changes, field):
    customer_id = kit.new_customer(operator)
    response = operator.post(f"/api/v1/customers/{customer_id}/portalUser", json=kit.new_user_body(**changes))
    kit.problem(response, 400)
    assert field in kit.fields(response)
    assert platform.database("selfcare").portal_users.count_documents({"_id": customer_id}) == 0


def test_a_customer_has_at_most_one_portal_user_and_an_email_logs_in_one_user_only(operator, kit):
    customer_id, user = kit.create_user(operator)
    again = operator.post(f"/api/v1/customers/{customer_id}/portalUser", json=kit.new_user_body())
    assert "customerId" in kit.fields(again) and again.status_code == 409
    other = kit.new_customer(operator)
    taken = operator.post(f"/api/v1/customers/{other}/portalUser", json=kit.new_user_body(email=user["email"]))
    assert taken.status_code == 409 and "email" in kit.fields(taken)


def test_a_portal_user_for_a_customer_that_does_not_exist_is_a_404(operator, kit):
    kit.problem(operator.post("/api/v1/customers/99999999/portalUser", json=kit.new_user_body()), 404)
    kit.problem(operator.get("/api/v1/customers/99999999/portalUser"), 404)


def test_editing_changes_the_fields_and_a_new_email_must_be_verified_again(operator, kit, verified):
    customer_id, _ = verified()
    edited = operator.patch(f"/api/v1/customers/{customer_id}/portalUser", json={"lastName": "Kovač"}).json()
    assert edited["lastName"] == "Kovač" and edited["verified"] is True
    moved = operator.patch(f"/api/v1/customers/{customer_id}/portalUser", json={"email": "New.Ana@Example.com"})
    assert moved.json()["email"] == "new.ana@example.com" and moved.json()["verified"] is False


def test_a_new_password_from_the_operator_needs_its_confirmation_and_the_strength_rule(operator, kit):
    customer_id, _ = kit.create_user(operator)
    url = f"/api/v1/customers/{customer_id}/portalUser"
    assert "passwordConfirmation" in kit.fields(operator.patch(url, json={"password": "orchid-lantern-77-moss"}))
    assert "password" in kit.fields(operator.patch(url, json={"password": "qwertyuiop1",
                                                              "passwordConfirmation": "qwertyuiop1"}))
    assert operator.patch(url, json={}).status_code == 400


def test_every_portal_user_change_is_audited_without_the_password(operator, kit):
    customer_id, _ = kit.create_user(operator)
    operator.patch(f"/api/v1/customers/{customer_id}/portalUser", json={"enabled": False})
    entries = operator.get("/api/v1/audit", params={"target": f"customer/{customer_id}/portalUser"}).json()
    assert [e["method"] for e in entries] == ["PATCH", "POST"]
    assert entries[0]["before"]["enabled"] is True and entries[0]["after"]["enabled"] is False
    assert "violet" not in str(entries)


def test_a_viewer_may_read_but_not_change_portal_users(operator, kit, platform):
    from chassis.testing import operator_client

    assert operator.post("/api/v1/users", json={"username": "portal-viewer", "password": "viewer-password-1",
                                                "role": "viewer"}).status_code == 201
    customer_id, _ = kit.create_user(operator)
    with operator_client(platform, username="portal-viewer", password="viewer-password-1") as viewer:
        assert viewer.get(f"/api/v1/customers/{customer_id}/portalUser").status_code == 200
        kit.problem(viewer.delete(f"/api/v1/customers/{customer_id}/portalUser"), 403)
    assert operator.get(f"/api/v1/customers/{customer_id}/portalUser").status_code == 200


def test_the_verification_email_is_requested_as_an_event_with_a_single_use_expiring_link(operator, kit, mailbox):
    customer_id, user = kit.create_user(operator)
    sent = operator.post(f"/api/v1/customers/{customer_id}/portalUser/verificationEmail")
    assert sent.status_code == 202 and sent.json()["kind"] == "verification"
    email = mailbox.email(customer_id, "verification")
    assert email["email"] == user["email"] and email["name"] == "Ana Novak"
    assert "/verify-email?token=" in email["link"] and email["expiresAt"] == sent.json()["expiresAt"]


def test_a_password_update_sends_a_reset_link_or_forces_a_change_at_the_next_login(operator, kit, mailbox):
    customer_id, _ = kit.create_user(operator)
    url = f"/api/v1/customers/{customer_id}/portalUser/passwordUpdate"
    assert operator.post(url, json={"mode": "email"}).json()["kind"] == "password_reset"
    assert "/reset-password?token=" in mailbox.email(customer_id, "password_reset")["link"]
    assert operator.post(url, json={"mode": "nextLogin"}).status_code == 202
    assert operator.get(f"/api/v1/customers/{customer_id}/portalUser").json()["mustChangePassword"] is True
    assert operator.post(url, json={"mode": "sms"}).status_code == 400


def test_deleting_the_portal_user_removes_it_and_a_second_delete_is_a_404(operator, kit, platform):
    customer_id, _ = kit.create_user(operator)
    assert operator.delete(f"/api/v1/customers/{customer_id}/portalUser").status_code == 204
    kit.problem(operator.delete(f"/api/v1/customers/{customer_id}/portalUser"), 404)
    assert platform.database("selfcare").portal_users.count_documents({"_id": customer_id}) == 0

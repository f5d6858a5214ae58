from selfcare.domain.passwords import MIN_LENGTH, password_problems, personal_parts

PERSONAL = personal_parts("Ana", "Novak", "ana.novak@example.com")


def test_a_long_uncommon_confirmed_password_is_accepted():
    assert password_problems("violet-harbour-93-kite", "violet-harbour-93-kite", personal=PERSONAL) == {}


def test_a_short_password_is_refused_with_the_minimum_length():
    assert password_problems("Ab3$xyz", "Ab3$xyz") == {"password": f"at least {MIN_LENGTH} characters"}


def test_a_well_known_password_is_refused_even_with_digits_and_symbols_appended():
    for common in ("qwertyuiop", "Password123", "password2024!", "iloveyou12345"):
        assert "too common" in password_problems(common, common)["password"], common


def test_a_password_containing_the_users_name_or_email_is_refused():
    for personal in ("NovakNovak2026", "x-ana.novak-rules"):
        assert "name or email" in password_problems(personal, personal, personal=PERSONAL)["password"]


def test_a_mismatched_confirmation_is_named_on_its_own_field():
    assert password_problems("violet-harbour-93-kite", "violet-harbour-93-kit") == {
        "passwordConfirmation": "does not match the password"}


def test_a_missing_password_is_required():
    assert password_problems(None, None) == {"password": "required"}


def test_field_names_follow_the_form_that_asked():
    problems = password_problems("short", "other", field="newPassword", confirmation_field="newPasswordConfirmation")
    assert set(problems) == {"newPassword", "newPasswordConfirmation"}

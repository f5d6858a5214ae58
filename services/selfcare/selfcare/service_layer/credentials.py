"""Password hashing (argon2id) and the password rule applied to wire data."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chassis.errors import ValidationFailed
from selfcare.domain.passwords import password_problems

_hasher = PasswordHasher()
# Verified against when no user has the email, so an unknown email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no-such-portal-user-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def checked_password(password: object, confirmation: object, personal: tuple[str, ...], *,
                     field: str = "password", confirmation_field: str = "passwordConfirmation") -> str:
    """The password when it follows the rule, else ValidationFailed naming the fields."""
    problems = password_problems(password, confirmation, personal=personal, field=field,
                                 confirmation_field=confirmation_field)
    if problems:
        raise ValidationFailed(f"Invalid value for: {', '.join(sorted(problems))}", problems)
    assert isinstance(password, str)
    return password

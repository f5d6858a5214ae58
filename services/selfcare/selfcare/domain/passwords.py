"""The portal's password rule (no I/O): long enough, not a well-known password,
not the user's own name or email, and confirmed."""
from __future__ import annotations

import functools
from importlib import resources

MIN_LENGTH = 10
MAX_LENGTH = 128  # argon2 takes any length; a cap stops hashing megabytes on purpose


@functools.cache
def common_passwords() -> frozenset[str]:
    """Well-known passwords, lower case (the file ships with the package)."""
    text = resources.files("selfcare.domain").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problems(password: object, confirmation: object, *, personal: tuple[str, ...] = (),
                      field: str = "password", confirmation_field: str = "passwordConfirmation") -> dict[str, str]:
    """Field name -> reason for every broken rule; empty when the password is acceptable."""
    if not isinstance(password, str) or not password:
        return {field: "required"}
    problems: dict[str, str] = {}
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        problems[field] = f"at least {MIN_LENGTH} characters"
    elif len(password) > MAX_LENGTH:
        problems[field] = f"at most {MAX_LENGTH} characters"
    elif lowered in common_passwords() or _stripped(lowered) in common_passwords():
        problems[field] = "too common: it appears in lists of leaked passwords"
    elif any(len(part) >= 4 and part.lower() in lowered for part in personal if part):
        problems[field] = "must not contain the user's name or email"
    if confirmation != password:
        problems[confirmation_field] = "does not match the password"
    return problems


def _stripped(lowered: str) -> str:
    """`password2024!` is as guessable as `password`: drop trailing digits and symbols."""
    return lowered.rstrip("0123456789!@#$%^&*?.-_ ")


def personal_parts(first_name: str, last_name: str, email: str) -> tuple[str, ...]:
    return (first_name, last_name, email.split("@", 1)[0])

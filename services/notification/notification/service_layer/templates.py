"""Jinja2 templates of each notification kind: packaged defaults, operator overrides,
validation at configuration time and rendering at delivery time.

Operator templates run in Jinja2's sandbox with StrictUndefined: a template can neither reach
Python internals nor silently print an empty value for a misspelt variable.
"""
from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from chassis.errors import NotFound, ValidationFailed
from notification.domain.messages import template_variables
from notification.domain.model import Kind

PARTS = ("subject", "text", "html", "sms")
_plain = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_html = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


def kind_of(name: str) -> Kind:
    try:
        return Kind(name)
    except ValueError:
        raise NotFound(f"notification type {name!r} does not exist "
                       f"(types: {', '.join(k.value for k in Kind)})") from None


@functools.cache
def _packaged(kind: Kind) -> dict[str, str]:
    folder = resources.files("notification") / "templates"
    return {part: (folder / f"{kind.value}.{part}.j2").read_text().strip() for part in PARTS}


def default_parts(kind: Kind) -> dict[str, str]:
    """The packaged templates (read once per process)."""
    return dict(_packaged(kind))


def _environment(part: str) -> SandboxedEnvironment:
    return _html if part == "html" else _plain


def validate(kind: Kind, parts: dict[str, Any]) -> dict[str, str]:
    """The parts if each parses and uses only the kind's variables; else one ValidationFailed
    naming every bad part (e.g. `text: unknown variable 'balanse'`). The parts come loaded by
    TemplatePartsSchema (known names, strings of bounded length: the gateway component says so);
    what no schema can say is checked here."""
    allowed = template_variables(kind)
    errors: dict[str, str] = {}
    checked: dict[str, str] = {}
    for part in PARTS:
        if part not in parts:
            continue
        source = parts[part]
        if not source.strip():
            errors[part] = "must not be blank"
            continue
        try:
            used = meta.find_undeclared_variables(_environment(part).parse(source))
        except TemplateSyntaxError as exc:
            errors[part] = f"template syntax error on line {exc.lineno}: {exc.message}"
            continue
        unknown = sorted(used - allowed)
        if unknown:
            errors[part] = (f"unknown variable{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                            f"{kind.value} templates may use {', '.join(sorted(allowed))}")
            continue
        checked[part] = source
    if errors:
        raise ValidationFailed(f"Invalid template for: {', '.join(sorted(errors))}", errors)
    return checked


def render(parts: dict[str, str], part: str, variables: dict[str, Any]) -> str:
    return _environment(part).from_string(parts[part]).render(**variables).strip()

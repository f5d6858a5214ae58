import pytest

from chassis.errors import NotFound, ValidationFailed, load_wire
from notification.domain.messages import UnknownEvent, read_event, template_variables, with_recipient
from notification.domain.model import Kind
from notification.schemas import TemplatePartsSchema
from notification.service_layer import templates

THRESHOLD = {"customerId": 42, "balanceGroupId": "bg-1", "billingProfileId": "bp-1", "resource": "MB",
             "creditProfile": "STANDARD", "threshold": {"kind": "percent", "value": "80"}, "value": "4000",
             "balance": "-1000", "channels": ["email", "webhook"], "cycleId": "c-1",
             "crossedAt": "2026-11-29T08:00:00+00:00"}


def test_a_threshold_crossing_names_the_resource_threshold_and_channels():
    trigger = read_event("balance.threshold_crossed", THRESHOLD, "")
    assert trigger.kind is Kind.THRESHOLD_CROSSED and trigger.customer_id == 42
    assert (trigger.resource, trigger.threshold, trigger.threshold_value) == ("MB", {"kind": "percent", "value": "80"},
                                                                              "4000")
    assert trigger.channels == ["email", "webhook"] and not trigger.transactional


def test_account_emails_go_to_the_typed_address_and_ignore_opt_outs():
    trigger = read_event("selfcare.email_requested", {"kind": "password_reset", "customerId": 7, "email": "a@b.example",
                                                      "name": "Ana", "link": "https://x/r", "expiresAt": "soon"},
                         "2026-11-29T08:00:00Z")
    assert trigger.kind is Kind.PASSWORD_RESET and trigger.email == "a@b.example" and trigger.transactional


def test_an_event_without_its_fields_is_refused():
    with pytest.raises(UnknownEvent):
        read_event("balance.threshold_crossed", {"customerId": 1}, "")
    with pytest.raises(UnknownEvent):
        read_event("selfcare.email_requested", {"customerId": 1, "kind": "birthday", "email": "x"}, "")


@pytest.mark.parametrize("kind", list(Kind))
def test_every_packaged_template_is_valid_and_renders_every_part(kind):
    parts = templates.default_parts(kind)
    assert templates.validate(kind, parts) == parts
    variables = with_recipient({name: "X" for name in template_variables(kind)}, {"firstName": "Ana"})
    variables["threshold"] = {"kind": "percent", "value": "80"}
    for part in templates.PARTS:
        assert templates.render(parts, part, variables)


def test_the_threshold_email_shows_resource_threshold_and_level():
    trigger = read_event("balance.threshold_crossed", THRESHOLD, "")
    variables = with_recipient(trigger.variables, {"firstName": "Ana", "lastName": "Novak"})
    parts = templates.default_parts(Kind.THRESHOLD_CROSSED)
    assert templates.render(parts, "subject", variables) == "MB balance alert: threshold 80 % crossed"
    text = templates.render(parts, "text", variables)
    assert "Hello Ana Novak" in text and "80 % (4000 MB)" in text


def test_an_unknown_template_variable_is_refused_naming_the_part_and_the_variable():
    with pytest.raises(ValidationFailed) as refused:
        templates.validate(Kind.THRESHOLD_CROSSED, {"subject": "ok {{ resource }}", "text": "{{ balanse }} left"})
    assert set(refused.value.fields) == {"text"} and "'balanse'" in refused.value.fields["text"]


def test_a_template_syntax_error_and_a_blank_part_are_refused_naming_each():
    with pytest.raises(ValidationFailed) as refused:
        templates.validate(Kind.INVOICE_ISSUED, {"html": "{% if %}", "sms": "   "})
    assert set(refused.value.fields) == {"html", "sms"}


def test_an_unknown_template_part_or_an_empty_or_overlong_one_is_refused_by_the_gateways_shape():
    with pytest.raises(ValidationFailed) as refused:
        load_wire(TemplatePartsSchema(), {"html": "x", "fax": "x", "text": "", "sms": "x" * 20_001})
    assert set(refused.value.fields) == {"fax", "text", "sms"}


def test_html_parts_escape_the_values_text_parts_do_not():
    parts = {"html": "<p>{{ link }}</p>", "text": "{{ link }}"}
    assert templates.render(parts, "html", {"link": "<b>"}) == "<p>&lt;b&gt;</p>"
    assert templates.render(parts, "text", {"link": "<b>"}) == "<b>"


def test_an_unknown_notification_type_is_not_found():
    with pytest.raises(NotFound):
        templates.kind_of("birthday")

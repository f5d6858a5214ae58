"""RFC 7396 merge-patch, including the examples of the RFC's appendix A."""
import pytest

from chassis.merge_patch import apply_merge_patch

RFC_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_EXAMPLES)
def test_merge_patch_gives_the_results_of_rfc_7396_appendix_a(target, patch, expected):
    assert apply_merge_patch(target, patch) == expected


def test_a_null_removes_one_custom_attribute_and_keeps_the_others():
    current = {"customAttributes": {"segment": "retail", "referralCode": "R1"}}
    assert apply_merge_patch(current, {"customAttributes": {"segment": "smb"}}) == {
        "customAttributes": {"segment": "smb", "referralCode": "R1"}}
    assert apply_merge_patch(current, {"customAttributes": {"referralCode": None}}) == {
        "customAttributes": {"segment": "retail"}}


def test_merge_patch_never_modifies_its_arguments():
    target, patch = {"a": {"b": 1}}, {"a": {"c": 2}}
    apply_merge_patch(target, patch)
    assert target == {"a": {"b": 1}} and patch == {"a": {"c": 2}}

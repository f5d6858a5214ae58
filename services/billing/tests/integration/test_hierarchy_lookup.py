"""The customer's hierarchy groups for the details page: those it owns and the one it belongs to."""
from billing.service_layer import hierarchy, profiles


def test_a_customer_finds_the_group_it_belongs_to_with_its_members(billing_db, catalog, profile_payload):
    billing_db.customers.insert_one({"_id": 1, "name": "Olga Owner", "email": "o@example.com", "source_event": "e"})
    owner_profile = profiles.create_billing_profile(profile_payload(customer_id=1), catalog)
    group = hierarchy.create_hierarchy_group({"name": "Acme", "ownerCustomerId": 1,
                                              "billingProfileId": owner_profile["id"]})
    member = hierarchy.join_hierarchy_group({"groupId": group["id"], "customerId": 2})

    [found] = hierarchy.find_hierarchy_groups(member_customer_id=2)
    assert (found["id"], found["ownerName"]) == (group["id"], "Olga Owner")
    assert [(m["id"], m["customerId"]) for m in found["members"]] == [(member["id"], 2)]
    [owned] = hierarchy.find_hierarchy_groups(owner_customer_id=1)
    assert owned["members"] == found["members"], "the owner sees its members too"
    assert hierarchy.find_hierarchy_groups(member_customer_id=1) == [], "an owner is no member of its own group"
    hierarchy.leave_hierarchy_group(member["id"])
    assert hierarchy.find_hierarchy_groups(member_customer_id=2) == []

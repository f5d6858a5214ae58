"""pain.008 files valid against the official ISO 20022 XSDs (shipped by the sepaxml package), and
camt.054 / pain.002 files read back into results."""
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.resources import files

import pytest
import xmlschema

from billing import bank_simulator
from billing.config import DEV_CREDITOR
from billing.domain import pain008
from billing.domain.bank_results import Outcome, parse
from billing.domain.sepa import Collection, Mandate, Pain008Version, SequenceType
from chassis.errors import ValidationFailed

CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def official_schema(version: Pain008Version) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(files("sepaxml") / "schemas" / f"{version.value}.xsd"))


def collections() -> list[Collection]:
    first = Mandate("MANDATE-A", date(2025, 5, 1), "DE02120300000000202051", "BYLADEM1001", "Ada Lovelace")
    known = Mandate("MANDATE-B", date(2024, 1, 2), "AT611904300234573201", None, "Émile Zola & Söhne")
    return [
        Collection("INV-1/F1", "i1", "INV-1", Decimal("19.99"), first, SequenceType.FIRST, date(2026, 3, 4)),
        Collection("INV-2/F1", "i2", "INV-2", Decimal("5.00"), known, SequenceType.RECURRING, date(2026, 3, 4)),
        Collection("INV-3/F1", "i3", "INV-3", Decimal("100.10"), known, SequenceType.RECURRING, date(2026, 3, 5)),
    ]


@pytest.mark.parametrize("version", list(Pain008Version))
def test_every_pain008_file_is_valid_against_the_official_xsd(version):
    content = pain008.render("SDD-20260302-000001", CREATED, DEV_CREDITOR, collections(), version)
    official_schema(version).validate(content.decode())


def test_a_pain008_file_groups_by_sequence_type_and_date_and_carries_the_mandates():
    content = pain008.render("SDD-1", CREATED, DEV_CREDITOR, collections(), Pain008Version.V08)
    data = official_schema(Pain008Version.V08).to_dict(content.decode())["CstmrDrctDbtInitn"]
    assert data["GrpHdr"]["NbOfTxs"] == "3" and Decimal(str(data["GrpHdr"]["CtrlSum"])) == Decimal("125.09")
    blocks = [(b["PmtTpInf"]["SeqTp"], b["ReqdColltnDt"], len(b["DrctDbtTxInf"])) for b in data["PmtInf"]]
    assert blocks == [("FRST", "2026-03-04", 1), ("RCUR", "2026-03-04", 1), ("RCUR", "2026-03-05", 1)]
    first = data["PmtInf"][0]
    other = first["CdtrSchmeId"]["Id"]["PrvtId"]["Othr"]
    assert (other[0] if isinstance(other, list) else other)["Id"] == DEV_CREDITOR.creditor_id
    assert first["CdtrAcct"]["Id"]["IBAN"] == DEV_CREDITOR.iban
    mandate = first["DrctDbtTxInf"][0]["DrctDbtTx"]["MndtRltdInf"]
    assert (mandate["MndtId"], mandate["DtOfSgntr"]) == ("MANDATE-A", "2025-05-01")
    assert first["DrctDbtTxInf"][0]["PmtId"]["EndToEndId"] == "INV-1/F1"


def exported() -> bytes:
    return pain008.render("SDD-1", CREATED, DEV_CREDITOR, collections(), Pain008Version.V02)


def test_a_camt054_reads_as_one_paid_and_one_returned_collection_with_its_reason():
    camt = bank_simulator.camt054(exported(), DEV_CREDITOR.iban, {"INV-2/F1": "AM04"})
    read = parse(camt)
    assert (read.kind, read.creditor_iban) == ("camt.054", DEV_CREDITOR.iban)
    outcomes = {r.end_to_end_id: (r.outcome, r.reason_code, r.amount) for r in read.results}
    assert outcomes == {"INV-1/F1": (Outcome.PAID, None, Decimal("19.99")),
                        "INV-2/F1": (Outcome.RETURNED, "AM04", Decimal("5.00")),
                        "INV-3/F1": (Outcome.PAID, None, Decimal("100.10"))}
    assert read.results[0].bank_reference == "BANKREF-1"


def test_a_pain002_reads_rejections_with_their_reason_and_the_original_message():
    report = parse(bank_simulator.pain002(exported(), {"INV-3/F1": "MD01"}))
    assert report.original_message_id == "SDD-1"
    assert [(r.end_to_end_id, r.outcome, r.reason_code) for r in report.results] == [
        ("INV-3/F1", Outcome.REJECTED, "MD01")]


def test_a_pain002_rejecting_the_whole_file_says_so():
    assert parse(bank_simulator.pain002(exported(), {}, whole_file_reason="FF01")).rejected_whole_file == "FF01"


@pytest.mark.parametrize("content", [b"<Document><unclosed></Document>", b"", b"not xml at all",
                                     b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'])
def test_malformed_or_dangerous_xml_is_refused_naming_the_file(content):
    with pytest.raises(ValidationFailed) as refused:
        parse(content)
    assert "file" in refused.value.fields


def test_xml_that_is_neither_camt054_nor_pain002_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        parse(exported())
    assert "camt.054 or pain.002" in refused.value.detail

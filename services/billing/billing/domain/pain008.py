"""ISO 20022 pain.008 (customer direct debit initiation) documents, free of I/O.

Both supported versions share one element order; .08 renames the agents' `BIC` to `BICFI`.
Tests validate every rendered file against the official XSDs that the `sepaxml` package ships.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal

from billing.domain.sepa import SEPA_CURRENCY, Collection, Creditor, Pain008Version, payment_blocks, sepa_id

MAX_NAME = 70
MAX_REMITTANCE = 140


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _path(parent: ET.Element, path: str, text: str) -> ET.Element:
    """`a/b/c` creates the nested elements and sets the innermost one's text."""
    node = parent
    for tag in path.split("/"):
        node = _sub(node, tag)
    node.text = text
    return node


def _amount(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _agent(parent: ET.Element, tag: str, bic: str | None, version: Pain008Version) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic:
        _sub(institution, "BICFI" if version is Pain008Version.V08 else "BIC", bic)
    else:
        # Since 2016 the debtor's BIC is optional inside SEPA: say so explicitly.
        _path(institution, "Othr/Id", "NOTPROVIDED")


def render(message_id: str, created_at: datetime, creditor: Creditor, collections: list[Collection],
           version: Pain008Version) -> bytes:
    """The pain.008 document for `collections` (one block per sequence type and collection date)."""
    root = ET.Element("Document", {"xmlns": f"urn:iso:std:iso:20022:tech:xsd:{version.value}",
                                   "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance"})
    initiation = _sub(root, "CstmrDrctDbtInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", sepa_id(message_id))
    _sub(header, "CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(header, "NbOfTxs", str(len(collections)))
    _sub(header, "CtrlSum", _amount(sum((c.amount for c in collections), Decimal(0))))
    _path(header, "InitgPty/Nm", creditor.name[:MAX_NAME])
    for index, ((sequence, when), items) in enumerate(payment_blocks(collections), start=1):
        _payment_information(initiation, f"{sepa_id(message_id)[:28]}-{index}", sequence.value, when, items,
                             creditor, version)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _payment_information(parent: ET.Element, block_id: str, sequence: str, when: date, items: list[Collection],
                         creditor: Creditor, version: Pain008Version) -> None:
    block = _sub(parent, "PmtInf")
    _sub(block, "PmtInfId", block_id)
    _sub(block, "PmtMtd", "DD")
    _sub(block, "BtchBookg", "true")
    _sub(block, "NbOfTxs", str(len(items)))
    _sub(block, "CtrlSum", _amount(sum((c.amount for c in items), Decimal(0))))
    payment_type = _sub(block, "PmtTpInf")
    _path(payment_type, "SvcLvl/Cd", "SEPA")
    _path(payment_type, "LclInstrm/Cd", "CORE")
    _sub(payment_type, "SeqTp", sequence)
    _sub(block, "ReqdColltnDt", when.isoformat())
    _path(block, "Cdtr/Nm", creditor.name[:MAX_NAME])
    _path(block, "CdtrAcct/Id/IBAN", creditor.iban)
    _agent(block, "CdtrAgt", creditor.bic, version)
    _sub(block, "ChrgBr", "SLEV")
    scheme = _sub(_sub(_sub(_sub(block, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
    _sub(scheme, "Id", creditor.creditor_id)
    _path(scheme, "SchmeNm/Prtry", "SEPA")
    for item in items:
        transaction = _sub(block, "DrctDbtTxInf")
        _path(transaction, "PmtId/EndToEndId", item.end_to_end_id)
        _sub(transaction, "InstdAmt", _amount(item.amount), Ccy=SEPA_CURRENCY)
        mandate = _sub(_sub(transaction, "DrctDbtTx"), "MndtRltdInf")
        _sub(mandate, "MndtId", sepa_id(item.mandate.mandate_id))
        _sub(mandate, "DtOfSgntr", item.mandate.signed_on.isoformat())
        _agent(transaction, "DbtrAgt", item.mandate.bic, version)
        _path(transaction, "Dbtr/Nm", item.mandate.debtor_name[:MAX_NAME])
        _path(transaction, "DbtrAcct/Id/IBAN", item.mandate.iban)
        _path(transaction, "RmtInf/Ustrd", f"Invoice {item.invoice_number}"[:MAX_REMITTANCE])

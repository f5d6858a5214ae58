"""A stand-in for the creditor's bank: answers an exported pain.008 with the files a bank sends
back (camt.054 notification, pain.002 status report). Used by tests, the benchmark and demos;
the real files come from the bank.

`outcomes` maps end-to-end ids to a reason code (returned/rejected) or None (collected); ids not
in it are collected.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def transactions(pain008: bytes) -> list[tuple[str, str]]:
    """(end-to-end id, amount) of every collection in a pain.008."""
    root = ET.fromstring(pain008)
    ns = root.tag[1:].split("}")[0]
    return [(_text(tx, f"{{{ns}}}PmtId/{{{ns}}}EndToEndId"), _text(tx, f"{{{ns}}}InstdAmt"))
            for tx in root.iter(_q(ns, "DrctDbtTxInf"))]


def _text(node: ET.Element, path: str) -> str:
    text = node.findtext(path)
    if text is None:
        raise ValueError(f"a collection of the pain.008 has no {path}")
    return text


def _sub(parent: ET.Element, ns: str, path: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = parent
    for tag in path.split("/"):
        node = ET.SubElement(node, _q(ns, tag))
    node.attrib.update(attrs)
    if text is not None:
        node.text = text
    return node


def camt054(pain008: bytes, creditor_iban: str, outcomes: dict[str, str | None] | None = None,
            message_id: str = "CAMT-1", extra: list[tuple[str, str]] | None = None) -> bytes:
    """A notification with one entry per collection: credited, or debited back with its return reason.
    `extra` adds (end-to-end id, amount) entries the creditor never exported."""
    outcomes = outcomes or {}
    ET.register_namespace("", CAMT054)
    root = ET.Element(_q(CAMT054, "Document"))
    body = _sub(root, CAMT054, "BkToCstmrDbtCdtNtfctn")
    header = _sub(body, CAMT054, "GrpHdr")
    _sub(header, CAMT054, "MsgId", message_id)
    header.append(_el(CAMT054, "CreDtTm", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")))
    notification = _sub(body, CAMT054, "Ntfctn")
    _sub(notification, CAMT054, "Id", f"{message_id}-N")
    _sub(notification, CAMT054, "Acct/Id/IBAN", creditor_iban)
    for index, (end_to_end, amount) in enumerate(transactions(pain008) + (extra or []), start=1):
        reason = outcomes.get(end_to_end)
        entry = _sub(notification, CAMT054, "Ntry")
        _sub(entry, CAMT054, "Amt", amount, Ccy="EUR")
        _sub(entry, CAMT054, "CdtDbtInd", "DBIT" if reason else "CRDT")
        _sub(entry, CAMT054, "Sts/Cd", "BOOK")
        _sub(entry, CAMT054, "AcctSvcrRef", f"BANKREF-{index}")
        details = _sub(entry, CAMT054, "NtryDtls/TxDtls")
        _sub(details, CAMT054, "Refs/EndToEndId", end_to_end)
        _sub(details, CAMT054, "Amt", amount, Ccy="EUR")
        _sub(details, CAMT054, "CdtDbtInd", "DBIT" if reason else "CRDT")
        if reason:
            _sub(details, CAMT054, "RtrInf/Rsn/Cd", reason)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def pain002(pain008: bytes, rejected: dict[str, str], creditor_iban: str | None = None,
            message_id: str = "STATUS-1", whole_file_reason: str | None = None) -> bytes:
    """A status report rejecting `rejected` (end-to-end id -> reason), or the whole file."""
    original = ET.fromstring(pain008)
    ns = original.tag[1:].split("}")[0]
    ET.register_namespace("", PAIN002)
    root = ET.Element(_q(PAIN002, "Document"))
    body = _sub(root, PAIN002, "CstmrPmtStsRpt")
    _sub(body, PAIN002, "GrpHdr/MsgId", message_id)
    group = _sub(body, PAIN002, "OrgnlGrpInfAndSts")
    _sub(group, PAIN002, "OrgnlMsgId", original.findtext(f".//{{{ns}}}GrpHdr/{{{ns}}}MsgId"))
    _sub(group, PAIN002, "OrgnlMsgNmId", ns.rsplit(":", 1)[-1])
    if whole_file_reason:
        _sub(group, PAIN002, "GrpSts", "RJCT")
        _sub(group, PAIN002, "StsRsnInf/Rsn/Cd", whole_file_reason)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)
    block = _sub(body, PAIN002, "OrgnlPmtInfAndSts")
    _sub(block, PAIN002, "OrgnlPmtInfId", "ALL")
    for end_to_end, amount in transactions(pain008):
        if end_to_end not in rejected:
            continue
        tx = _sub(block, PAIN002, "TxInfAndSts")
        _sub(tx, PAIN002, "OrgnlEndToEndId", end_to_end)
        _sub(tx, PAIN002, "TxSts", "RJCT")
        _sub(tx, PAIN002, "StsRsnInf/Rsn/Cd", rejected[end_to_end])
        reference = _sub(tx, PAIN002, "OrgnlTxRef")
        _sub(reference, PAIN002, "Amt/InstdAmt", amount, Ccy="EUR")
        if creditor_iban:
            _sub(reference, PAIN002, "CdtrAcct/Id/IBAN", creditor_iban)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _el(ns: str, tag: str, text: str) -> ET.Element:
    element = ET.Element(_q(ns, tag))
    element.text = text
    return element

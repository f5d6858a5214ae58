"""Bank results for exported direct debits, free of I/O: camt.054 debit/credit notifications
and pain.002 payment status reports, read into one shape and matched by end-to-end id.

XML is parsed with defusedxml (no entity expansion, no external entities): bank files come
from outside. Any version of either message is accepted; elements are found by local name.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from chassis.errors import ValidationFailed

CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054."
PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002."


class Outcome(StrEnum):
    PAID = "paid"            # the debtor's bank paid the collection
    RETURNED = "returned"    # paid, then returned/refunded (R-transaction after settlement)
    REJECTED = "rejected"    # refused before settlement
    ACCEPTED = "accepted"    # a positive status that is not yet money: no change


@dataclass(frozen=True)
class BankResult:
    end_to_end_id: str
    outcome: Outcome
    amount: Decimal | None = None
    reason_code: str | None = None
    bank_reference: str | None = None


@dataclass
class BankFile:
    kind: str                                  # camt.054 or pain.002
    message_id: str
    creditor_iban: str | None = None           # camt.054: the account notified
    original_message_id: str | None = None     # pain.002: the pain.008 it reports on
    rejected_whole_file: str | None = None     # pain.002: the reason code when the whole file was refused
    results: list[BankResult] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _find(element: ET.Element | None, path: str) -> ET.Element | None:
    """`a/b/c` by local names, the first match at each step."""
    for name in path.split("/"):
        if element is None:
            return None
        element = next((child for child in element if _local(child.tag) == name), None)
    return element


def _text(element: ET.Element | None, path: str) -> str | None:
    found = _find(element, path)
    return found.text.strip() if found is not None and found.text else None


def _decimal(text: str | None, where: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValidationFailed(f"not an amount in the bank file: {text!r}", {"file": f"{where} is not an amount"}) \
            from exc


def parse(content: bytes) -> BankFile:
    """Read a camt.054 or pain.002 file; anything else is a ValidationFailed naming `file`."""
    try:
        root = SafeET.fromstring(content)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise ValidationFailed(f"the bank file is not well-formed XML: {exc}", {"file": "malformed XML"}) from exc
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if namespace.startswith(CAMT054):
        return _camt054(root)
    if namespace.startswith(PAIN002):
        return _pain002(root)
    raise ValidationFailed(f"not a camt.054 or pain.002 document (namespace {namespace or 'none'!r})",
                           {"file": "must be a camt.054 or pain.002 document"})


def _camt054(root: ET.Element) -> BankFile:
    body = _find(root, "BkToCstmrDbtCdtNtfctn")
    message_id = _text(body, "GrpHdr/MsgId")
    if body is None or message_id is None:
        raise ValidationFailed("camt.054 without a group header", {"file": "GrpHdr/MsgId missing"})
    result = BankFile(kind="camt.054", message_id=message_id)
    for notification in _children(body, "Ntfctn"):
        iban = _text(notification, "Acct/Id/IBAN")
        if result.creditor_iban and iban and iban != result.creditor_iban:
            raise ValidationFailed("the camt.054 notifies more than one account", {"file": "several accounts"})
        result.creditor_iban = result.creditor_iban or iban
        for entry in _children(notification, "Ntry"):
            result.results.extend(_entry_results(entry))
    return result


def _entry_results(entry: ET.Element) -> list[BankResult]:
    reversal = _text(entry, "RvslInd") == "true"
    entry_reference = _text(entry, "AcctSvcrRef")
    found = []
    for details in (_find(entry, "NtryDtls") or []):
        if _local(details.tag) != "TxDtls":
            continue
        end_to_end = _text(details, "Refs/EndToEndId")
        if not end_to_end or end_to_end == "NOTPROVIDED":
            continue
        reason = _text(details, "RtrInf/Rsn/Cd") or _text(details, "RtrInf/Rsn/Prtry")
        debit = (_text(details, "CdtDbtInd") or _text(entry, "CdtDbtInd")) == "DBIT"
        returned = reason is not None or reversal or debit
        found.append(BankResult(
            end_to_end_id=end_to_end,
            outcome=Outcome.RETURNED if returned else Outcome.PAID,
            amount=_decimal(_text(details, "Amt") or _text(details, "AmtDtls/TxAmt/Amt"), "TxDtls/Amt"),
            reason_code=reason or ("REVERSED" if returned else None),
            bank_reference=_text(details, "Refs/AcctSvcrRef") or entry_reference))
    return found


def _pain002(root: ET.Element) -> BankFile:
    body = _find(root, "CstmrPmtStsRpt")
    message_id = _text(body, "GrpHdr/MsgId")
    original = _text(body, "OrgnlGrpInfAndSts/OrgnlMsgId")
    if body is None or message_id is None or original is None:
        raise ValidationFailed("pain.002 without a group header or original message id",
                               {"file": "GrpHdr/MsgId or OrgnlGrpInfAndSts/OrgnlMsgId missing"})
    result = BankFile(kind="pain.002", message_id=message_id, original_message_id=original)
    group_status = _text(body, "OrgnlGrpInfAndSts/GrpSts")
    group_reason = _text(body, "OrgnlGrpInfAndSts/StsRsnInf/Rsn/Cd")
    if group_status == "RJCT":
        result.rejected_whole_file = group_reason or "RJCT"
    for block in _children(body, "OrgnlPmtInfAndSts"):
        block_status = _text(block, "PmtInfSts") or group_status
        block_reason = _text(block, "StsRsnInf/Rsn/Cd") or group_reason
        iban = _text(block, "TxInfAndSts/OrgnlTxRef/CdtrAcct/Id/IBAN")
        result.creditor_iban = result.creditor_iban or iban
        for transaction in _children(block, "TxInfAndSts"):
            end_to_end = _text(transaction, "OrgnlEndToEndId")
            if not end_to_end:
                continue
            status = _text(transaction, "TxSts") or block_status
            result.results.append(BankResult(
                end_to_end_id=end_to_end,
                outcome=Outcome.REJECTED if status == "RJCT" else Outcome.ACCEPTED,
                amount=_decimal(_text(transaction, "OrgnlTxRef/Amt/InstdAmt"), "OrgnlTxRef/Amt/InstdAmt"),
                reason_code=_text(transaction, "StsRsnInf/Rsn/Cd") or block_reason,
                bank_reference=_text(transaction, "AcctSvcrRef") or _text(transaction, "StsId")))
    return result

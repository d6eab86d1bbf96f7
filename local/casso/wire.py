"""What Casso puts on the wire for one transaction: v1 (Secure-Token header, `data` array) or
V2 (X-Casso-Signature, `data` object)."""

from __future__ import annotations

import json
from typing import Any

from casso_payments.casso.webhook_auth import SIGNATURE_HEADER, TOKEN_HEADER, signature_header


def v2_data(
    record: dict[str, Any], bank: str = "VPBank", bank_short: str = "VPB"
) -> dict[str, Any]:
    """A transaction as a V2 webhook carries it."""
    return {
        "id": record["id"],
        "reference": record["tid"],
        "description": record["description"],
        "amount": record["amount"],
        "runningBalance": record.get("cusum_balance"),
        "transactionDateTime": record["when"],
        "accountNumber": record["bankSubAccId"],
        "bankName": bank,
        "bankAbbreviation": bank_short,
        "virtualAccountNumber": record.get("virtualAccount", ""),
        "virtualAccountName": record.get("virtualAccountName", ""),
        "counterAccountName": record.get("corresponsiveName", ""),
        "counterAccountNumber": record.get("corresponsiveAccount", ""),
        "counterAccountBankId": record.get("corresponsiveBankId", ""),
        "counterAccountBankName": record.get("corresponsiveBankName", ""),
    }


def webhook_request(
    record: dict[str, Any],
    *,
    generation: str,
    secure_token: str = "",
    checksum_key: str = "",
    timestamp_ms: int,
) -> tuple[dict[str, str], str]:
    """The headers and body Casso sends for one transaction (an API-format record)."""
    headers = {"Content-Type": "application/json", "User-Agent": "Casso-Simulator"}
    if generation == "v2":
        body: dict[str, Any] = {"error": 0, "data": v2_data(record)}
        # Casso's JavaScript signs the text as sent: non-ASCII unescaped.
        headers[SIGNATURE_HEADER] = signature_header(
            body, checksum_key, timestamp_ms, ensure_ascii=False
        )
    else:
        body = {"error": 0, "data": [record]}
        headers[TOKEN_HEADER.lower()] = secure_token
    return headers, json.dumps(body, ensure_ascii=False)

"""The simulator's Casso API v2 for a business's own data: the API-key (or OAuth2 token)
check and the outage switch in front of every call, transactions (paged, filtered by date),
user info with the linked bank accounts, and sync requests."""

from __future__ import annotations

import bisect
from datetime import date
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from local.casso.api import envelope

if TYPE_CHECKING:
    from local.casso.simulator import CassoSimulator


def register_gate(app: Flask, sim: CassoSimulator) -> None:
    """Every call is counted, answered by an outage if one is on, and must be authorised."""

    @app.before_request
    def check() -> Response | None:
        with sim._lock:
            sim.api_calls.append((request.method, request.path))
            if sim._outage is not None:
                status, remaining = sim._outage
                if remaining is not None:
                    sim._outage = (status, remaining - 1) if remaining > 1 else None
                return Response("upstream unavailable", status=status, mimetype="text/plain")
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        valid = sim.access_tokens if scheme == "Bearer" else {sim.api_key}
        if scheme not in ("Apikey", "Bearer") or key not in valid:
            return envelope(None, 401, "Unauthorized Access", 401)
        return None


def register_account_api(app: Flask, sim: CassoSimulator) -> None:
    """GET /v2/transactions, /v2/transactions/<id>, /v2/userInfo; POST /v2/sync."""

    @app.get("/v2/transactions")
    def transactions() -> Response:
        try:
            start = date.fromisoformat(request.args.get("fromDate", "2000-01-01"))
            end = date.fromisoformat(request.args.get("toDate", "9999-12-31"))
            page = max(1, int(request.args.get("page", 1)))
            size = min(max(1, int(request.args.get("pageSize", 20))), 1000)
        except ValueError as error:
            return envelope(None, 400, f"bad parameter: {error}", 400)
        descending = request.args.get("sort", "ASC").upper() == "DESC"
        with sim._lock:
            # "when" is "YYYY-MM-DD HH:MM:SS": the dates bound it as strings ("\x7f" sorts
            # after any time of the end date).
            first = bisect.bisect_left(sim._by_when, (start.isoformat(),))
            last = bisect.bisect_left(sim._by_when, (f"{end.isoformat()}\x7f",))
            total = max(0, last - first)
            skip, take = (page - 1) * size, min(size, max(0, total - (page - 1) * size))
            if descending:
                keys = sim._by_when[last - skip - take : last - skip][::-1]
            else:
                keys = sim._by_when[first + skip : first + skip + take]
            records = [sim.transactions[transaction_id] for _, transaction_id in keys]
        total_pages = max(1, -(-total // size))
        return envelope(
            {
                "page": page,
                "pageSize": size,
                "nextPage": page + 1 if page < total_pages else None,
                "prevPage": page - 1 if page > 1 else None,
                "totalPages": total_pages,
                "totalRecords": total,
                "records": records,
            }
        )

    @app.get("/v2/transactions/<int:transaction_id>")
    def transaction(transaction_id: int) -> Response:
        record = sim.transactions.get(transaction_id)
        if transaction_id in sim.unlisted:
            record = None
        return envelope(record) if record else envelope(None, 404, "Transaction not found", 404)

    @app.get("/v2/userInfo")
    def user_info() -> Response:
        return envelope(
            {
                "user": {"id": 1, "email": "owner@example.vn"},
                "business": {"id": 1, "name": "CONG TY TNHH DEMO"},
                "bankAccs": [
                    {
                        "id": n + 1,
                        "bank": {"bin": "970432", "codeName": "vpbank"},
                        "bankAccountName": "CONG TY TNHH DEMO",
                        "bankSubAccId": account,
                    }
                    for n, account in enumerate(sim.accounts)
                ],
            }
        )

    @app.post("/v2/sync")
    def sync() -> Response:
        body = request.get_json(silent=True) or {}
        account = str(body.get("bank_acc_id", ""))
        if account not in sim.accounts:
            return envelope(None, 400, f"bank account {account!r} is not linked", 400)
        with sim._lock:
            sim.sync_requests.append(account)
        return envelope(None)

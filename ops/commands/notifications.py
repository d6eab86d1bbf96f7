"""`notifications list|replay` (the notification log, and sending notifications again) and
`notify-secret show|rotate` (the webhooks' signing secret), on a deployed stack."""

from __future__ import annotations

import argparse
import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from casso_payments.aws.dynamo import parse_timestamp, timestamp
from casso_payments.notify.log import DELIVERED, NotificationLog
from casso_payments.notify.message import NotificationQueue, replays
from casso_payments.notify.signing import as_whsec
from casso_payments.orders.codes import canonical_code
from ops.commands import Failed, Outputs, Usage

COLUMNS = (
    "{at:<24}  {id:<36}  {channel:<8}  {type:<22}  {order:<8}  {n:>2}  {status:>3}  {ms:>6}  "
    "{outcome:<9}  {target}"
)


def _log(outputs: Outputs) -> NotificationLog:
    return NotificationLog(boto3.client("dynamodb"), outputs["NotificationsTableName"])


def _since(raw: str | None, default: timedelta) -> datetime:
    if not raw:
        return datetime.now(UTC) - default
    try:
        moment = parse_timestamp(raw)
    except ValueError:
        raise Usage(f"--since: a UTC ISO 8601 time is expected, got {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def attempts_table(items: list[dict[str, Any]]) -> str:
    lines = [
        COLUMNS.format(
            at="at",
            id="webhook-id",
            channel="channel",
            type="type",
            order="order",
            n="#",
            status="st",
            ms="ms",
            outcome="outcome",
            target="url / chat",
        )
    ]
    for item in sorted(items, key=lambda i: (str(i["at"]), int(i["attempt"]))):
        lines.append(
            COLUMNS.format(
                at=str(item["at"]),
                id=str(item["pk"]),
                channel=str(item["channel"]),
                type=str(item["type"]),
                order=str(item.get("order_code") or "-"),
                n=int(item["attempt"]),
                status=int(item["status"]),
                ms=int(item["latency_ms"]),
                outcome=str(item["outcome"]),
                target=str(item["target"]),
            )
            + (f"  ({item['error']})" if item.get("error") else "")
        )
    return "\n".join(lines)


def cmd_notifications(args: argparse.Namespace, outputs: Outputs) -> str:
    log = _log(outputs)
    if args.action == "list":
        if args.order:
            items = log.of_order(canonical_code(args.order))
        else:
            items = log.since(_since(args.since, timedelta(days=1)))
        if args.failed:
            items = [i for i in items if i["outcome"] != DELIVERED]
        return attempts_table(items) if items else "no attempts"
    if bool(args.id) == bool(args.since):
        raise Usage("replay: give --id msg_... or --since <UTC time>")
    items = log.of(args.id) if args.id else log.since(_since(args.since, timedelta()))
    if not items:
        raise Failed("no such notification in the log (attempts are kept 30 days)")
    if args.failed:
        delivered = {(i["pk"], i["channel"]) for i in items if i["outcome"] == DELIVERED}
        items = [i for i in items if (i["pk"], i["channel"]) not in delivered]
    sqs = boto3.client("sqs")
    queue = NotificationQueue(
        lambda: sqs,
        outputs["NotificationQueueUrl"],
        outputs["NotificationDeadLetterQueueUrl"],
    )
    again = replays(items, timestamp(datetime.now(UTC)))
    for notification in again:
        queue.send(notification)
    return "\n".join(
        [f"replaying {n.webhook_id} ({n.channel}, {n.type}, replay {n.replay})" for n in again]
        or ["nothing to replay"]
    )


def new_secret() -> str:
    """whsec_ + base64 of 24 random bytes, Standard Webhooks' shape."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def rotate(current: dict[str, Any], *, finish: bool) -> dict[str, str]:
    """The secret's next value: a new key with the old one still signing, or (finish) the
    old one dropped."""
    now = as_whsec(str(current.get("signing_secret") or "").strip())
    if finish:
        return {"signing_secret": now, "signing_secret_previous": ""}
    return {"signing_secret": new_secret(), "signing_secret_previous": now}


def cmd_notify_secret(args: argparse.Namespace, outputs: Outputs) -> str:
    client, secret_id = boto3.client("secretsmanager"), outputs["NotifySecretArn"]
    current = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    if args.action == "rotate":
        current = rotate(current, finish=args.finish)
        client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(current))
    lines = [f"signing secret: {as_whsec(str(current['signing_secret']))}"]
    if current.get("signing_secret_previous"):
        lines.append(
            f"previous, still signing: {as_whsec(str(current['signing_secret_previous']))}"
        )
        lines.append(
            "once the shop uses the new one: python -m ops notify-secret rotate "
            f"--stack {args.stack} --finish"
        )
    return "\n".join(lines)

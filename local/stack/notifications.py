"""The notifier's part of the local stack: NotifierFunction on its queue (the bus's
notification rule feeds it), posting to a small local shop (`shop.LocalShop`) unless
NotifyUrl names another, with http to loopback allowed and the template's retry schedule
compressed as Casso's is (a minute lasts `minute` seconds)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from typing import TYPE_CHECKING

from local.stack.event_sources import QueuePoller, Stats, sqs_source
from local.stack.runtime import warm_all
from local.stack.shop import LocalShop
from local.stack.template import function_spec

if TYPE_CHECKING:  # the stack calls this module; only its type is needed here
    from local.stack.pipeline import LocalPipeline


def new_notify_secret() -> str:
    """whsec_ + base64 of 24 random bytes: the shape a shop is given."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def start_shop(stack: LocalPipeline) -> dict[str, str]:
    """Give NotifySecret a whsec_ secret, start the shop that knows it (`stack.shop`), and
    answer the notifier's environment."""
    secret = new_notify_secret()
    stack.clients["secretsmanager"].put_secret_value(
        SecretId=stack.resources.ref("NotifySecret"),
        SecretString=json.dumps({"signing_secret": secret, "signing_secret_previous": ""}),
    )
    stack.shop = LocalShop(secret).start()
    spec = function_spec(stack.template, "NotifierFunction")
    delays = str(spec.environment["RETRY_DELAYS_SECONDS"]).split(",")
    return {
        "NOTIFY_URL": stack.parameters.get("NotifyUrl") or stack.shop.url,
        "NOTIFY_ALLOW_LOOPBACK": "true",
        "RETRY_DELAYS_SECONDS": ",".join(f"{float(d) * stack.minute / 60:g}" for d in delays),
    }


def poller(stack: LocalPipeline) -> QueuePoller:
    """The notifier's queue poller, its execution environment warmed first."""
    notifier = stack.functions["NotifierFunction"]
    warm_all([notifier])
    source = sqs_source(stack.template, "NotifierFunction")
    return QueuePoller(
        "sqs-poller-notifier",
        stack.clients["sqs"],
        source,
        stack.resources.ref(source.queue),
        stack.resources.resolver.attributes[(source.queue, "Arn")],
        notifier.invoke,
        stats=Stats(),
        stop=stack._stop,
        paused=threading.Event(),
        interval=stack.poll_interval,
        retry_after_seconds=stack.retry_after_seconds,
    )

"""The state file a running stack writes (`.local-stack/stack.json`, once it is up): where
everything is, its credentials and resources; written, read and cleared here. The CLI's stack
client and the end-to-end tests read it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.stack.config import LOCAL_AWS
from local.stack.template import function_spec

if TYPE_CHECKING:  # the stack writes its state with this module
    from local.stack.pipeline import LocalPipeline


# The resources a client of the stack finds by name.
NAMED_RESOURCES = (
    "LedgerTable",
    "OrdersTable",
    "IdempotencyTable",
    "TransactionQueue",
    "TransactionDeadLetterQueue",
    "PaymentsBus",
    "WebhookSecret",
    "CassoApiKeySecret",
    "NotificationsTable",
    "NotificationQueue",
    "NotificationDeadLetterQueue",
    "NotifySecret",
    "ShopApiKeySecret",
)


def describe(stack: LocalPipeline) -> dict[str, Any]:
    """What the state file holds (and /_local/status starts with): where everything is."""
    refs = stack.resources.resolver.refs
    return {
        "pid": os.getpid(),
        "stack_name": stack.stack_name,
        "ports": {"api": stack.front.port, "casso": stack.casso.port, "moto": stack.moto.port},
        "urls": {
            "api": stack.front.base_url,
            "webhook": stack.webhook_url,
            "casso_api": stack.casso.api_url,
            "casso": stack.casso.base_url,
            "moto": stack.moto_url,
            "shop": stack.shop.url,
            "orders_api": stack.front.url("/orders"),
        },
        "credentials": {
            "CASSO_SECURE_TOKEN": stack.credentials.secure_token,
            "CASSO_CHECKSUM_KEY": stack.credentials.checksum_key,
            "CASSO_API_KEY": stack.credentials.api_key,
            "NOTIFY_SECRET": stack.shop.secret,
            "SHOP_API_KEY": stack.credentials.shop_api_key,
        },
        "generated_credentials": list(stack.credentials.generated),
        # The template parameters it runs with (local.cli reads the payee from them).
        "parameters": dict(stack.parameters),
        "resources": {name: refs[name] for name in NAMED_RESOURCES},
        "environments": {
            logical_id: {k: v for k, v in function.environment.items() if k not in LOCAL_AWS}
            for logical_id, function in stack.functions.items()
        },
        "events_tap_url": stack.events_tap_url,
        # What a client of the controls waits for, at most (see the CLI).
        "settle_seconds": stack.settle_seconds(),
        "function_timeouts": {
            logical_id: function_spec(stack.template, logical_id).timeout
            for logical_id in stack.function_ids
        },
        "logs": str(stack.state_dir / "logs"),
    }


def write_state(state_dir: Path, description: dict[str, Any]) -> None:
    path = state_dir / "stack.json"
    path.write_text(json.dumps(description, indent=2))
    path.chmod(0o600)  # it holds the local credentials


def read_state(state_dir: Path) -> dict[str, Any]:
    return json.loads((state_dir / "stack.json").read_text())


def clear_state(state_dir: Path, pid: int) -> None:
    """Remove the state file if the stack of process `pid` wrote it."""
    state = state_dir / "stack.json"
    if state.exists() and json.loads(state.read_text()).get("pid") == pid:
        state.unlink()

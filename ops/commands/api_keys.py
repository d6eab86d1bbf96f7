"""`python -m ops api-key create|rotate|revoke|show`: the shop's keys to the orders API."""

from __future__ import annotations

import argparse

import boto3

from ops import api_keys
from ops.commands import Failed, Outputs, Usage, failing_on

WORKS_IN = "it works within 30 s (the API re-reads the keys after an unknown one)"


def cmd_api_key(args: argparse.Namespace, outputs: Outputs) -> str:
    secret_id = outputs.get("ShopApiKeySecretArn")
    if not secret_id:
        raise Failed(f"stack {args.stack} has no ShopApiKeySecretArn output: deploy this version")
    client = boto3.client("secretsmanager")
    with failing_on(api_keys.ApiKeyError):
        if args.action == "create":
            key = api_keys.create(client, secret_id)
            return f"new key: {key}\n{WORKS_IN}; the other key still works"
        if args.action == "rotate":
            key, dropped = api_keys.rotate(client, secret_id)
            lines = [f"new key: {key}", f"{WORKS_IN}; the newest old key still works"]
            lines += [f"no longer valid: {old[:6]}..." for old in dropped]
            lines.append(f"once the shop uses the new key: ops api-key revoke --stack {args.stack}")
            return "\n".join(lines)
        if args.action == "revoke":
            if not args.key:
                raise Usage("revoke needs --key KEY (ops api-key show lists them)")
            api_keys.revoke(client, secret_id, args.key)
            return f"revoked {args.key[:6]}...: refused within 30 s"
        keys = api_keys.read_keys(client, secret_id)
    return "\n".join(keys) if keys else "no key: create one"

"""`python -m ops api-key`: the shop's keys to the orders API, against a moto server, checked
by the orders API's own Bearer check."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments.aws.secrets import SecretStore
from casso_payments.shop.auth import authenticate, parse_api_keys
from local.cli.sample_events import LOCAL_SHOP_API_KEY
from tests.integration.test_ops import ops, stack_with_outputs

pytestmark = pytest.mark.integration


def accepted(server_stack, secret_id: str, key: str) -> bool:
    """Whether the orders API (its check, keys read now) lets `key` in."""
    provider = SecretsProvider(
        boto3_client=boto3.client("secretsmanager", endpoint_url=server_stack.endpoint)
    )
    store = SecretStore(provider, secret_id, parse_api_keys, max_age=0)
    return authenticate({"Authorization": f"Bearer {key}"}, store)


def new_key(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[0].removeprefix("new key: ")


def stored(server_stack, secret_id: str) -> dict:
    value = server_stack.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    return json.loads(value)


def test_create_rotate_revoke_as_the_api_sees_them(server_stack):
    secret_id = server_stack.local.ref("ShopApiKeySecret")
    stack = stack_with_outputs(server_stack, ShopApiKeySecretArn=secret_id)
    generated = LOCAL_SHOP_API_KEY  # the template's generated `api_key`, locally fixed
    assert accepted(server_stack, secret_id, generated)

    second = new_key(ops(server_stack.endpoint, "api-key", "create", "--stack", stack))
    assert stored(server_stack, secret_id) == {"api_keys": [generated, second]}
    assert accepted(server_stack, secret_id, generated)
    assert accepted(server_stack, secret_id, second)
    refused = ops(server_stack.endpoint, "api-key", "create", "--stack", stack)
    assert refused.returncode == 1
    assert "2 keys already" in refused.stderr

    third = new_key(ops(server_stack.endpoint, "api-key", "rotate", "--stack", stack))
    assert stored(server_stack, secret_id) == {"api_keys": [second, third]}
    assert not accepted(server_stack, secret_id, generated)
    assert accepted(server_stack, secret_id, second)
    assert accepted(server_stack, secret_id, third)

    shown = ops(server_stack.endpoint, "api-key", "show", "--stack", stack)
    assert shown.stdout.split() == [second, third]
    revoked = ops(server_stack.endpoint, "api-key", "revoke", "--stack", stack, "--key", second)
    assert revoked.returncode == 0, revoked.stderr
    assert not accepted(server_stack, secret_id, second)
    assert accepted(server_stack, secret_id, third)
    last = ops(server_stack.endpoint, "api-key", "revoke", "--stack", stack, "--key", third)
    assert last.returncode == 1
    assert "only key" in last.stderr
    unknown = ops(server_stack.endpoint, "api-key", "revoke", "--stack", stack, "--key", "nope")
    assert (unknown.returncode, "no such key" in unknown.stderr) == (1, True)
    assert stored(server_stack, secret_id) == {"api_keys": [third]}
    assert "--key" in ops(server_stack.endpoint, "api-key", "revoke", "--stack", stack).stderr

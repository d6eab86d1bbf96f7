"""Webhook credentials from Secrets Manager: parsing, caching, rotation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments.casso.credentials import (
    CredentialsError,
    CredentialStore,
    CredentialsUnavailable,
    parse_credentials,
)
from casso_payments.casso.webhook_auth import WebhookCredentials
from casso_payments.receiver.intake import Delivery, receive
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from tests.helpers import fail_calls


def test_current_and_previous_values_in_order():
    credentials = parse_credentials(
        {
            "secure_token": "new",
            "secure_token_previous": "old",
            "checksum_key": "k2",
            "checksum_key_previous": " ",
        }
    )
    assert credentials == WebhookCredentials(secure_tokens=("new", "old"), checksum_keys=("k2",))


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("text", "webhook secret must be a JSON object"),
        ({"secure_token": 5}, "webhook secret field 'secure_token' must be a string"),
        ({"secure_token": "", "checksum_key": ""}, "neither a secure_token nor a checksum_key"),
    ],
)
def test_unusable_secret_says_what_is_wrong(secret, message):
    with pytest.raises(CredentialsError, match=message):
        parse_credentials(secret)


def count_calls(client, operation: str) -> list[int]:
    calls: list[int] = []
    client.meta.events.register(
        f"before-call.secrets-manager.{operation}", lambda **_: calls.append(1)
    )
    return calls


def test_secret_is_read_once_then_cached(stack):
    calls = count_calls(stack.secretsmanager, "GetSecretValue")
    store = CredentialStore(
        SecretsProvider(boto3_client=stack.secretsmanager), "casso-local-WebhookSecret"
    )
    for _ in range(20):
        assert store.get().secure_tokens == (LOCAL_SECURE_TOKEN,)
    assert len(calls) == 1


def test_forced_refresh_is_rate_limited():
    now = [1000.0]
    reads: list[bool] = []

    class Provider:
        def get(self, name, *, transform, max_age, force_fetch):
            reads.append(force_fetch)
            return {"secure_token": "t"}

    store = CredentialStore(Provider(), "s", refresh_interval=30, clock=lambda: now[0])
    for _ in range(50):
        store.get(refresh=True)
    now[0] += 31
    store.get(refresh=True)
    assert reads.count(True) == 2


def test_rotated_token_is_accepted_before_the_cache_expires(stack):
    deps = stack.intake_deps()
    secret_id = deps.settings.webhook_secret_id
    delivery = Delivery(
        {"secure-token": LOCAL_SECURE_TOKEN},
        json.dumps({"error": 0, "data": [V1_ITEM]}),
        datetime(2026, 11, 21, tzinfo=UTC),
    )
    deps.credentials.get()  # warm the cache with the old token
    stack.secretsmanager.put_secret_value(
        SecretId=secret_id,
        SecretString=json.dumps(
            {"secure_token": "rotated", "secure_token_previous": LOCAL_SECURE_TOKEN}
        ),
    )
    rotated = Delivery({"secure-token": "rotated"}, delivery.body, delivery.received_at)
    assert receive(rotated, deps).status == 200
    # The old token keeps working while Casso's webhook still carries it.
    assert receive(delivery, deps).status == 200


def test_secret_that_is_not_json_is_a_configuration_error(stack):
    stack.secretsmanager.put_secret_value(
        SecretId="casso-local-WebhookSecret", SecretString="{oops"
    )
    store = CredentialStore(
        SecretsProvider(boto3_client=stack.secretsmanager), "casso-local-WebhookSecret"
    )
    with pytest.raises(CredentialsError, match="not valid JSON"):
        store.get()


def test_unreadable_secret_is_unavailable(stack):
    fail_calls(stack.secretsmanager, "GetSecretValue", "AccessDeniedException")
    store = CredentialStore(
        SecretsProvider(boto3_client=stack.secretsmanager), "casso-local-WebhookSecret"
    )
    with pytest.raises(CredentialsUnavailable):
        store.get()


def test_unconfigured_secret_answers_500_and_writes_nothing(stack):
    stack.secretsmanager.put_secret_value(
        SecretId="casso-local-WebhookSecret", SecretString=json.dumps({"secure_token": ""})
    )
    # A token is presented (an empty one is refused before the secret is read).
    delivery = Delivery({"secure-token": "any-token"}, "{}", datetime(2026, 11, 21, tzinfo=UTC))
    answer = receive(delivery, stack.intake_deps())
    assert (answer.status, answer.outcome) == (500, "misconfigured")
    assert stack.dynamodb.scan(TableName=stack.table)["Count"] == 0


def test_while_the_secret_cannot_be_read_the_last_credentials_serve_and_reads_back_off():
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    now = [1000.0]
    reads: list[bool] = []
    failing = [False]

    class Provider:
        def get(self, name, *, transform, max_age, force_fetch):
            reads.append(force_fetch)
            if failing[0]:
                raise GetParameterError("throttled")
            return {"secure_token": "t"}

    store = CredentialStore(Provider(), "s", max_age=0, refresh_interval=30, clock=lambda: now[0])
    assert store.get().secure_tokens == ("t",)
    failing[0] = True
    for _ in range(20):
        assert store.get().secure_tokens == ("t",)
        assert store.get(refresh=True).secure_tokens == ("t",)
    assert len(reads) == 2  # the first read, then one failed try: no more within 30 s
    now[0] += 31
    failing[0] = False
    assert store.get().secure_tokens == ("t",)
    assert len(reads) == 3


def test_before_any_read_a_failing_secret_is_unavailable_every_time():
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    class Provider:
        def get(self, name, *, transform, max_age, force_fetch):
            raise GetParameterError("throttled")

    store = CredentialStore(Provider(), "s")
    for _ in range(2):
        with pytest.raises(CredentialsUnavailable):
            store.get()

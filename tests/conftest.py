"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import os

import pytest

# Fake credentials before any boto3 client exists: tests must never reach a real account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

# Local AWS must serialise writes to a DynamoDB item as DynamoDB does (local/moto_server.py):
# without it, moto lets two concurrent conditional writes both pass.
from local.moto_server import serialise_dynamodb

serialise_dynamodb()


@pytest.fixture
def template() -> dict:
    from local.template import load_template

    return load_template()

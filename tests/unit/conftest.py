"""Unit-test fixtures: the stack's resources on in-process moto, built from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.stack import Stack


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        yield Stack.create()

"""Payment links: a token per order code that only the stack's key makes."""

from __future__ import annotations

import pytest

from casso_payments.aws.secrets import CredentialsError
from casso_payments.orders.payment_links import (
    link_token,
    parse_link_key,
    payment_path,
    token_matches,
)

KEY = b"k" * 32


def test_a_token_is_the_codes_own_and_the_keys_own() -> None:
    token = link_token(KEY, "DH35")
    assert len(token) == 22
    assert token.isascii()
    assert token_matches(KEY, "DH35", token)
    assert not token_matches(KEY, "DH36", token)  # another order's link opens nothing
    assert not token_matches(b"x" * 32, "DH35", token)  # nor does another stack's
    assert link_token(KEY, "DH36") != token


def test_a_wrong_or_strange_token_is_refused_not_raised() -> None:
    for token in ("", "A" * 22, "đ" * 22, "\ud800", link_token(KEY, "DH35") + "x"):
        assert not token_matches(KEY, "DH35", token)


def test_the_path_names_the_code_and_its_token() -> None:
    assert payment_path(KEY, "DH35") == f"/pay/DH35?t={link_token(KEY, 'DH35')}"


def test_the_key_comes_from_its_secret_or_the_secret_is_refused() -> None:
    assert parse_link_key({"pay_link_key": "a" * 48}) == b"a" * 48
    for secret in ({}, {"pay_link_key": ""}, {"pay_link_key": "short"}, ["a" * 48], None):
        with pytest.raises(CredentialsError, match="PayLinkSecret"):
            parse_link_key(secret)

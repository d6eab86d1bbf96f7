"""Parsing Casso webhook bodies into Transactions."""

from __future__ import annotations

import json

import pytest

from casso_payments.casso.payload import (
    NO_FRACTION,
    PayloadError,
    Transaction,
    parse_delivery,
    parse_transaction,
)
from local.cli.sample_events import OFFICIAL_VECTOR, V1_ITEM


def test_v1_array_of_one():
    parsed = parse_delivery({"error": 0, "data": [V1_ITEM]})
    assert parsed.shape == "v1"
    assert parsed.problems == ()
    assert parsed.transactions == (
        Transaction(
            id=1,
            amount=200500,
            description="DH35",
            reference="TF80307914",
            balance=15900500,
            when="2020-11-02",
            account_number="123456789",
        ),
    )


def test_v1_array_of_many_and_of_none():
    items = [{**V1_ITEM, "id": n} for n in (11, 12, 13)]
    assert [t.id for t in parse_delivery({"error": 0, "data": items}).transactions] == [11, 12, 13]
    empty = parse_delivery({"error": 0, "data": []})
    assert (empty.shape, empty.transactions, empty.problems) == ("v1", (), ())


def test_v2_object():
    parsed = parse_delivery(OFFICIAL_VECTOR["body"])
    assert parsed.shape == "v2"
    (transaction,) = parsed.transactions
    assert transaction == Transaction(
        id=0,
        amount=599000,
        description="giao dich thu nghiem",
        reference="MA_GIAO_DICH_THU_NGHIEM",
        balance=25000000,
        when="2024-10-03 15:06:37",
        account_number="88888888",
        bank_name="VPBank",
        virtual_account="",
        virtual_account_name="",
        counter_account_name="NGUYEN VAN A",
        counter_account_number="8888888888",
        counter_bank_id="970415",
        counter_bank_name="VietinBank",
    )


def test_money_out_keeps_its_sign():
    (transaction,) = parse_delivery(
        {"error": 0, "data": [{**V1_ITEM, "amount": -50000}]}
    ).transactions
    assert transaction.amount == -50000


def test_raw_item_is_kept_whole_with_unknown_fields():
    item = {**V1_ITEM, "order": "2020110200001", "newCassoField": {"nested": [1, 2]}}
    (transaction,) = parse_delivery({"error": 0, "data": [item]}).transactions
    assert transaction.raw == item
    assert transaction.raw["newCassoField"] == {"nested": [1, 2]}


def test_v1_counterparty_fields_and_bank_sub_acc_id():
    item = {
        "id": 5,
        "amount": 1000,
        "bank_sub_acc_id": "0071000888",
        "corresponsiveName": "TRAN THI B",
        "corresponsiveAccount": "0123456789",
        "corresponsiveBankId": "970436",
        "corresponsiveBankName": "Vietcombank",
        "virtualAccount": "VA123",
        "virtualAccountName": "SHOP",
    }
    transaction = parse_transaction(item)
    assert (transaction.account_number, transaction.counter_account_name) == (
        "0071000888",
        "TRAN THI B",
    )
    assert (transaction.counter_account_number, transaction.counter_bank_id) == (
        "0123456789",
        "970436",
    )
    assert (transaction.counter_bank_name, transaction.virtual_account) == ("Vietcombank", "VA123")
    assert transaction.virtual_account_name == "SHOP"


def test_numeric_account_number_becomes_text():
    transaction = parse_transaction({"id": 9, "amount": 150000, "subAccId": 123456789})
    assert (transaction.amount, transaction.account_number) == (150000, "123456789")


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        # Never rounded: a float, even an integral one, is not what Casso writes.
        (150000.0, f"data.amount: {NO_FRACTION}, got float 150000.0"),
        (json.loads("200500.0000000000000001"), f"data.amount: {NO_FRACTION}, got float 200500.0"),
        (json.loads("1e5"), f"data.amount: {NO_FRACTION}, got float 100000.0"),
        (10**15 + 1, "data.amount: expected at most 10^15 VND either way, got 16 digits"),
        (-(10**20), "data.amount: expected at most 10^15 VND either way, got 21 digits"),
        (10**40, "data.amount: expected at most 38 digits, got 41"),
    ],
)
def test_an_amount_is_an_integer_within_the_maximum_never_rounded(amount, problem):
    with pytest.raises(PayloadError) as raised:
        parse_transaction({"id": 9, "amount": amount})
    assert str(raised.value.problem) == problem


@pytest.mark.parametrize("amount", [10**15, -(10**15), 0, 1])
def test_amounts_up_to_the_maximum_are_accepted(amount):
    assert parse_transaction({"id": 9, "amount": amount}).amount == amount


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "body: expected an object, got list []"),
        ("text", 'body: expected an object, got str "text"'),
        ({"error": 0}, "data: missing"),
        ({"error": 0, "data": "x"}, 'data: expected an array (v1) or an object (V2), got str "x"'),
        ({"error": 1, "data": []}, "error: Casso reported an error, expected 0, got int 1"),
        ({"error": True, "data": []}, "error: Casso reported an error, expected 0, got bool true"),
        (
            {"error": 0, "data": {"amount": 1}},
            "data.id: missing (Casso's transaction id is required)",
        ),
        ({"error": 0, "data": {"id": 1}}, "data.amount: missing"),
        (
            {"error": 0, "data": {"id": "12", "amount": 1}},
            'data.id: expected a whole number, got str "12"',
        ),
        (
            {"error": 0, "data": {"id": True, "amount": 1}},
            "data.id: expected a whole number, got bool true",
        ),
        ({"error": 0, "data": {"id": -4, "amount": 1}}, "data.id: must not be negative, got -4"),
        (
            {"error": 0, "data": {"id": 1, "amount": "200500"}},
            'data.amount: expected a whole number, got str "200500"',
        ),
        (
            {"error": 0, "data": {"id": 1, "amount": 10.5}},
            f"data.amount: {NO_FRACTION}, got float 10.5",
        ),
        (
            {"error": 0, "data": {"id": 1, "amount": 1, "description": ["x"]}},
            'data.description: expected text, got list ["x"]',
        ),
        (
            {"error": 0, "data": {"id": 1, "amount": 1, "runningBalance": "1"}},
            'data.runningBalance: expected a whole number, got str "1"',
        ),
        ({"error": 0, "data": [7]}, "data[0]: expected an object, got int 7"),
    ],
)
def test_each_malformed_shape_is_reported_with_its_field(body: object, problem: str):
    parsed = parse_delivery(body)
    assert parsed.transactions == ()
    assert tuple(map(str, parsed.problems)) == (problem,)


def test_v1_batch_keeps_good_items_and_names_the_bad_ones():
    items = [{**V1_ITEM, "id": 21}, {"amount": 5}, {**V1_ITEM, "id": 23}, {"id": 24, "amount": "x"}]
    parsed = parse_delivery({"error": 0, "data": items})
    assert [t.id for t in parsed.transactions] == [21, 23]
    assert tuple(map(str, parsed.problems)) == (
        "data[1].id: missing (Casso's transaction id is required)",
        'data[3].amount: expected a whole number, got str "x"',
    )


def test_long_values_are_cut_in_problem_messages():
    parsed = parse_delivery({"error": 0, "data": {"id": 1, "amount": "9" * 500}})
    assert len(str(parsed.problems[0])) < 120


def test_missing_error_field_is_accepted_as_success():
    parsed = parse_delivery(json.loads('{"data": {"id": 3, "amount": 10}}'))
    assert [t.id for t in parsed.transactions] == [3]


@pytest.mark.parametrize(
    ("body", "logged"),
    [
        (
            {"error": 0, "data": {"id": 1, "amount": 1, "description": ["NGUYEN VAN A 0123"]}},
            "data.description: expected text, got list (value not logged)",
        ),
        (
            {"error": 0, "data": {"id": 1, "amount": "200500"}},
            "data.amount: expected a whole number, got str (value not logged)",
        ),
        (
            {"error": 0, "data": {"id": 1, "amount": 10.5}},
            f"data.amount: {NO_FRACTION}, got float (value not logged)",
        ),
        (
            {"error": 0, "data": {"amount": 1}},
            "data.id: missing (Casso's transaction id is required)",
        ),
        (
            [{"bank_sub_acc_id": "0123456789"}],
            "body: expected an object, got list (value not logged)",
        ),
    ],
)
def test_problems_are_logged_without_their_values(body, logged):
    (problem,) = parse_delivery(body).problems
    assert problem.safe == logged
    assert str(problem).startswith(logged.removesuffix("(value not logged)"))

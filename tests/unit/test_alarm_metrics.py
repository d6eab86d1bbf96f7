"""The receiver's alarms read metrics the receiver really emits: the same name, namespace
and exactly the same dimensions, taken from the EMF lines the real handler prints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.cli.sample_events import load_event
from local.stack.template import load_application, load_template, resources
from tests.helpers import captured_handler

RECEIVER = {"Name": "service", "Value": "casso-receiver"}
# Sample deliveries that between them make the receiver emit every metric an alarm reads.
DELIVERIES = ("receiver-v1-valid", "receiver-v2-tampered", "receiver-malformed")

Metric = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, name, {(dimension, value)}


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its one metric, or each MetricStat of its metric math."""
    if "MetricName" in alarm:
        return [alarm]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def receiver_alarms() -> dict[str, list[Metric]]:
    found: dict[str, list[Metric]] = {}
    monitoring = load_application(load_template(), "Monitoring")  # monitoring/template.yaml
    for name, alarm in resources(monitoring, "AWS::CloudWatch::Alarm").items():
        metrics = [
            (m["Namespace"], m["MetricName"], frozenset((d["Name"], d["Value"]) for d in dims))
            for m in alarm_metrics(alarm)
            if RECEIVER in (dims := m.get("Dimensions", []))
        ]
        if metrics:
            found[name] = metrics
    return found


def emitted(lines: list[dict[str, Any]]) -> set[Metric]:
    """Every (namespace, metric, dimensions) the EMF lines publish: one per dimension set."""
    published = set()
    for line in lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimension_set in directive["Dimensions"]:
                dimensions = frozenset((d, line[d]) for d in dimension_set)
                published |= {
                    (directive["Namespace"], m["Name"], dimensions) for m in directive["Metrics"]
                }
    return published


@pytest.fixture
def receiver_output(stack, load_handler_of, capsys) -> list[dict[str, Any]]:
    handler = captured_handler(load_handler_of(stack, "ReceiverFunction"), "ReceiverFunction")
    capsys.readouterr()
    for name in DELIVERIES:
        handler(load_event(name))
    out = capsys.readouterr()
    return [json.loads(line) for line in (out.out + out.err).splitlines() if line.startswith("{")]


def test_the_receivers_alarms_are_found():
    assert set(receiver_alarms()) == {
        "AuthFailuresAlarm",
        "QuarantinedDeliveriesAlarm",
        "ConflictingDeliveriesAlarm",
    }


def test_each_receiver_alarm_reads_a_metric_the_receiver_emits(receiver_output):
    published = emitted(receiver_output)
    for alarm, metrics in receiver_alarms().items():
        for metric in metrics:
            assert metric in published, f"{alarm} reads {metric}, which nothing publishes"


def test_each_receiver_metric_is_published_as_a_total_and_per_generation(receiver_output):
    published = emitted(receiver_output)
    service = ("service", "casso-receiver")
    for namespace, name, dimensions in published:
        if dimensions == frozenset({service}):
            continue
        (generation,) = dimensions  # the other set: Generation alone, no service
        assert generation[0] == "Generation", (name, dimensions)
        assert (namespace, name, frozenset({service})) in published, f"{name} has no total"
    generations = {dict(d).get("Generation") for _, name, d in published if name == "AuthFailures"}
    assert generations == {None, "v2"}


def test_the_check_fails_for_an_alarm_that_names_a_dimension_not_emitted(receiver_output):
    published = emitted(receiver_output)
    total = ("CassoPayments", "AuthFailures", frozenset({("service", "casso-receiver")}))
    assert total in published
    with_generation = (*total[:2], total[2] | {("Generation", "v2")})
    assert with_generation not in published  # the old alarms' dimensions: never published

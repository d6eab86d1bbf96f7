"""The local event sources follow the template's Events: the SQS mapping's queue, batch size
and FunctionResponseTypes, the receiver's API path, the reconciler's schedule."""

from __future__ import annotations

import copy
import json

from local.stack.event_sources import SqsSource, runs_on_schedule, sqs_source
from local.stack.poller import poll_once, queue_depth
from local.stack.template import api_path, function_ids, resources


def test_the_processor_source_is_the_templates_mapping(template):
    assert sqs_source(template, "ProcessorFunction") == SqsSource(
        "ProcessorFunction", "TransactionQueue", 10, report_batch_item_failures=True
    )
    changed = copy.deepcopy(template)
    events = changed["Resources"]["ProcessorFunction"]["Properties"]["Events"]
    (source,) = events.values()
    source["Properties"]["BatchSize"] = 3
    del source["Properties"]["FunctionResponseTypes"]
    assert sqs_source(changed, "ProcessorFunction") == SqsSource(
        "ProcessorFunction", "TransactionQueue", 3, report_batch_item_failures=False
    )


def test_the_functions_path_and_schedule_come_from_the_template(template):
    assert function_ids(template) == tuple(resources(template, "AWS::Serverless::Function"))
    assert runs_on_schedule(template, "ReconcilerFunction")
    assert not runs_on_schedule(template, "ProcessorFunction")
    changed = copy.deepcopy(template)
    events = changed["Resources"]["ReceiverFunction"]["Properties"]["Events"]
    (api,) = events.values()
    api["Properties"]["Path"] = "/elsewhere"
    assert api_path(changed, "ReceiverFunction") == "/elsewhere"


def test_the_receivers_route_is_the_templates_path(template):
    """The receiver routes on its own copy of the path (it does not read the template)."""
    from local.stack.template import ROOT

    app = (ROOT / "functions" / "receiver" / "app.py").read_text()
    assert f'WEBHOOK_PATH = "{api_path(template, "ReceiverFunction")}"' in app


def _two_messages(stack) -> None:
    for n in (1, 2):
        stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps({"n": n}))


def _fail_the_first(event: dict) -> dict:
    first = event["Records"][0]["messageId"]
    return {"batchItemFailures": [{"itemIdentifier": first}]}


def test_reported_failures_are_kept_only_when_the_mapping_reports_them(stack):
    arn = stack.local.resolver.attributes[("TransactionQueue", "Arn")]
    _two_messages(stack)
    kept = poll_once(stack.sqs, stack.queue_url, arn, _fail_the_first, report_failures=True)
    assert (kept.received, kept.deleted, len(kept.failed)) == (2, 1, 1)
    assert queue_depth(stack.sqs, stack.queue_url) == 1

    stack.sqs.purge_queue(QueueUrl=stack.queue_url)
    _two_messages(stack)
    # Without ReportBatchItemFailures, Lambda takes a returned response as success.
    ignored = poll_once(stack.sqs, stack.queue_url, arn, _fail_the_first, report_failures=False)
    assert (ignored.received, ignored.deleted, ignored.failed) == (2, 2, ())
    assert queue_depth(stack.sqs, stack.queue_url) == 0

"""The notifier as the template deploys it: fed by a rule on the bus through its own queue,
retried through that queue, dead-lettered, allowed exactly what it does, and watched."""

from __future__ import annotations

import json

from tests.unit.test_template import XRAY, as_list, built, monitoring, statements


def test_the_bus_feeds_the_notifier_through_its_own_queue_with_a_dead_letter_queue():
    resources = built()["Resources"]
    rule = resources["NotificationRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "PaymentsBus"}
    assert rule["EventPattern"]["source"] == ["casso.payments"]
    assert rule["Targets"] == [
        {"Id": "notifier", "Arn": {"Fn::GetAtt": ["NotificationQueue", "Arn"]}}
    ]
    queue = resources["NotificationQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]
    }
    assert queue["VisibilityTimeout"] >= 6 * resources["NotifierFunction"]["Properties"]["Timeout"]
    # Only the rule may send events to the queue.
    (statement,) = resources["NotificationQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::GetAtt": ["NotificationRule", "Arn"]
    }


def test_the_notifier_may_read_one_order_and_its_secrets_and_write_only_its_log():
    granted = {
        (tuple(as_list(s["Action"])), json.dumps(s["Resource"]))
        for role, s in statements(built())
        if role == "NotifierRole"
    }
    get = {"Fn::GetAtt": ["NotificationQueue", "Arn"]}
    assert granted == {
        (
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            json.dumps({"Fn::GetAtt": ["NotifierLogGroup", "Arn"]}),
        ),
        (
            (
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:SendMessage",
            ),
            json.dumps(get),
        ),
        (
            ("sqs:SendMessage",),
            json.dumps({"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}),
        ),
        (("dynamodb:GetItem",), json.dumps({"Fn::GetAtt": ["OrdersTable", "Arn"]})),
        (("dynamodb:PutItem",), json.dumps({"Fn::GetAtt": ["NotificationsTable", "Arn"]})),
        (
            ("secretsmanager:GetSecretValue",),
            json.dumps([{"Ref": "NotifySecret"}, {"Ref": "TelegramSecret"}]),
        ),
        (tuple(sorted(XRAY, reverse=True)), json.dumps("*")),
    }


def test_the_signing_secret_is_generated_and_the_log_expires():
    resources = built()["Resources"]
    generated = resources["NotifySecret"]["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "signing_secret"
    # 48 letters and digits: valid base64 of 36 bytes, read as whsec_<value>.
    assert generated["PasswordLength"] >= 32
    assert generated["ExcludePunctuation"] is True
    ttl = resources["NotificationsTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_failing_deliveries_and_dead_letters_each_have_an_alarm():
    alarms = monitoring()["Resources"]
    failing = alarms["NotificationsFailingAlarm"]["Properties"]
    assert (failing["Namespace"], failing["MetricName"]) == (
        "CassoPayments",
        "NotificationAttemptsFailed",
    )
    assert failing["Dimensions"] == [{"Name": "service", "Value": "casso-notifier"}]
    dead = alarms["NotificationDeadLetterQueueNotEmptyAlarm"]["Properties"]
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["NotificationDeadLetterQueue", "QueueName"]}}
    ]

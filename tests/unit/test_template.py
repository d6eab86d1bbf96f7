"""Promises the template makes, read from the template as CloudFormation gets it (after the
SAM transform: generated roles, API policy, event source mappings and all)."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

from local.template import ROOT, function_spec, transform_template

RUNBOOK = ROOT / "docs" / "operations.md"
EXPECTED_ALARMS = {
    "DeadLetterQueueNotEmptyAlarm",
    "OldestTransactionWaitingAlarm",
    "ProcessorErrorsAlarm",
    "ReceiverServerErrorsAlarm",
    "ReceiverSlowAlarm",
    "AuthFailuresAlarm",
    "QuarantinedDeliveriesAlarm",
    "MissedTransactionsAlarm",
    "ReconcilerFailedAlarm",
    "ReconcilerNotSucceedingAlarm",
    "WebhookRepairedAlarm",
    "PaymentsNeedReviewAlarm",
    "PaymentsUnconfirmedAlarm",
    "ReconcilerFailedRunsAlarm",
    "StuckTransactionsParkedAlarm",
    "UnreadableRecordsAlarm",
    "WebhookProbablyPausedAlarm",
    "LatePaymentsAlarm",
}
# X-Ray has no resource-level permissions: the only place "*" is allowed.
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@cache
def built(allowlist: tuple[str, ...] = ()) -> dict:
    parameters = {"CassoIpAllowlist": list(allowlist)} if allowlist else {}
    return transform_template(parameters=parameters)


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def runbook_anchors() -> set[str]:
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_alarm_exists_notifies_the_topic_and_points_at_its_runbook_section():
    alarms = of_type(built(), "AWS::CloudWatch::Alarm")
    assert set(alarms) == EXPECTED_ALARMS
    anchors = runbook_anchors()
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        (anchor,) = re.findall(r"docs/operations\.md#([a-z0-9-]+)", props["AlarmDescription"])
        assert anchor in anchors, f"{name} points at a missing runbook section #{anchor}"


def test_alarm_email_is_subscribed_only_when_given():
    subscription = built()["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"


def test_reconciler_not_succeeding_alarm_spans_two_of_its_periods():
    props = built()["Resources"]["ReconcilerNotSucceedingAlarm"]["Properties"]
    assert props["Period"] == {
        "Fn::FindInMap": ["ReconcileSchedule", {"Ref": "ReconcileEveryMinutes"}, "Seconds"]
    }
    assert (props["EvaluationPeriods"], props["TreatMissingData"]) == (2, "breaching")
    schedule = built()["Mappings"]["ReconcileSchedule"]
    assert all(
        v["Seconds"] == int(k) * 60 and v["Expression"] == f"rate({k} minutes)"
        for k, v in schedule.items()
    )


def test_dead_letter_queue_wiring_and_visibility_timeout():
    template = built()
    queue = template["Resources"]["TransactionQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["TransactionDeadLetterQueue", "Arn"]
    }
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    assert template["Parameters"]["MaxReceiveCount"]["Default"] == 5
    processor = template["Resources"]["ProcessorFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * processor["Timeout"]
    (mapping,) = of_type(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["TransactionQueue", "Arn"]}


def statements(template: dict) -> list[tuple[str, dict]]:
    found = []
    for name, role in of_type(template, "AWS::IAM::Role").items():
        assert not role["Properties"].get("ManagedPolicyArns"), f"{name} attaches managed policies"
        for policy in role["Properties"].get("Policies", []):
            found += [(name, s) for s in policy["PolicyDocument"]["Statement"]]
    return found


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_action_or_resource_anywhere():
    found = statements(built())
    assert len(found) > 10
    for role, statement in found:
        actions = as_list(statement["Action"])
        assert not any("*" in a for a in actions), f"{role}: wildcard action {actions}"
        if "*" in as_list(statement["Resource"]):
            assert set(actions) <= XRAY, f"{role}: '*' resource for {actions}"


def test_each_function_uses_only_its_own_role():
    template = built()
    for function in ("ReceiverFunction", "ProcessorFunction", "ReconcilerFunction"):
        role = template["Resources"][function]["Properties"]["Role"]
        assert role == {"Fn::GetAtt": [function.replace("Function", "Role"), "Arn"]}


def test_receiver_may_only_write_the_ledger_send_to_the_queue_and_read_its_secret():
    granted = {
        (tuple(as_list(s["Action"])), json.dumps(s["Resource"]))
        for role, s in statements(built())
        if role == "ReceiverRole"
    }
    assert granted == {
        (
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            json.dumps({"Fn::GetAtt": ["ReceiverLogGroup", "Arn"]}),
        ),
        (("dynamodb:PutItem",), json.dumps({"Fn::GetAtt": ["LedgerTable", "Arn"]})),
        (("sqs:SendMessage",), json.dumps({"Fn::GetAtt": ["TransactionQueue", "Arn"]})),
        (("secretsmanager:GetSecretValue",), json.dumps({"Ref": "WebhookSecret"})),
        (tuple(sorted(XRAY, reverse=True)), json.dumps("*")),
    }


@pytest.mark.parametrize(
    ("function", "suffix"),
    [
        ("ReceiverFunction", "receiver"),
        ("ProcessorFunction", "processor"),
        ("ReconcilerFunction", "reconciler"),
    ],
)
def test_log_groups_have_retention_and_match_their_functions(function, suffix):
    template = built()
    group = template["Resources"][function.replace("Function", "LogGroup")]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{suffix}"}
    assert template["Resources"][function]["Properties"]["FunctionName"] == {
        "Fn::Sub": f"${{AWS::StackName}}-{suffix}"
    }


def test_ip_allowlist_becomes_a_resource_policy_only_when_given():
    def policy(template: dict) -> dict:
        (api,) = of_type(template, "AWS::ApiGateway::RestApi").values()
        return api["Properties"]["Body"]["x-amazon-apigateway-policy"]

    with_list = json.dumps(policy(built(("203.0.113.4/32",))))
    assert '"aws:SourceIp": ["203.0.113.4/32"]' in with_list
    assert '"HasIpAllowlist"' in with_list
    assert built()["Conditions"]["HasIpAllowlist"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "CassoIpAllowlist"}]}, ""]}]
    }


def test_stage_is_throttled_and_traced():
    (stage,) = of_type(built(), "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    (setting,) = props["MethodSettings"]
    assert (setting["ThrottlingBurstLimit"], setting["ThrottlingRateLimit"]) == (100, 50)


def test_outputs_an_operator_needs():
    outputs = built()["Outputs"]
    assert {
        "WebhookUrl",
        "PaymentsBusName",
        "DashboardUrl",
        "LedgerTableName",
        "OrdersTableName",
        "CassoApiKeySecretArn",
        "WebhookSecretArn",
        "AlarmTopicArn",
    } <= set(outputs)


def test_dashboard_is_valid_json_with_the_promised_widgets():
    body = built()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    text = re.sub(r"\$\{[^}]+\}", "x", body)
    titles = [w["properties"]["title"] for w in json.loads(text)["widgets"]]
    assert titles == [
        "Deliveries, duplicates, auth failures",
        "Acknowledgement latency (ms)",
        "Queue depth and age",
        "Orders",
        "Reconciler",
        "Errors per function",
    ]


def test_ledger_is_on_demand_recoverable_encrypted_and_kept(template):
    spec = template["Resources"]["LedgerTable"]
    props = spec["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert (spec["DeletionPolicy"], spec["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # The ledger is the permanent record that dedupes replays days later: no expiry.
    assert "TimeToLiveSpecification" not in props


def test_receiver_answers_well_inside_cassos_five_seconds(template):
    assert function_spec(template, "ReceiverFunction").timeout <= 3
    props = {
        **template["Globals"]["Function"],
        **template["Resources"]["ReceiverFunction"]["Properties"],
    }
    assert (props["Runtime"], props["Tracing"]) == ("python3.13", "Active")
    event = props["Events"]["CassoWebhook"]["Properties"]
    assert (event["Path"], event["Method"]) == ("/casso/webhook", "POST")


def test_credentials_only_by_reference_and_the_token_generated(template):
    for function in ("ReceiverFunction", "ReconcilerFunction"):
        for name, value in function_spec(template, function).environment.items():
            if any(word in name for word in ("TOKEN", "KEY", "SECRET")):
                assert isinstance(value, dict), f"{name} must reference a secret, not hold a value"
    generate = template["Resources"]["WebhookSecret"]["Properties"]["GenerateSecretString"]
    assert (generate["GenerateStringKey"], generate["PasswordLength"] >= 32) == (
        "secure_token",
        True,
    )


def test_layer_is_built_for_the_runtime(template):
    assert template["Resources"]["CassoLayer"]["Metadata"]["BuildMethod"] == "python3.13"


def test_a_failed_reconciler_run_goes_to_a_queue_with_an_alarm():
    resources = built()["Resources"]
    (config,) = of_type(built(), "AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    assert props["FunctionName"] == {"Ref": "ReconcilerFunction"}
    assert props["MaximumRetryAttempts"] == 1
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["ReconcilerFailedRunsQueue", "Arn"]}
    role = resources["ReconcilerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["ReconcilerFailedRunsQueue", "Arn"]},
    } in role["Statement"]
    alarm = resources["ReconcilerFailedRunsAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReconcilerFailedRunsQueue", "QueueName"]}}
    ]


def test_account_numbers_reach_both_functions_that_use_them():
    functions = of_type(built(), "AWS::Lambda::Function")
    for function in ("ProcessorFunction", "ReconcilerFunction"):
        variables = functions[function]["Properties"]["Environment"]["Variables"]
        assert variables["ACCOUNT_NUMBERS"] == {"Ref": "AccountNumbers"}, function

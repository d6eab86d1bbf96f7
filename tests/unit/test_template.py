"""Promises the template makes, read from the template as CloudFormation gets it (after the
SAM transform: generated roles, API policy, event source mappings and all), and from its
nested applications (monitoring/template.yaml: the alarms, their topic and the dashboard) as
the template passes them their parameters."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from functools import cache

import pytest

from local.stack.sam_transform import transform_template
from local.stack.template import (
    ROOT,
    applications,
    function_ids,
    function_spec,
    load_application,
    load_template,
)

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
    "BalanceGapAlarm",
    "WebhookClientErrorsAlarm",
    "WebhookThrottledAlarm",
    "ReceiverThrottlesAlarm",
    "ProcessorThrottlesAlarm",
    "ReconcilerThrottlesAlarm",
    "LatePaymentsAlarm",
    "PayPageErrorsAlarm",
    "PayPageThrottlesAlarm",
    "ConflictingDeliveriesAlarm",
    "NotifierThrottlesAlarm",
    "NotificationsFailingAlarm",
    "NotificationDeadLetterQueueNotEmptyAlarm",
    "OrdersApiErrorsAlarm",
}
# X-Ray has no resource-level permissions: the only place "*" is allowed.
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@cache
def built(allowlist: tuple[str, ...] = ()) -> dict:
    parameters = {"CassoIpAllowlist": list(allowlist)} if allowlist else {}
    return transform_template(parameters=parameters)


@cache
def nested(logical_id: str) -> dict:
    """A nested application's template, each of its parameters replaced by what the template
    passes it."""
    return load_application(built(), logical_id)


def monitoring() -> dict:
    """monitoring/template.yaml: the alarms, their topic and key, the dashboard."""
    return nested("Monitoring")


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def runbook_anchors() -> set[str]:
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_alarm_exists_notifies_the_topic_and_points_at_its_runbook_section():
    alarms = of_type(monitoring(), "AWS::CloudWatch::Alarm")
    assert set(alarms) == EXPECTED_ALARMS
    anchors = runbook_anchors()
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        (anchor,) = re.findall(r"docs/operations\.md#([a-z0-9-]+)", props["AlarmDescription"])
        assert anchor in anchors, f"{name} points at a missing runbook section #{anchor}"


def test_alarm_email_is_subscribed_only_when_given():
    subscription = monitoring()["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}  # the stack's parameter
    assert monitoring()["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }


def test_reconciler_not_succeeding_alarm_spans_two_of_its_periods():
    props = monitoring()["Resources"]["ReconcilerNotSucceedingAlarm"]["Properties"]
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
    (mapping,) = (
        m
        for m in of_type(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["TransactionQueue", "Arn"]}
    )
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


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
    for function in function_ids(load_template()):
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
        ("NotifierFunction", "notifier"),
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
    stage_wide, *orders_api = props["MethodSettings"]
    assert stage_wide["ResourcePath"] == "/*"
    assert (stage_wide["ThrottlingBurstLimit"], stage_wide["ThrottlingRateLimit"]) == (100, 50)
    # The shop's orders API: each of its resources throttled below the stage.
    assert {s["ResourcePath"] for s in orders_api} == {
        "/~1orders",
        "/~1orders~1{code}",
        "/~1orders~1{code}~1cancel",
    }
    assert all(s["ThrottlingRateLimit"] < 50 for s in orders_api)


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
    body = monitoring()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
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
    alarm = monitoring()["Resources"]["ReconcilerFailedRunsAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReconcilerFailedRunsQueue", "QueueName"]}}
    ]


def test_account_numbers_reach_both_functions_that_use_them():
    functions = of_type(built(), "AWS::Lambda::Function")
    for function in ("ProcessorFunction", "ReconcilerFunction"):
        variables = functions[function]["Properties"]["Environment"]["Variables"]
        assert variables["ACCOUNT_NUMBERS"] == {"Ref": "AccountNumbers"}, function


def unpublishable_alarm_actions(template: dict) -> list[str]:
    """Every alarm action CloudWatch could not deliver: a target that isn't a topic of this
    template, or a topic encrypted with a key whose policy doesn't let cloudwatch.amazonaws.com
    Decrypt and GenerateDataKey* (an AWS managed key such as alias/aws/sns never does)."""
    resources = template["Resources"]
    problems = []
    for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        for kind in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for action in props.get(kind, []):
                topic = resources.get(action.get("Ref", "") if isinstance(action, dict) else "")
                if topic is None or topic["Type"] != "AWS::SNS::Topic":
                    problems.append(f"{name}.{kind}: {action} is not a topic of this stack")
                    continue
                key = topic["Properties"].get("KmsMasterKeyId")
                if key is not None and not cloudwatch_may_use(resources, key):
                    problems.append(f"{name}.{kind}: CloudWatch cannot use the topic's key {key}")
    return problems


def cloudwatch_may_use(resources: dict, key: object) -> bool:
    ref = (key.get("Ref") or key.get("Fn::GetAtt", [""])[0]) if isinstance(key, dict) else None
    spec = resources.get(ref or "")
    if spec is None or spec["Type"] != "AWS::KMS::Key":
        return False  # an alias or ARN of a key this stack doesn't define: e.g. alias/aws/sns
    needed = {"kms:Decrypt", "kms:GenerateDataKey"}
    granted: set[str] = set()
    for statement in spec["Properties"]["KeyPolicy"]["Statement"]:
        services = as_list(statement.get("Principal", {}).get("Service", []))
        if statement["Effect"] != "Allow" or "cloudwatch.amazonaws.com" not in services:
            continue
        source = statement.get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount")
        assert source == {"Ref": "AWS::AccountId"}, "scope CloudWatch's grant to this account"
        granted |= {
            a for a in needed if any(fnmatch.fnmatch(a, p) for p in as_list(statement["Action"]))
        }
    return granted == needed


def test_every_alarm_action_is_a_topic_cloudwatch_can_publish_to():
    template = monitoring()
    assert len(of_type(template, "AWS::CloudWatch::Alarm")) == len(EXPECTED_ALARMS)
    assert unpublishable_alarm_actions(template) == []
    key = template["Resources"]["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    admin = key["KeyPolicy"]["Statement"][0]
    assert admin["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }


@pytest.mark.parametrize(
    "key",
    ["alias/aws/sns", {"Ref": "NoSuchKey"}, "arn:aws:kms:ap-southeast-1:111122223333:key/x"],
)
def test_the_publishable_check_fails_for_a_key_cloudwatch_cannot_use(key):
    template = copy.deepcopy(monitoring())
    template["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"] = key
    assert len(unpublishable_alarm_actions(template)) == 2 * len(EXPECTED_ALARMS)


def test_the_publishable_check_fails_when_cloudwatch_loses_a_key_permission():
    template = copy.deepcopy(monitoring())
    statements_ = template["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    statements_[1]["Action"] = ["kms:Decrypt"]
    assert unpublishable_alarm_actions(template)


def test_powertools_event_logging_and_dev_mode_are_pinned_off(template):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert (variables["POWERTOOLS_LOGGER_LOG_EVENT"], variables["POWERTOOLS_DEV"]) == (
        "false",
        "false",
    )
    for function in ("ReceiverFunction", "ProcessorFunction", "ReconcilerFunction"):
        environment = function_spec(template, function).environment
        assert environment.get("POWERTOOLS_LOGGER_LOG_EVENT", "false") == "false"
        assert environment.get("POWERTOOLS_DEV", "false") == "false"


def test_reconciler_writes_only_transaction_and_state_keys():
    write_actions = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    ledger = {"Fn::GetAtt": ["LedgerTable", "Arn"]}
    writes = [
        s
        for role, s in statements(built())
        if role == "ReconcilerRole"
        and set(as_list(s["Action"])) & write_actions
        and ledger in as_list(s["Resource"])
    ]
    (statement,) = writes  # every ledger write in one statement, under the condition
    assert set(as_list(statement["Action"])) == write_actions
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TXN#*", "STATE#*"]}
    }


DATA_BEARING = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
    "AWS::KMS::Key",
)


def test_every_data_bearing_resource_has_a_deliberate_deletion_policy():
    template = built()
    everywhere = {
        **template["Resources"],
        **{n: r for app in applications(template) for n, r in nested(app)["Resources"].items()},
    }
    found = [n for n, r in everywhere.items() if r["Type"] in DATA_BEARING]
    assert len(found) >= 13
    assert "AlarmTopicKey" in found  # monitoring's
    for name in found:
        spec = everywhere[name]
        assert spec.get("DeletionPolicy") in ("Retain", "Delete"), name
        assert spec.get("UpdateReplacePolicy") == spec["DeletionPolicy"], name
    for name in ("LedgerTable", "OrdersTable", "WebhookSecret", "CassoApiKeySecret"):
        assert template["Resources"][name]["DeletionPolicy"] == "Retain", name


def test_every_queue_keeps_messages_fourteen_days():
    for name, queue in of_type(built(), "AWS::SQS::Queue").items():
        assert queue["Properties"]["MessageRetentionPeriod"] == 1_209_600, name
    (schedule,) = of_type(built(), "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["Target"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["ReconcilerScheduleDeadLetterQueue", "Arn"]}
    }


def test_throttled_webhook_calls_become_a_metric_from_the_access_log():
    template = built()
    (stage,) = of_type(template, "AWS::ApiGateway::Stage").values()
    access = stage["Properties"]["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["WebhookAccessLogGroup", "Arn"]}
    assert json.loads(access["Format"])["status"] == "$context.status"
    assert not {"header", "body", "authorization"} & set(access["Format"].lower().split('"'))
    # API Gateway refuses an access log until the account names its CloudWatch role: the
    # stage (through its API) waits for that.
    assert stage["Properties"]["RestApiId"] == {"Ref": "WebhookApi"}
    assert template["Resources"]["WebhookApi"]["DependsOn"] == "ApiGatewayAccount"
    account = template["Resources"]["ApiGatewayAccount"]
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]
    }
    assert account["DeletionPolicy"] == "Retain"
    (metric_filter,) = of_type(template, "AWS::Logs::MetricFilter").values()
    assert metric_filter["Properties"]["FilterPattern"] == '{ $.status = "429" }'
    (transformation,) = metric_filter["Properties"]["MetricTransformations"]
    alarm = monitoring()["Resources"]["WebhookThrottledAlarm"]["Properties"]
    throttled = alarm["Metrics"][0]["MetricStat"]["Metric"]
    assert (throttled["Namespace"], throttled["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )


@pytest.mark.parametrize("function", ["Receiver", "Processor", "Reconciler", "PayPage", "Notifier"])
def test_each_function_has_a_throttles_alarm(function):
    props = monitoring()["Resources"][f"{function}ThrottlesAlarm"]["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Throttles")
    assert props["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": f"{function}Function"}}
    ]


# --- the nested applications ------------------------------------------------------------

# What the local stack (local/provision.py, local/stack.py) makes from the template: it reads
# template.yaml alone, so no nested application may define one of these.
PROVISIONED_LOCALLY = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
    "AWS::SecretsManager::Secret",
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
)


def parameter_mismatch(template: dict, logical_id: str) -> list[str]:
    """How what `template` passes a nested application differs from the Parameters its
    template declares: a parameter not passed, or a value passed that it doesn't declare."""
    declared = load_template(applications(template)[logical_id]).get("Parameters", {})
    passed = template["Resources"][logical_id]["Properties"].get("Parameters", {})
    problems = [f"{logical_id}: {n} is not passed" for n in declared if n not in passed]
    problems += [
        f"{logical_id}: {n} is passed but not declared" for n in passed if n not in declared
    ]
    return problems


def test_the_nested_applications_are_monitoring_and_the_event_schemas():
    assert applications(load_template()) == {
        "Monitoring": ROOT / "monitoring" / "template.yaml",
        "EventSchemas": ROOT / "schemas" / "template.yaml",
    }
    assert applications(built()) == applications(load_template())  # after the SAM transform
    for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::SNS::Topic"):
        assert of_type(built(), kind) == {}, f"{kind} belongs in monitoring/template.yaml"
    assert of_type(built(), "AWS::EventSchemas::Schema") == {}


@pytest.mark.parametrize("application", ["Monitoring", "EventSchemas"])
def test_each_nested_application_is_passed_exactly_the_parameters_it_declares(application):
    assert parameter_mismatch(load_template(), application) == []
    assert parameter_mismatch(built(), application) == []


def test_the_parameter_check_catches_one_missing_and_one_unknown():
    template = load_template()
    parameters = template["Resources"]["Monitoring"]["Properties"]["Parameters"]
    del parameters["Stage"]
    parameters["Stag"] = {"Ref": "Stage"}
    assert parameter_mismatch(template, "Monitoring") == [
        "Monitoring: Stage is not passed",
        "Monitoring: Stag is passed but not declared",
    ]


def test_every_nested_output_the_template_reads_exists():
    template = load_template()
    text = json.dumps(template)
    for application in applications(template):
        read = set(re.findall(rf"{application}\.Outputs\.(\w+)", text))
        read |= {m.group(1) for m in re.finditer(rf'\["{application}", "Outputs\.(\w+)"\]', text)}
        outputs = load_template(applications(template)[application]).get("Outputs", {})
        assert read <= set(outputs), f"{application} has no output {read - set(outputs)}"
    assert built()["Outputs"]["AlarmTopicArn"]["Value"] == {
        "Fn::GetAtt": ["Monitoring", "Outputs.AlarmTopicArn"]
    }
    assert monitoring()["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert (
        "${Monitoring.Outputs.DashboardName}"
        in built()["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    )
    assert monitoring()["Outputs"]["DashboardName"]["Value"] == {"Ref": "Dashboard"}


def test_monitoring_keeps_the_stacks_names_and_watches_the_stacks_resources():
    resources = monitoring()["Resources"]
    assert resources["Dashboard"]["Properties"]["DashboardName"] == {
        "Fn::Sub": "${AWS::StackName}-payments"
    }
    alarms = of_type(monitoring(), "AWS::CloudWatch::Alarm")
    watched = {
        json.dumps(d["Value"])
        for alarm in alarms.values()
        for m in [
            alarm["Properties"],
            *[
                q.get("MetricStat", {}).get("Metric", {})
                for q in alarm["Properties"].get("Metrics", [])
            ],
        ]
        for d in m.get("Dimensions", [])
        if d["Name"] in ("ApiName", "QueueName", "FunctionName")
    }
    assert watched == {
        json.dumps({"Fn::Sub": "${AWS::StackName}-webhook"}),
        *(
            json.dumps({"Fn::GetAtt": [q, "QueueName"]})
            for q in (
                "TransactionQueue",
                "TransactionDeadLetterQueue",
                "ReconcilerFailedRunsQueue",
                "NotificationDeadLetterQueue",
            )
        ),
        *(json.dumps({"Ref": f}) for f in function_ids(load_template())),
    }
    # The API's name, as the template names it.
    api = load_template()["Resources"]["WebhookApi"]["Properties"]["Name"]
    assert api == {"Fn::Sub": "${AWS::StackName}-webhook"}


def test_the_local_stack_needs_nothing_from_a_nested_application():
    for application in applications(built()):
        kinds = {r["Type"] for r in nested(application)["Resources"].values()}
        assert not kinds & set(PROVISIONED_LOCALLY), application


def test_no_named_resource_in_a_nested_stack_reuses_a_name_the_stack_had_before_nesting():
    """An update creates a nested stack's resources before it deletes the root's old ones: a
    dashboard or registry under its old name would clash (the update fails and rolls back)
    or, worse, be deleted with the old one. So each gets a name the old stack never used."""
    names_before_nesting = {"${AWS::StackName}-casso-payments", "${AWS::StackName}-events"}
    named = [
        monitoring()["Resources"]["Dashboard"]["Properties"]["DashboardName"]["Fn::Sub"],
        load_template()["Resources"]["EventSchemas"]["Properties"]["Parameters"]["RegistryName"][
            "Fn::Sub"
        ],
    ]
    assert len(named) == 2
    assert not set(named) & names_before_nesting

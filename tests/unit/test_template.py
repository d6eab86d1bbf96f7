"""Promises template.yaml makes, read from the template itself."""

from __future__ import annotations

from local.template import function_spec, resources


def test_ledger_is_on_demand_recoverable_encrypted_and_kept(template):
    spec = template["Resources"]["LedgerTable"]
    props = spec["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert (spec["DeletionPolicy"], spec["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # The ledger is the permanent record that dedupes replays days later: no expiry.
    assert "TimeToLiveSpecification" not in props
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_receiver_answers_well_inside_cassos_five_seconds(template):
    spec = function_spec(template, "ReceiverFunction")
    assert spec.timeout <= 3
    props = {
        **template["Globals"]["Function"],
        **template["Resources"]["ReceiverFunction"]["Properties"],
    }
    assert props["Runtime"] == "python3.13"
    assert props["Tracing"] == "Active"
    event = props["Events"]["CassoWebhook"]
    assert event["Type"] == "Api"
    assert (event["Properties"]["Path"], event["Properties"]["Method"]) == (
        "/casso/webhook",
        "POST",
    )


def test_receiver_gets_credentials_only_by_reference(template):
    environment = function_spec(template, "ReceiverFunction").environment
    assert environment["WEBHOOK_SECRET_ID"] == {"Ref": "WebhookSecret"}
    for name, value in environment.items():
        if any(word in name for word in ("TOKEN", "KEY", "SECRET")):
            assert isinstance(value, dict), f"{name} must reference the secret, not hold a value"


def test_secure_token_is_generated_by_the_template(template):
    generate = template["Resources"]["WebhookSecret"]["Properties"]["GenerateSecretString"]
    assert generate["GenerateStringKey"] == "secure_token"
    assert generate["PasswordLength"] >= 32


def test_receiver_may_only_write_the_ledger_send_to_the_queue_and_read_its_secret(template):
    (policy,) = template["Resources"]["ReceiverFunction"]["Properties"]["Policies"]
    granted = {(s["Action"], str(s["Resource"])) for s in policy["Statement"]}
    assert granted == {
        ("dynamodb:PutItem", str({"Fn::GetAtt": ["LedgerTable", "Arn"]})),
        ("sqs:SendMessage", str({"Fn::GetAtt": ["TransactionQueue", "Arn"]})),
        ("secretsmanager:GetSecretValue", str({"Ref": "WebhookSecret"})),
    }


def test_layer_is_built_for_the_runtime(template):
    layer = template["Resources"]["CassoLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert (
        resources(template, "AWS::Serverless::LayerVersion")["CassoLayer"]["ContentUri"]
        == "layers/casso/"
    )


def test_queue_sends_poison_messages_to_the_dead_letter_queue(template):
    redrive = template["Resources"]["TransactionQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["TransactionDeadLetterQueue", "Arn"]}
    assert template["Parameters"]["MaxReceiveCount"]["Default"] == 5

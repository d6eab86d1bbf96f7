"""Create the template's tables, queues and secrets on local AWS (moto), from their own
definitions in `template.yaml`, so local never drifts from what deploys.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.stack.template import Resolver, load_template, parameter_defaults, resources

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"  # moto's default account

# CloudFormation property -> boto3 create_table argument (same names).
TABLE_ARGUMENTS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
)
# CloudFormation property -> SQS queue attribute (same names, string values).
QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
)


@dataclass
class ProvisionedResources:
    """Physical names of the provisioned resources, and a resolver for template values."""

    stack_name: str
    resolver: Resolver

    def ref(self, logical_id: str) -> str:
        return self.resolver.refs[logical_id]

    def function_environment(
        self, environment: Mapping[str, Any], overrides: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The template's variables resolved to local values; `overrides` win (and supply what
        has no local equivalent, such as the API Gateway URL)."""
        overrides = overrides or {}
        resolved: dict[str, str] = {}
        for name, value in environment.items():
            if name in overrides:
                resolved[name] = str(overrides[name])
                continue
            try:
                resolved[name] = str(self.resolver.resolve(value))
            except KeyError as missing:
                raise KeyError(
                    f"{name} references {missing}, which has no local value: "
                    f"pass {name} as an override"
                ) from None
        return resolved


def _generated(spec: Mapping[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    return "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))


def provision(
    clients: Mapping[str, Any],
    *,
    stack_name: str = "casso-local",
    parameters: Mapping[str, str] | None = None,
    secret_values: Mapping[str, Mapping[str, str]] | None = None,
    template: Mapping[str, Any] | None = None,
) -> ProvisionedResources:
    """Create every table, queue and secret of the template.

    `clients` holds boto3 clients named dynamodb, sqs, secretsmanager, events. `secret_values`
    overrides keys of a secret's JSON (by logical id); generated keys are generated.
    """
    template = template or load_template()
    refs = {
        **parameter_defaults(template),
        **(parameters or {}),
        "AWS::StackName": stack_name,
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::Partition": "aws",
    }
    resolver = Resolver(refs=refs)

    queues = resources(template, "AWS::SQS::Queue")
    # Dead-letter queues first: the others name them in their redrive policy.
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]):
        props = resolver.resolve(queues[logical_id])
        name = f"{stack_name}-{logical_id}" + (".fifo" if props.get("FifoQueue") else "")
        attributes = {k: _attribute(props[k]) for k in QUEUE_ATTRIBUTES if k in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = clients["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        resolver.refs[logical_id] = url
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        resolver.attributes[(logical_id, "QueueName")] = name

    for logical_id, raw in resources(template, "AWS::DynamoDB::Table").items():
        props = resolver.resolve(raw)
        name = f"{stack_name}-{logical_id}"
        arguments = {k: props[k] for k in TABLE_ARGUMENTS if k in props}
        if "SSESpecification" in props:  # CloudFormation says SSEEnabled, the API Enabled
            sse = dict(props["SSESpecification"])
            arguments["SSESpecification"] = {"Enabled": sse.pop("SSEEnabled", False), **sse}
        clients["dynamodb"].create_table(TableName=name, **arguments)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            clients["dynamodb"].update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled"):
            clients["dynamodb"].update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification=pitr
            )
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        )

    for logical_id, raw in resources(template, "AWS::Events::EventBus").items():
        props = resolver.resolve(raw)
        arn = clients["events"].create_event_bus(Name=props["Name"])["EventBusArn"]
        resolver.refs[logical_id] = props["Name"]
        resolver.attributes[(logical_id, "Arn")] = arn
        resolver.attributes[(logical_id, "Name")] = props["Name"]

    # The bus's rules with queue targets (the notifier's): moto routes matching events to them.
    for logical_id, raw in resources(template, "AWS::Events::Rule").items():
        props = resolver.resolve(raw)
        name = f"{stack_name}-{logical_id}"
        bus = props.get("EventBusName", "default")
        arn = clients["events"].put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"])
        )["RuleArn"]
        targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])]
        clients["events"].put_targets(Rule=name, EventBusName=bus, Targets=targets)
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = arn

    for logical_id, raw in resources(template, "AWS::SecretsManager::Secret").items():
        props = resolver.resolve(raw)
        generate = props.get("GenerateSecretString")
        value: dict[str, str] = json.loads(props.get("SecretString", "{}"))
        if generate:
            value = json.loads(generate.get("SecretStringTemplate", "{}"))
            value[generate["GenerateStringKey"]] = _generated(generate)
        value.update((secret_values or {}).get(logical_id, {}))
        arn = clients["secretsmanager"].create_secret(
            Name=f"{stack_name}-{logical_id}", SecretString=json.dumps(value)
        )["ARN"]
        resolver.refs[logical_id] = arn

    return ProvisionedResources(stack_name=stack_name, resolver=resolver)


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tap_events(
    clients: Mapping[str, Any], stack: ProvisionedResources, bus_logical_id: str = "PaymentsBus"
) -> str:
    """A local-only rule copying every event on the bus to a queue, to see what was published.

    Returns the queue's URL; each message body is the EventBridge event.
    """
    bus = stack.ref(bus_logical_id)
    name = f"{stack.stack_name}-{bus_logical_id}-tap"
    url = clients["sqs"].create_queue(QueueName=name)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    clients["events"].put_rule(
        Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]})
    )
    clients["events"].put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
    return url

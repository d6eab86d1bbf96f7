"""`python -m ops env-json --stack NAME`: an `--env-vars` file for `sam local invoke` against
a deployed stack, from its functions' own configuration."""

from __future__ import annotations

from typing import Any


def deployed_environments(
    cloudformation: Any, lambda_client: Any, stack_name: str
) -> dict[str, dict[str, str]]:
    """Each function's environment as deployed, by its logical id in template.yaml."""
    paginator = cloudformation.get_paginator("list_stack_resources")
    functions = {
        resource["LogicalResourceId"]: resource["PhysicalResourceId"]
        for page in paginator.paginate(StackName=stack_name)
        for resource in page["StackResourceSummaries"]
        if resource["ResourceType"] == "AWS::Lambda::Function"
    }
    return {
        logical_id: lambda_client.get_function_configuration(FunctionName=name)
        .get("Environment", {})
        .get("Variables", {})
        for logical_id, name in functions.items()
    }

"""The template as CloudFormation sees it after the SAM transform, made offline (tests hold
the deployed shape: generated roles, API policies, event source mappings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.stack.template import load_template


def transform_template(
    template: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    region: str = "ap-southeast-1",
) -> dict[str, Any]:
    """The template as CloudFormation will see it after the SAM transform (what deploys):
    generated roles, API policies, event source mappings included. Offline: code locations
    become placeholders and no managed policy is looked up."""
    import copy
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    sam = copy.deepcopy(dict(template or load_template()))
    for resource in sam["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://placeholder/code.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    return transform(sam, dict(parameters or {}), NoManagedPolicies())

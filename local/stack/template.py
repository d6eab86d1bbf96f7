"""Read `template.yaml` so local resources, tests and local invokes follow what deploys.

CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) load as their long forms
({"Ref": ...}, {"Fn::GetAtt": [...]}, ...); `Resolver` turns them into local values.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


# libyaml's parser where PyYAML has it: the tests read the template hundreds of times.
class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data: a fresh copy each call, parsed again only if the file
    changed."""
    stat = path.stat()
    return copy.deepcopy(_parse(path, stat.st_mtime_ns, stat.st_size))


@functools.cache
def _parse(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }


@dataclass
class Resolver:
    """Resolves intrinsic functions against local values.

    `refs` maps a logical id or parameter to what !Ref gives; `attributes` maps
    (logical id, attribute) to what !GetAtt gives.
    """

    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.refs[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.attributes[(logical_id, attribute)]
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"]
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1)), text)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, name: str) -> str:
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.attributes[(logical_id, attribute)]
        return self.refs[name]


def resources(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: spec.get("Properties", {})
        for logical_id, spec in template["Resources"].items()
        if spec["Type"] == resource_type
    }


# A nested application's template: SAM's resource, and the stack the transform makes of it.
_NESTED = {"AWS::Serverless::Application": "Location", "AWS::CloudFormation::Stack": "TemplateURL"}


def applications(template: Mapping[str, Any], base: Path = ROOT) -> dict[str, Path]:
    """The template's nested applications whose template is a local file (monitoring, the
    event schemas): logical id -> that file, relative to `base`, the template's folder.
    `sam build` copies them beside the functions, and `sam deploy` uploads them."""
    found = {}
    for logical_id, spec in template["Resources"].items():
        location = spec.get("Properties", {}).get(_NESTED.get(spec["Type"], ""))
        if isinstance(location, str) and "://" not in location:
            found[logical_id] = base / location
    return found


def load_application(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """The nested application's template as `template` passes it in: every !Ref to one of
    its parameters, and every ${parameter} in a !Sub, replaced by the value the parent passes
    (or the parameter's default), so its resources read as they deploy."""
    path = applications(template)[logical_id]
    nested = load_template(path)
    given = template["Resources"][logical_id]["Properties"].get("Parameters", {})
    passed = {}
    for name, spec in nested.get("Parameters", {}).items():
        if name in given:
            passed[name] = given[name]
        elif "Default" in spec:
            passed[name] = str(spec["Default"])
        else:
            raise KeyError(f"{logical_id} passes no {name}, which {path.name} needs")
    for section in ("Conditions", "Resources", "Outputs"):
        if section in nested:
            nested[section] = _passed_in(nested[section], passed)
    return nested


def _passed_in(value: Any, passed: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_passed_in(v, passed) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in passed:
        return copy.deepcopy(passed[value["Ref"]])
    if set(value) == {"Fn::Sub"}:
        text, variables = value["Fn::Sub"], {}
        if isinstance(text, list):
            text, variables = text[0], _passed_in(text[1], passed)
        unsubstituted = {n: v for n, v in passed.items() if n not in variables}
        kept: dict[str, Any] = {}
        text = re.sub(r"\$\{([^}!]+)\}", lambda m: _sub_text(m, unsubstituted, kept), text)
        variables = {**variables, **kept}
        return {"Fn::Sub": [text, variables] if variables else text}
    return {k: _passed_in(v, passed) for k, v in value.items()}


def _sub_text(match: re.Match[str], passed: Mapping[str, Any], kept: dict[str, Any]) -> str:
    """${name} in a !Sub, as the passed value would read there."""
    name = match.group(1)
    if name not in passed:
        return match.group(0)
    value = passed[name]
    if isinstance(value, str):
        return value
    if set(value) == {"Ref"}:
        return f"${{{value['Ref']}}}"
    if set(value) == {"Fn::GetAtt"}:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return str(value["Fn::Sub"])
    kept[name] = value  # anything else stays a variable of the !Sub
    return match.group(0)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    layer_dirs: tuple[Path, ...]
    environment: dict[str, Any]
    timeout: int


def function_spec(template: Mapping[str, Any], logical_id: str) -> FunctionSpec:
    functions = resources(template, "AWS::Serverless::Function")
    if logical_id not in functions:
        raise KeyError(
            f"no function {logical_id!r} in template.yaml (have: {', '.join(functions)})"
        )
    globals_ = template.get("Globals", {}).get("Function", {})
    props = {**globals_, **functions[logical_id]}
    environment = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **functions[logical_id].get("Environment", {}).get("Variables", {}),
    }
    layers = resources(template, "AWS::Serverless::LayerVersion")
    layer_dirs = tuple(
        ROOT / layers[layer["Ref"]]["ContentUri"]
        for layer in props.get("Layers", [])
        if isinstance(layer, dict) and layer.get("Ref") in layers
    )
    module, _, handler = props["Handler"].rpartition(".")
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=ROOT / props["CodeUri"],
        module=module,
        handler=handler,
        layer_dirs=layer_dirs,
        environment=environment,
        timeout=int(props.get("Timeout", 3)),
    )


# Where `make build` (sam build, then the bytecode) leaves what `sam deploy` ships.
BUILD = ROOT / ".aws-sam" / "build"


def runtime_python() -> str | None:
    """This machine's python3.13, the functions' Lambda runtime (scripts/find-python), for
    what must run as Lambda would: the build, the benchmark's children; None if it has none."""
    found = subprocess.run(  # noqa: S603 - the repository's own script, fixed arguments
        [str(ROOT / "scripts" / "find-python"), "3.13", "exact"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return found or None


def function_ids(template: Mapping[str, Any]) -> tuple[str, ...]:
    """The template's functions, in the template's order."""
    return tuple(resources(template, "AWS::Serverless::Function"))


def events_of(
    template: Mapping[str, Any], logical_id: str, event_type: str
) -> list[dict[str, Any]]:
    """The properties of the function's event sources of one type (SQS, Api, ScheduleV2)."""
    events = template["Resources"][logical_id]["Properties"].get("Events", {})
    return [e.get("Properties", {}) for e in events.values() if e["Type"] == event_type]


def api_path(template: Mapping[str, Any], logical_id: str) -> str:
    """The path of the function's one API event (the receiver's: where Casso posts)."""
    apis = events_of(template, logical_id, "Api")
    if len(apis) != 1:
        raise KeyError(f"{logical_id} has {len(apis)} Api events; one is expected")
    return str(apis[0]["Path"])


def api_routes(template: Mapping[str, Any], logical_id: str) -> list[tuple[str, str]]:
    """(method, path) of each of the function's API events, as the HTTP front routes them."""
    return [
        (str(api["Method"]).upper(), str(api["Path"]))
        for api in events_of(template, logical_id, "Api")
    ]


def sam_env_vars(
    template: Mapping[str, Any], environments: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """An `--env-vars` file for `sam local invoke`: per function, every variable the template
    declares for it and only those (SAM ignores the rest), from `environments`."""
    env_vars: dict[str, dict[str, str]] = {}
    for logical_id in resources(template, "AWS::Serverless::Function"):
        declared = function_spec(template, logical_id).environment
        have = environments.get(logical_id, {})
        missing = sorted(set(declared) - set(have))
        if missing:
            raise KeyError(f"{logical_id}: no value for {', '.join(missing)}")
        env_vars[logical_id] = {name: str(have[name]) for name in declared}
    return env_vars

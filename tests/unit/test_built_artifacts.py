"""What `make build` leaves for `sam deploy`: every module ships its python3.13 bytecode, and
each nested application's template is there for `sam deploy` to upload.

Lambda's file system is read-only, so a module without a .pyc is compiled again at every
cold start (docs/benchmarks.md#bytecode-shipped-with-the-build). `make test` builds before
it runs the tests; run alone, this file needs `make build` first.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from local.stack.template import BUILD, applications, function_ids, load_template, runtime_python

# Run by python3.13, the runtime's interpreter: its magic number and source hash are the
# ones Lambda checks.
CHECK = """
import importlib.util, json, pathlib, sys
found = {}
for root in sys.argv[1:]:
    for source in sorted(pathlib.Path(root).rglob("*.py")):
        pyc = pathlib.Path(importlib.util.cache_from_source(str(source)))
        if not pyc.exists():
            found[str(source)] = "no .pyc"
            continue
        head = pyc.read_bytes()[:16]
        if head[:4] != importlib.util.MAGIC_NUMBER:
            found[str(source)] = "compiled for another Python"
        elif int.from_bytes(head[4:8], "little") != 0b11:
            found[str(source)] = "not checked-hash (an extracted zip's times would void it)"
        elif head[8:16] != importlib.util.source_hash(source.read_bytes()):
            found[str(source)] = "stale: the source changed after it was compiled"
        else:
            found[str(source)] = "ok"
print(json.dumps(found))
"""


def test_every_built_module_ships_hash_checked_python313_bytecode():
    roots = [BUILD / "CassoLayer" / "python", *(BUILD / f for f in function_ids(load_template()))]
    if not all(root.is_dir() for root in roots):
        pytest.skip("no complete build: run make build")
    python = runtime_python()
    if python is None:
        pytest.skip("python3.13 not found (make build needs it too)")
    result = subprocess.run(
        [python, "-c", CHECK, *map(str, roots)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(result.stdout)
    assert len(found) > 500  # boto3, botocore, Powertools, the layer, the handlers
    for name in (
        "casso_payments/receiver/intake.py",
        "botocore/client.py",
        "ReceiverFunction/app.py",
    ):
        assert any(path.endswith(name) for path in found), name
    assert {path: why for path, why in found.items() if why != "ok"} == {}


def test_the_build_holds_each_nested_applications_template_as_it_is_in_the_repository():
    built = BUILD / "template.yaml"
    if not built.is_file():
        pytest.skip("no build: run make build")
    template = load_template(built)
    nested = applications(template, BUILD)
    assert set(nested) == set(applications(load_template())) == {"Monitoring", "EventSchemas"}
    for logical_id, source in applications(load_template()).items():
        # sam build copies it beside the functions; sam deploy uploads it from there.
        assert nested[logical_id] == BUILD / logical_id / "template.yaml"
        assert load_template(nested[logical_id]) == load_template(source), logical_id

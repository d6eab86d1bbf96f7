"""A developer's `.env` (as docs/local-development.md has them copy it), AWS profile and
region change nothing in the stacks the tests build (tests/isolation.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from local.stack.config import read_dotenv
from local.stack.template import ROOT
from tests.isolation import isolated_environment

# What a stack started in this environment is configured with, as the local stack reads it
# (local/stack/config.py, boto3's session), with the project root's .env at argv[1].
CONFIGURATION = """
import json, os, sys
from pathlib import Path
import boto3
from local.stack import config
config.DOTENV = Path(sys.argv[1])
credentials = config.Credentials.from_env()
dotenv = config.read_dotenv(config.DOTENV)
try:
    session = boto3.Session()
    found = session.get_credentials()
    aws = {"region": session.region_name, "profile": session.profile_name,
           "access_key": found.access_key if found else None,
           "endpoint": boto3.client("sqs").meta.endpoint_url}
except Exception as error:
    aws = {"error": type(error).__name__}
print(json.dumps({
    "generated": sorted(credentials.generated),
    "credentials_from_dotenv": sorted(
        name for name, field in (("CASSO_SECURE_TOKEN", "secure_token"),
                                 ("CASSO_CHECKSUM_KEY", "checksum_key"),
                                 ("CASSO_API_KEY", "api_key"))
        if dotenv.get(name) == getattr(credentials, field)),
    "aws": aws,
    "variables": {k: v for k, v in os.environ.items()
                  if k.startswith(("AWS_", "POWERTOOLS_", "CASSO_", "LOCAL_"))},
}, sort_keys=True))
"""


def configuration(environment: dict[str, str], root: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CONFIGURATION, str(root / ".env")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def a_developers_shell() -> dict[str, str]:
    """This environment, as a developer's shell might have it: a profile this machine
    doesn't have, another region, Powertools' debug switches (and no LOCAL_DOTENV: the
    tests' own setting)."""
    return {
        **{name: value for name, value in os.environ.items() if name != "LOCAL_DOTENV"},
        "AWS_PROFILE": "nope",
        "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_DEV": "true",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }


def test_a_developers_dotenv_profile_and_region_change_nothing_in_the_tests_stacks(tmp_path):
    clean_root, user_root = tmp_path / "fresh-clone", tmp_path / "after-the-docs"
    clean_root.mkdir()
    user_root.mkdir()
    shutil.copy(ROOT / ".env.example", user_root / ".env")  # `cp .env.example .env`
    assert read_dotenv(user_root / ".env")  # the copy holds the sample events' credentials

    fresh = configuration(isolated_environment(dict(os.environ)), clean_root)
    developer = configuration(isolated_environment(a_developers_shell()), user_root)

    assert developer == fresh
    assert fresh["generated"] == ["CASSO_API_KEY", "CASSO_CHECKSUM_KEY", "CASSO_SECURE_TOKEN"]
    assert fresh["aws"]["region"] == "ap-southeast-1"
    assert fresh["aws"]["profile"] == "default"
    assert fresh["aws"]["access_key"] == "testing"


def test_without_isolation_the_same_shell_would_change_the_stack(tmp_path):
    """What the isolation is for: the same .env and shell do change a stack started
    without it (so the test above would see a leak)."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    leaked = configuration(a_developers_shell(), tmp_path)
    assert leaked["credentials_from_dotenv"] == [
        "CASSO_API_KEY",
        "CASSO_CHECKSUM_KEY",
        "CASSO_SECURE_TOKEN",
    ]
    assert leaked["aws"] == {"error": "ProfileNotFound"}


def test_make_dev_still_reads_the_developers_dotenv(tmp_path):
    """The isolation is the tests' own: a developer's stack reads .env (or LOCAL_DOTENV)."""
    from local.stack.config import Credentials, dotenv_path

    dotenv = tmp_path / ".env"
    shutil.copy(ROOT / ".env.example", dotenv)
    expected = read_dotenv(dotenv)["CASSO_SECURE_TOKEN"]
    assert dotenv_path({}) == ROOT / ".env"
    assert Credentials.from_env({"LOCAL_DOTENV": str(dotenv)}).secure_token == expected
    assert dotenv_path({"LOCAL_DOTENV": ""}) is None
    assert Credentials.from_env({"LOCAL_DOTENV": ""}).generated

"""The environment every test runs in, and every stack a test starts inherits: nothing from
the developer's shell or `.env` that would change what a stack under test does.

tests/conftest.py applies it before any test module is imported; subprocesses (the local
stack the end-to-end tests start, `python -m local.cli`, `python -m ops`, `make`) inherit it.
tests/unit/test_isolation.py shows a developer's `.env` and AWS profile and region change
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

# Variables a developer's shell may set that change what AWS clients, Powertools, moto, SAM
# or the local stack do: the AWS CLI's and SDK's (profile, region, endpoints, credential
# files, retries...), Powertools', the Casso credentials and the local stack's ports and
# state folder, Lambda's own.
USER_PREFIXES = ("AWS_", "BOTO_", "POWERTOOLS_", "CASSO_", "LOCAL_", "MOTO_", "SAM_")
USER_NAMES = frozenset({"LAMBDA_TASK_ROOT", "_HANDLER", "_X_AMZN_TRACE_ID", "TEST_SERVER_MODE"})
# Kept: AWS_SAM_STACK_NAME chooses to run tests/deployed against a stack, and changes no
# stack a test builds.
KEPT = frozenset({"AWS_SAM_STACK_NAME"})

# What the tests' AWS is: fake credentials before any boto3 client exists (tests never reach
# a real account), one region, no credential or config files, no instance metadata.
TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_DEV": "false",
    "SAM_CLI_TELEMETRY": "0",
    # The local stack reads no credentials file (local/stack/config.py): a stack under test
    # generates its own, as a fresh clone's does.
    "LOCAL_DOTENV": "",
}


def from_the_user(name: str) -> bool:
    return name not in KEPT and (name.startswith(USER_PREFIXES) or name in USER_NAMES)


def isolated_environment(user: Mapping[str, str]) -> dict[str, str]:
    """`user` (a shell's environment) without what would change a stack under test, plus
    the tests' own AWS."""
    kept = {name: value for name, value in user.items() if not from_the_user(name)}
    return {**kept, **TEST_ENVIRONMENT}


def isolate(environ: MutableMapping[str, str]) -> None:
    """Make `environ` (os.environ) the tests' environment, in place."""
    wanted = isolated_environment(environ)
    for name in [name for name in environ if name not in wanted]:
        del environ[name]
    environ.update(wanted)

"""The local stack's configuration: loopback ports, the Casso credentials (from the
environment, `.env`, or generated), the local AWS environment, where a running stack's state
lives."""

from __future__ import annotations

import os
import secrets
import socket
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from dotenv import dotenv_values

from local.stack.provision import REGION
from local.stack.template import ROOT

# How long API Gateway (REST) waits for the function, at most, before answering 504: so how
# long a client of the webhook, locally or deployed, waits for an answer.
INTEGRATION_TIMEOUT_SECONDS = 29.0

# Where a running stack says where it is (and keeps its functions' logs). LOCAL_STACK_DIR
# lets two stacks (say, yours and the end-to-end tests') run side by side.
STATE_DIR = Path(os.environ.get("LOCAL_STACK_DIR") or ROOT / ".local-stack")
STATE_FILE = STATE_DIR / "stack.json"
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
}


class PortInUse(RuntimeError):
    """A port the stack needs is taken: `name` (api, casso, moto) and `port` say which."""

    def __init__(self, message: str, name: str = "", port: int = 0) -> None:
        super().__init__(message)
        self.name, self.port = name, port


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    """Loopback ports; each can be set with its LOCAL_*_PORT variable or a CLI flag."""

    api: int = 3000
    casso: int = 4000
    moto: int = 5000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: int | None) -> Ports:
        env = os.environ if env is None else env
        defaults = cls()
        values = {}
        for name in ("api", "casso", "moto"):
            chosen = given.get(name)
            if chosen is None:
                chosen = int(env.get(f"LOCAL_{name.upper()}_PORT", getattr(defaults, name)))
            values[name] = chosen
        return cls(**values)

    def check_free(self) -> None:
        for name, port in asdict(self).items():
            if port and not port_is_free(port):
                raise PortInUse(
                    f"port {port} ({name}) is in use on 127.0.0.1{holder(port)}: stop what "
                    f"uses it, or choose another with LOCAL_{name.upper()}_PORT",
                    name,
                    port,
                )


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` now. SO_REUSEADDR, as every server here sets
    it: a port whose last connections are in TIME_WAIT (a stack just stopped) is free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def holder(port: int) -> str:
    """ " (held by pid N: command)" when the OS tells who listens on `port`; "" otherwise."""
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                if connection.pid is None:
                    return ""
                command = " ".join(psutil.Process(connection.pid).cmdline())[:80]
                return f" (held by pid {connection.pid}: {command})"
    except (psutil.Error, OSError):  # not allowed to look, on some systems
        return ""
    return ""


def _generate(length: int = 40) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


# The file `make dev` and `make demo` read credentials from: `.env` at the root, or the file
# LOCAL_DOTENV names; LOCAL_DOTENV set empty reads none (the tests' stacks run so, whatever a
# developer's .env holds: tests/isolation.py).
DOTENV = ROOT / ".env"


def dotenv_path(env: Mapping[str, str]) -> Path | None:
    """The credentials file `env` chooses: LOCAL_DOTENV's, none when it is empty, `.env`
    at the root when it is unset."""
    if "LOCAL_DOTENV" not in env:
        return DOTENV
    return Path(env["LOCAL_DOTENV"]) if env["LOCAL_DOTENV"] else None


def read_dotenv(path: Path | None) -> dict[str, str]:
    """`.env`'s KEY=VALUE lines (python-dotenv's rules: comments, quotes, `export`)."""
    if path is None or not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


@dataclass(frozen=True)
class Credentials:
    secure_token: str
    checksum_key: str
    api_key: str
    generated: tuple[str, ...] = ()
    # The shop's key to the orders API (ShopApiKeySecret), new each start.
    shop_api_key: str = field(default_factory=lambda: _generate(48))

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, dotenv: Path | None = None
    ) -> Credentials:
        """CASSO_SECURE_TOKEN, CASSO_CHECKSUM_KEY, CASSO_API_KEY from the environment or
        the credentials file (`dotenv`, else the one the environment chooses: dotenv_path)
        when set; generated otherwise."""
        env = os.environ if env is None else env
        merged = {**read_dotenv(dotenv or dotenv_path(env)), **env}
        values, generated = {}, []
        for field_name, variable in (
            ("secure_token", "CASSO_SECURE_TOKEN"),
            ("checksum_key", "CASSO_CHECKSUM_KEY"),
            ("api_key", "CASSO_API_KEY"),
        ):
            values[field_name] = merged.get(variable, "").strip() or _generate()
            if not merged.get(variable, "").strip():
                generated.append(variable)
        return cls(**values, generated=tuple(generated))

"""The local stack's configuration: credentials from the environment or .env, ports."""

from __future__ import annotations

import os
import socket

import pytest

from local.stack.config import Credentials, PortInUse, Ports, port_is_free, read_dotenv


def test_credentials_from_environment_then_dotenv_then_generated(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# local\nexport CASSO_SECURE_TOKEN='from-dotenv'\nCASSO_API_KEY=\"dotenv-key\"\n\nNOISE\n"
    )
    credentials = Credentials.from_env({"CASSO_API_KEY": "env-key"}, dotenv=dotenv)
    assert credentials.secure_token == "from-dotenv"
    assert credentials.api_key == "env-key"  # the environment wins over .env
    assert len(credentials.checksum_key) == 40
    assert credentials.generated == ("CASSO_CHECKSUM_KEY",)


def test_generated_credentials_differ_each_time(tmp_path):
    first = Credentials.from_env({}, dotenv=tmp_path / "missing")
    second = Credentials.from_env({}, dotenv=tmp_path / "missing")
    assert first.secure_token != second.secure_token
    assert set(first.generated) == {"CASSO_SECURE_TOKEN", "CASSO_CHECKSUM_KEY", "CASSO_API_KEY"}


def test_dotenv_without_a_file_is_empty(tmp_path):
    assert read_dotenv(tmp_path / "nope") == {}


def test_ports_defaults_environment_and_flags():
    assert Ports.from_env({}) == Ports(api=3000, casso=4000, moto=5000)
    assert Ports.from_env({"LOCAL_API_PORT": "8080"}, casso=9000) == Ports(
        api=8080, casso=9000, moto=5000
    )


def test_a_taken_port_is_named_with_how_to_choose_another():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with pytest.raises(PortInUse) as raised:
            Ports(api=0, casso=0, moto=taken).check_free()
    message = str(raised.value)
    assert f"port {taken} (moto) is in use on 127.0.0.1" in message
    assert f"(held by pid {os.getpid()}: " in message  # this test's own process holds it
    assert "choose another with LOCAL_MOTO_PORT" in message
    assert (raised.value.name, raised.value.port) == ("moto", taken)


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free():
    """A stack that just stopped leaves its ports' connections in TIME_WAIT for a minute;
    a server (SO_REUSEADDR) may listen there again at once, so the check must agree."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection is TIME_WAIT
    client.close()
    server.close()
    # What the old check did, a bind without SO_REUSEADDR, is refused though nothing listens.
    with socket.socket() as plain, pytest.raises(OSError, match="Address already in use"):
        plain.bind(("127.0.0.1", port))
    assert port_is_free(port)
    Ports(api=0, casso=0, moto=port).check_free()

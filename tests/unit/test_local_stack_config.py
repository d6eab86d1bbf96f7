"""The local stack's configuration: credentials from the environment or .env, ports."""

from __future__ import annotations

import socket

import pytest

from local.stack import Credentials, PortInUse, Ports, read_dotenv


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
        with pytest.raises(
            PortInUse, match=f"port {taken} \\(moto\\) is in use.*--moto-port or LOCAL_MOTO_PORT"
        ):
            Ports(api=0, casso=0, moto=taken).check_free()

"""How the reconciler proves who it is to Casso's API (kept apart from the HTTP client so the
receiver, which reads secrets too, never imports `requests`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class CassoAuth:
    """How the client proves who it is: an API key, or an OAuth2 access token."""

    scheme: Literal["Apikey", "Bearer"]
    secret: str

    @property
    def header(self) -> str:
        return f"{self.scheme} {self.secret}"

    @property
    def what(self) -> str:
        return "OAuth2 access token" if self.scheme == "Bearer" else "API key"

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> CassoAuth | None:
        """`{"api_key": ...}` or `{"access_token": ...}`; None when neither is filled in."""
        for field, scheme in (("access_token", "Bearer"), ("api_key", "Apikey")):
            value = secret.get(field)
            if isinstance(value, str) and value.strip():
                return cls(scheme, value.strip())  # type: ignore[arg-type]
        return None

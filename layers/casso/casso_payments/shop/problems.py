"""Errors as `application/problem+json` (RFC 9457): a status, a title, a detail a person
reads, and, for bad input, `errors`: each field and what was wrong with it. Every answer the
API gives, error or not, is shaped here as an API Gateway proxy result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

PROBLEM_JSON: Final = "application/problem+json"
JSON: Final = "application/json"
# Each problem's type: a URN naming it (docs/shop-api.md lists them), stable for a client.
TYPE_BASE: Final = "urn:casso-payments:problem:"


@dataclass(frozen=True)
class FieldError:
    field: str  # a JSON pointer-ish name: amount, metadata, query.limit, header.Content-Type
    problem: str


@dataclass
class Problem(Exception):
    """An answer other than success; raised anywhere in the API, answered by the router."""

    status: int
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail or self.title)

    def body(self) -> dict[str, Any]:
        slug = self.title.lower().replace(" ", "-")
        body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": self.title}
        body |= {"status": self.status, "detail": self.detail or self.title}
        if self.errors:
            body["errors"] = [{"field": e.field, "problem": e.problem} for e in self.errors]
        return body


def invalid(errors: list[FieldError]) -> Problem:
    """Bad input (400): every field that was wrong, and how."""
    detail = "; ".join(f"{e.field}: {e.problem}" for e in errors)
    return Problem(400, "Invalid request", detail, errors)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway proxy result with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def problem_answer(problem: Problem) -> dict[str, Any]:
    result = answer(problem.status, problem.body(), problem.headers)
    result["headers"]["Content-Type"] = PROBLEM_JSON
    return result

"""A failing test shows the lines that matter, not hundreds of KB of captured JSON logs."""

from __future__ import annotations

import json

from tests.conftest import KEPT_LINES, trim_capture


def log(level: str, message: str) -> str:
    return json.dumps({"level": level, "message": message, "service": "receiver", "x": "y" * 90})


def test_info_logs_and_metrics_are_dropped_warnings_errors_and_prints_kept():
    captured = "\n".join(
        [
            *(log("INFO", f"delivery accepted {n}") for n in range(5000)),
            json.dumps({"_aws": {"CloudWatchMetrics": []}, "Deliveries": [1]}),
            log("WARNING", "delivery unauthorized"),
            "Traceback (most recent call last):",
            log("ERROR", "unexpected error handling a delivery"),
        ]
    )
    shown = trim_capture(captured)
    assert len(shown) < len(captured) // 100
    lines = shown.splitlines()
    assert lines[0].startswith("[5004 captured lines; showing the last 3 ")
    assert [json.loads(x)["message"] for x in lines[1:] if x.startswith("{")] == [
        "delivery unauthorized",
        "unexpected error handling a delivery",
    ]
    assert "Traceback (most recent call last):" in lines


def test_at_most_the_last_lines_that_matter_each_cut_short():
    shown = trim_capture("\n".join(f"print {n} " + "z" * 1000 for n in range(500))).splitlines()
    assert len(shown) == 1 + KEPT_LINES
    assert shown[-1].startswith("print 499 ")
    assert all(len(line) < 500 for line in shown[1:])


def test_a_short_capture_is_shown_as_it_is():
    text = "just a print\n" + log("INFO", "one line")
    assert trim_capture(text) == text

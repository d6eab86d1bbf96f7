"""`python -m local.sample_events` (`make events`), the documented command that writes events/:
it runs local/cli/sample_events.py, where the code is (import from there, not from here)."""

if __name__ == "__main__":
    from local.cli.sample_events import write_events

    write_events()

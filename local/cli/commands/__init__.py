"""The local CLI's commands, by what they work on (local/cli.py parses and dispatches)."""

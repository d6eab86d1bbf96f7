"""The developer tools: `python -m local.cli`, the demo, local invoke, the sample events."""

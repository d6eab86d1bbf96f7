"""The embedded default: everything needed to run the stack without AWS. Never deployed."""

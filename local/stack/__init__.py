"""The local stack: the harness the tests, the demo and `make dev` run the pipeline on."""

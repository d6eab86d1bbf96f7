"""Shared code of the Casso payments functions, shipped as the CassoLayer.

Modules, one concern each:
    settings      configuration read from the environment, with clear errors
    credentials   webhook credentials from Secrets Manager (Powertools Parameters, cached)
    webhook_auth  v1 secure-token and V2 HMAC signature verification (and signing, for tools)
    payload       Casso webhook bodies (v1 array, V2 object) -> Transaction
    ledger        the DynamoDB ledger: one item per Casso transaction id, and quarantine
    queue         the SQS message shape and batched sends
    intake        the receiver's logic: authenticate, parse, record, enqueue, answer
"""

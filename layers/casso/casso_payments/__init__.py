"""Shared code of the Casso payments functions, shipped as the CassoLayer.

Modules, one concern each:
    settings      configuration read from the environment, with clear errors: one module
                  per function (settings.receiver, .processor, .reconciler)
    credentials   webhook credentials from Secrets Manager (Powertools Parameters, cached)
    webhook_auth  v1 secure-token and V2 HMAC signature verification (and signing, for tools)
    payload       Casso webhook bodies (v1 array, V2 object) -> Transaction
    ledger        the DynamoDB ledger: one item per Casso transaction id
    item_size     DynamoDB's 400 KB item limit, measured
    quarantine    deliveries kept whole for a person: keep, list, discard
    queue         the SQS message shape and batched sends
    recording     a delivery's conditional puts and queue sends, run concurrently
    intake        the receiver's logic: authenticate, parse, record, enqueue, answer;
                  and releasing a quarantined delivery through the same path
    sqs_batch     an SQS batch worked record by record, with the partial batch response
    cold_start    what a handler does at set-up to start cold sooner (the collector)
"""

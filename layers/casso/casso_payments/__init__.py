"""Shared code of the Casso payments functions, shipped as the CassoLayer.

One subpackage per concern; each `__init__` is a map of its modules and re-exports
nothing (an import there would load for every function's cold start):

    aws/          AWS mechanics: DynamoDB table access, the queue, the bus, SQS batches
    casso/        Casso: payloads, webhook auth, credentials, the API client
    settings/     configuration from the environment, one module per function
    ledger/       the ledger table: item shapes, and `Ledger`, its one owner
    orders/       the orders table: codes, the model, VietQR, and `Orders`, its one owner
    events/       outcomes, the Effect of a transaction, every event built and typed
    receiver/     ReceiverFunction's logic
    processor/    ProcessorFunction's logic
    reconciler/   ReconcilerFunction's logic
    cold_start    what a handler does at set-up to start cold sooner (the collector)

Lower rooms never import higher ones: aws, orders < settings < casso < ledger < events <
receiver, processor, reconciler.
"""

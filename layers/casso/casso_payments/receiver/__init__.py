"""ReceiverFunction's logic: a Casso webhook delivery -> the ledger and the queue.

intake       authenticate, parse, record, enqueue, answer (`receive`)
recording    a delivery's conditional puts and queue sends, run concurrently
quarantine   the bounded reason a delivery is kept whole for a person
release      a quarantined delivery replayed through the intake (ops quarantine release)
"""

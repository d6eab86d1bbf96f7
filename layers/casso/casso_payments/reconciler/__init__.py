"""ReconcilerFunction's logic: keep the webhook registered, never miss a transaction.

run        one run under a lease and a deadline, and its steps
deps       `ReconcilerDeps` (ledger, orders, queue, bus, Casso client, settings), made
webhook    make Casso's webhook match the desired one
backfill   record + queue what the ledger lacks; notice a paused webhook
sweep      re-queue entries still RECEIVED, within bounds; park the hopeless
expiry     unpaid orders past their expiry become EXPIRED
gaps       the balance chain's starts: chained, origin or gap; sync, publish, close
report     what one run did, step by step: its log line and its metrics
"""

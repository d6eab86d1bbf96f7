"""ProcessorFunction's logic: a queued transaction -> its effect on an order.

process        the steps: load, bind, confirm, apply, publish, mark processed
effects        what a bound transfer does to its order (pay, refund, late) as an Effect
confirmation   asking Casso's API to vouch for a transaction (design invariant 8)
deps           `ProcessorDeps`: ledger, orders, bus, Casso client, settings
versions       a stronger version of a transaction: replace the weaker one, or a person
settle         a person's decisions on processed transactions (ops settle, handled, late)
balance        each transaction joins its account's balance chain; a start makes Casso sync
"""

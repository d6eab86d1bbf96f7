"""What happened to a transaction, and what the stack says about it on its bus.

outcomes   `Outcome`: one name per result of processing (the ledger's `outcome`, its
           metric, its event)
effect     `Effect`: what processing one transaction did, as a value
names      every event's name (its detail-type), apart from the typed details
details    the typed detail of every event, equal to schemas/events/ (tested)
build      every event built, in one place: what a transfer publishes, Order Expired
"""

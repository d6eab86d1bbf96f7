"""The Casso simulator: a small stateful Casso on loopback for the tests, the local stack and
developers (`python -m local.casso.simulator`).

    simulator     CassoSimulator, which puts the rest together
    wire          what Casso puts on the wire for one transaction: v1 or V2
    webhooks      a simulated webhook and its lifecycle (ACTIVE, PAUSED, DISABLED) on a scaled clock
    sender        the sender that delivers, retries, pauses, holds and replays
    api           the webhook-management API v2 and the simulator's own /_simulator/ controls
    account_api   the API v2 for a business's own data: transactions, user info, sync
    cli           `python -m local.casso.simulator`: the simulator on its own, until Ctrl-C
"""

"""The local CLI's commands, by what they work on (local/cli/main.py parses and dispatches).

lifecycle   start, stop and watch the local stack: up, down, demo, status, wait
pipeline    a running stack's pipeline: order, send, send-webhook, show, reconcile, processor
invoke      one function by hand, like `sam local invoke`: invoke, env-json
decisions   a person's decisions on a transaction, as `python -m ops` makes them: settle, handled
published   what the stack published on its event bus: events
notifications  the notification log: notifications
"""

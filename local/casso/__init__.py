"""The Casso simulator (simulator: `CassoSimulator`, which puts the rest together) and its
parts: the wire format (wire), webhooks and their lifecycle (webhooks), the sender that
delivers, retries, pauses, holds and replays (sender), and the REST APIs (api, account_api)."""

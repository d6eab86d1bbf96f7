"""The Casso simulator's parts: the wire format (wire), webhooks and their lifecycle
(webhooks), and the sender that delivers, retries, pauses, holds and replays (sender). The
REST API and the simulator itself are in local/casso_simulator.py."""

"""`python -m local.casso.simulator`: the Casso simulator on its own, until Ctrl-C."""

from __future__ import annotations

import time


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="local.casso.simulator", description="A local Casso: REST API v2 and webhook sender."
    )
    parser.add_argument("--port", type=int, default=4000, help="port on 127.0.0.1 (default 4000)")
    parser.add_argument("--api-key", default="local-casso-api-key-not-a-secret")
    parser.add_argument(
        "--minute",
        type=float,
        default=1.0,
        help="real seconds per Casso minute in retries (default 1)",
    )
    args = parser.parse_args(argv)
    from local.casso.simulator import CassoSimulator

    simulator = CassoSimulator(api_key=args.api_key, port=args.port, minute=args.minute)
    try:
        simulator.start()
    except OSError as error:
        print(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror} (choose --port)")
        return 1
    print(f"Casso simulator: API {simulator.api_url} (Authorization: Apikey {args.api_key})")
    print(f"  add a transaction: POST {simulator.base_url}/_simulator/transactions")
    print('    {"amount": 150000, "description": "DH1234", "deliver": true}')
    print("Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0

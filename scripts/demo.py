"""`make demo`: the shopper's journey against a running `make dev` stack, printing each step."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from scripts.journey import Journey, JourneyError, run_journey
from subgraphs.kit.settings import DEV_JWT_SECRET


async def main(gateway_url: str) -> int:
    journey = Journey(gateway_url, jwt_secret=os.environ.get("JWT_SECRET", DEV_JWT_SECRET))
    print(f"Shopping at {gateway_url} as {journey.user_id}\n")
    try:
        await run_journey(journey)
    except JourneyError as exc:
        print(f"\nthe journey stopped: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"\ncannot reach the gateway ({exc}); is `make dev` running?", file=sys.stderr)
        return 1
    finally:
        await journey.aclose()
    print("\nDone: emails are in var/mail/ unless SMTP_URL is set.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", default="http://127.0.0.1:4000/graphql")
    sys.exit(asyncio.run(main(parser.parse_args().gateway)))

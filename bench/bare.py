#!/usr/bin/env python3
"""The bare aiohttp handler: read the body, parse its JSON, answer 200 {"status":"accepted"}. No storage,
no validation: the Python ceiling for a webhook receiver on this machine (what alertbridge's HTTP layer
could reach if ingesting cost nothing).

    .venv/bin/python bench/bare.py --listen 127.0.0.1:18095
    storm.py --url http://127.0.0.1:18095/api/v1/alertmanager

Any POST path is accepted (so the same storm URL path as alertbridge's works); GET /readyz answers 200.
Malformed JSON answers 400, as a real receiver would. SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web

ACCEPTED = json.dumps({"status": "accepted"})


async def ingest(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    try:
        json.loads(raw)
    except ValueError as exc:
        return web.json_response({"error": "malformed_json", "message": str(exc)}, status=400)
    return web.Response(text=ACCEPTED, content_type="application/json")


async def ready(_request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ready"})


def build_app() -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/readyz", ready)
    app.router.add_post("/{tail:.*}", ingest)
    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--listen", default="127.0.0.1:18095", help="HOST:PORT (default 127.0.0.1:18095)")
    args = p.parse_args()
    host, _, port = args.listen.rpartition(":")
    web.run_app(build_app(), host=host or "127.0.0.1", port=int(port), access_log=None, print=None)


if __name__ == "__main__":
    main()

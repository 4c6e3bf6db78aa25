"""Writes a .env with fresh random tokens for `make run` (kept if it exists)."""

import secrets
import sys
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    sys.exit(0)
tokens = {
    name: secrets.token_urlsafe(24)
    for name in ("ALERTBRIDGE_TOKEN_ALERTMANAGER", "ALERTBRIDGE_TOKEN_ZABBIX", "ALERTBRIDGE_TOKEN_ENGINEER")
}
lines = ["# alertbridge environment for `make run` (generated once; edit freely, never commit it)."]
lines += [f"{k}={v}" for k, v in tokens.items()]
lines += [
    "# Curator e-mail goes through this SMTP server; unset, notices stay queued.",
    "# ALERTBRIDGE_SMTP_URL=smtp://127.0.0.1:25",
    "",
]
path.write_text("\n".join(lines))
path.chmod(0o600)
print(f"alertbridge: wrote {path} with new random tokens:")
for k, v in tokens.items():
    print(f"  {k}={v}")

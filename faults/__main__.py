"""``python -m faults [--sqlite|--postgres] [options]``: the fault test on
both databases (one after the other; each is a process of its own, since
settings are read from the environment at start), or on one."""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from faults import run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description="the crash-safety fault test (docs/reliability.md)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite only")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL only")
    run.add_options(parser)
    args, _ = parser.parse_known_args()
    databases = [db for db, wanted in (("sqlite", args.sqlite), ("postgres", args.postgres)) if wanted] or ["sqlite", "postgres"]
    passthrough = [a for a in sys.argv[1:] if a not in ("--sqlite", "--postgres")]
    started = time.monotonic()
    failed = []
    for db in databases:
        rc = subprocess.call([sys.executable, "-m", "faults.run", "--db", db, *passthrough], cwd=run.ROOT)
        if rc != 0:
            failed.append(db)
    elapsed = time.monotonic() - started
    if failed:
        print(f"!!! the fault test failed on {', '.join(failed)} ({elapsed:.0f} s in all)", file=sys.stderr)
        return 1
    print(f"fault test passed on {' and '.join(databases)} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m faults [--sqlite|--postgres] [--serial] [options]``: the fault
test on both databases, or on one. Each database's run is a process of its
own (settings are read from the environment at start). Both run side by
side by default, as ./dev test does: a run spends much of its time in one
core's work (migrating, the SQLite writer, restarting a killed server), so
two of them on two CPUs take far less than the sum. The SQLite run's output
follows the PostgreSQL run's."""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

from faults import run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description="the crash-safety fault test (docs/reliability.md)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite only")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL only")
    parser.add_argument("--serial", action="store_true", help="one database after the other")
    run.add_options(parser)
    args = parser.parse_args()
    databases = [db for db, wanted in (("sqlite", args.sqlite), ("postgres", args.postgres)) if wanted] or ["sqlite", "postgres"]
    passthrough = [a for a in sys.argv[1:] if a not in ("--sqlite", "--postgres", "--serial")]
    started = time.monotonic()
    argv = {db: [sys.executable, "-m", "faults.run", "--db", db, *passthrough] for db in databases}
    codes: dict[str, int] = {}
    if args.serial or len(databases) == 1:
        for db in databases:
            codes[db] = subprocess.call(argv[db], cwd=run.ROOT)
    else:
        with tempfile.TemporaryFile() as sqlite_log:
            print("=== SQLite fault run in the background (output below, after PostgreSQL's) ===", flush=True)
            background = subprocess.Popen(argv["sqlite"], cwd=run.ROOT, stdout=sqlite_log, stderr=subprocess.STDOUT)
            codes["postgres"] = subprocess.call(argv["postgres"], cwd=run.ROOT)
            codes["sqlite"] = background.wait()
            sqlite_log.seek(0)
            sys.stdout.flush()
            sys.stdout.buffer.write(sqlite_log.read())
            sys.stdout.flush()
    elapsed = time.monotonic() - started
    failed = [db for db, code in codes.items() if code != 0]
    if failed:
        print(f"!!! the fault test failed on {', '.join(failed)} ({elapsed:.0f} s in all)", file=sys.stderr)
        return 1
    print(f"fault test passed on {' and '.join(databases)} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

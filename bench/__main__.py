"""``python -m bench [NAME ...] [--db sqlite|postgres|both] [options]``

Runs each named benchmark (all when none is named) on each database, every
pair in its own child process, then prints a summary of the ratios.
Options such as ``--batches 30``, ``--rebuild`` or ``--profile`` are handed
to the children that have them (``python -m bench.<name> --help``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench import common
from bench.common import console

DB_BENCHMARKS = ("ingest", "timeline", "ui", "email", "webhooks", "documents", "alerts", "lists", "insights", "scale", "imports")
# Benchmarks that touch no database run once, whatever --db says.
NO_DATABASE = ("sentiment",)
BENCHMARKS = (*DB_BENCHMARKS, *NO_DATABASE)
# Options handed to the children: (flag, takes a value, benchmarks that have it, help).
CHILD_OPTIONS = (
    ("--profile", False, DB_BENCHMARKS, "also break the API path down in-process (phases + cProfile); ui: cProfile of the pages over budget"),
    ("--warmup", True, ("ingest", "timeline", "ui", "insights", "scale"), "warm-up batches (ingest) or rounds (timeline, ui) or runs per report (insights)"),
    ("--batches", True, ("ingest", "scale"), "ingest: measured batches of 1,000 (default 20; scale: 10)"),
    ("--orgs", True, ("ingest",), "ingest: organizations in the CRM (default 400)"),
    ("--requests", True, ("timeline", "ui", "documents", "lists", "insights", "scale"), "timeline: measured requests per endpoint (default 400); ui: per page (default 30); documents: calls each (300); lists: per page (20); insights: runs per report (20)"),
    ("--deep-pages", True, ("timeline",), "timeline: next_cursor hops to the deep page (default 10)"),
    ("--touchpoints", True, ("timeline", "insights", "scale"), "timeline, scale: dataset size (default 1,000,000; a different size rebuilds it); insights: the same (default 10,000,000)"),
    ("--scale", True, ("ui",), "ui: demo scale (default 1: 2,000 organizations, 200,000 touchpoints)"),
    ("--rebuild", False, ("timeline", "ui", "documents", "alerts", "lists", "insights", "scale"), "timeline, ui, documents, alerts, lists, insights: regenerate the kept dataset"),
    ("--contacts", True, ("lists",), "lists: contacts in the list (default 1,000,000 on PostgreSQL, 100,000 on SQLite)"),
    ("--deals", True, ("alerts",), "alerts: deals scanned (default 1,000,000 on PostgreSQL, 100,000 on SQLite)"),
    ("--messages", True, ("email",), "email: messages in the synced mailbox (default 20,000)"),
    ("--callbacks", True, ("webhooks",), "webhooks: signed Twilio callbacks sent (default 20,000, after 500 warm-up)"),
    ("--seconds", True, ("scale",), "scale: the HTTP load test's duration (default 20)"),
    ("--connections", True, ("scale",), "scale: the load test's concurrent connections (default 16)"),
    ("--rows", True, ("imports",), "imports: rows in the CSV (default 1,000,000)"),
    ("--kill-after", True, ("imports",), "imports: seconds before the first run is killed (default 60)"),
    ("--clients", True, ("webhooks",), "webhooks: client processes, one keep-alive connection each (default 8)"),
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench", description="Touchpoints benchmarks (see docs/benchmarks.md)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    for flag, takes_value, _, help_text in CHILD_OPTIONS:
        if takes_value:
            parser.add_argument(flag, help=help_text)
        else:
            parser.add_argument(flag, action="store_true", help=help_text)
    args = parser.parse_intermixed_args(argv)
    names = args.names or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            parser.error(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")

    def child_argv(name: str) -> list[str]:
        out = []
        for flag, takes_value, applies, _ in CHILD_OPTIONS:
            value = getattr(args, flag.lstrip("-").replace("-", "_"))
            if name not in applies or value in (None, False, ""):
                continue
            out += [flag, str(value)] if takes_value else [flag]
        return out

    dbs = list(common.DATABASES) if args.db == "both" else [args.db]
    common.BENCH_VAR.mkdir(parents=True, exist_ok=True)

    failures = []
    ran = []
    for name in names:
        for db in ["none"] if name in NO_DATABASE else dbs:
            if db == "postgres" and not common.postgres_reachable():
                console.print(f"[bold red]!!! SKIPPED {name} on PostgreSQL: nothing answers at {common.pg_url('postgres')} !!![/]")
                failures.append((name, db, "postgres unreachable"))
                continue
            result_file = common.BENCH_VAR / f"result-{name}-{db}.json"
            result_file.unlink(missing_ok=True)
            rc = subprocess.call([sys.executable, "-m", f"bench.{name}", "--db", db, *child_argv(name)], cwd=common.ROOT)
            if rc != 0 or not result_file.exists():
                failures.append((name, db, f"exit {rc}"))
            else:
                ran.append(json.loads(result_file.read_text()))

    if ran:
        console.rule("[bold]summary[/]")
        m = ran[0]["machine"]
        console.print(f"{m['nproc']} CPUs ({m['cpu']}), {m['mem_gb']} GB, Python {m['python']}")
        for r in ran:
            console.print(_summary_line(r))
    for name, db, why in failures:
        console.print(f"[bold red]{name} on {db} did not complete: {why}[/]")
    return 1 if failures else 0


def _summary_line(r: dict) -> str:
    verdict = common.verdict(r["met"])
    if r["benchmark"] == "ingest":
        return (
            f"ingest   {r['db_version']:<18} API {r['http_rate']:8,.0f} tp/s  raw {r['raw_rate']:8,.0f} tp/s  "
            f"ratio {r['ratio']:.2f}x (target >= {r['target']}x) {verdict}"
        )
    if r["benchmark"] == "sentiment":
        plain, ours = r["results"][0], r["results"][-1]
        return (
            f"sentiment emails macro-F1 {ours['emails']['all']['macro_f1']:.3f} (plain VADER {plain['emails']['all']['macro_f1']:.3f}), "
            f"held-out half {ours['emails']['holdout']['macro_f1']:.3f} ({plain['emails']['holdout']['macro_f1']:.3f}); "
            f"UCI accuracy {ours['uci']['all']['accuracy']:.3f} ({plain['uci']['all']['accuracy']:.3f}) {verdict}"
        )
    if r["benchmark"] == "email":
        return (
            f"email    {r['db_version']:<18} first sync {r['messages']:,} msgs at {r['first_rate']:,.0f} msg/s (target >= {r['target_rate']}), "
            f"peak RSS growth {r['rss_growth_mb']:.0f} MB; re-sync with nothing new {r['resync_s'] * 1000:.0f} ms (target < 1 s) {verdict}"
        )
    if r["benchmark"] == "webhooks":
        return (
            f"webhooks {r['db_version']:<18} accepted {r['accept_rate']:,.0f}/s ({r['rate_ratio']:.2f}x trivial GET; target >= {r['target_accept_rate']}), "
            f"p99 {r['paced']['p99_ms']:.1f} ms at {r['offered_rate']:.0f}/s offered, {r['burst']['p99_ms']:.1f} ms back to back "
            f"(target < {r['target_p99_ms']} ms), server CPU {r['burst']['server_cpu_ms']:.2f} ms/callback {common.verdict(r['accept_met'])}; "
            f"drain {r['drain_rate']:,.0f} events/s (target >= {r['target_drain_rate']:,})"
            + (f", {len(r['problems'])} check(s) failed" if r["problems"] else ", result as sent") + f" {common.verdict(r['drain_met'])}"
        )
    if r["benchmark"] == "documents":
        rows = r["rows"]
        return (
            f"documents {r['db_version']:<17} widget p50 {rows['widget']['p50_ms']:.2f} / p99 {rows['widget']['p99_ms']:.2f} ms "
            f"({r['widget_vs_timeline']:.2f}x the timeline page), deep p99 {rows['widget deep']['p99_ms']:.2f} ms, "
            f"{r['index_gain']:.1f}x slower without the partial index; one view p50 {rows['one view']['p50_ms']:.1f} ms {verdict}"
        )
    if r["benchmark"] == "alerts":
        phases = {p["phase"]: p for p in r["phases"]}
        cold = r["phases"][0]
        return (
            f"alerts   {r['db_version']:<18} {r['dataset']['deals']:,} deals: steady-state scan worst {r['worst_steady_s'] * 1000:.0f} ms "
            f"(target < 1 s on PostgreSQL), nothing new {phases['nothing new (steady state)']['seconds'] * 1000:.0f} ms; "
            f"cold first scan {cold['seconds']:.1f} s ({cold['raised']:,} alerts); partial indexes used: {r['index_used']} {verdict}"
        )
    if r["benchmark"] == "lists":
        slowest = max(r["pages"].items(), key=lambda item: item[1]["p50_ms"])
        export = max(r["exports"].values(), key=lambda e: e["rows"])
        return (
            f"lists    {r['db_version']:<18} {r['dataset']['contacts']:,} contacts: slowest page p50 {slowest[1]['p50_ms']:.1f} ms ({slowest[0]}; target < {r['target_page_ms']:.0f} ms); "
            f"export {export['rows']:,} rows at {export['rate']:,.0f} rows/s, memory growth {max(e['growth_mb'] for e in r['exports'].values()):.1f} MB {verdict}"
        )
    if r["benchmark"] == "insights":
        worst = max(r["rows"], key=lambda row: row["ours"]["p95_ms"])
        lowest = min(r["rows"], key=lambda row: row["ratio"])
        rollup = r["dataset"]["rollup"]
        target = f"target < {r['target_ms']:.0f} ms" if r["db"] == "postgres" else "PostgreSQL target < 100 ms"
        return (
            f"insights {r['db_version']:<18} {r['dataset']['touchpoints']:,} touchpoints: slowest report p95 {worst['ours']['p95_ms']:.1f} ms ({worst['label']}; {target}); "
            f"lowest ratio to a DuckDB scan {lowest['ratio']:.1f}x ({lowest['label']}; target >= {r['target_ratio']:.0f}x); "
            f"same rows as DuckDB: {all(row['equal'] for row in r['rows'])}; rollup rebuild {rollup['seconds']:.0f} s, {rollup['cells']:,} cells {verdict}"
        )
    if r["benchmark"] == "scale":
        missed = [label for label, t in r["targets"].items() if not t["met"]]
        load = r["load"]
        return (
            f"scale    {r['db_version']:<18} {r['dataset']['touchpoints']:,} touchpoints: "
            + "; ".join(f"{label} {t['value']:.2f}" for label, t in r["targets"].items())
            + (f"; load {load['requests_per_second']:,.0f} req/s p99 {load['p99_ms']:.0f} ms" if load.get("ran") else "; load test did not run")
            + (f"; missed: {', '.join(missed)}" if missed else "")
            + f" {verdict}"
        )
    if r["benchmark"] == "imports":
        return (
            f"imports  {r['db_version']:<18} {r['rows']:,} rows ({r['file_mb']:.0f} MB): killed at {r['checkpoint_at_kill']:,} rows, resumed at {r['rate']:,.0f} rows/s; "
            f"every row once: {r['exact']}; peak memory {r['peak_mb']:.0f} MB (target < {r['target_mb']} MB) {verdict}"
        )
    if r["benchmark"] == "ui":
        w = r["worst"]
        over = [f"{p['user']} {p['name']} {p['p95_ms']:.0f} ms" for p in r["pages"] if not p["met"]]
        return (
            f"ui       {r['db_version']:<18} {len(r['pages'])} pages, p95 < {r['budget_ms']:.0f} ms each; slowest: {w['user']} {w['name']} "
            f"p95 {w['p95_ms']:.1f} ms ({w['ratio']:.2f}x)" + (f"; over: {', '.join(over)}" if over else "") + f" {verdict}"
        )
    parts = []
    for page in r["pages"]:
        parts.append(
            f"{page['name']}: p50 {page['http']['p50_ms']:.1f} ms ({page['p50_ratio']:.2f}x) "
            f"p99 {page['http']['p99_ms']:.1f} ms ({page['p99_ratio']:.2f}x), SQL p50 {page['sql']['p50_ms']:.2f} ms"
        )
    return f"timeline {r['db_version']:<18} trivial p50 {r['trivial']['p50_ms']:.1f} / p99 {r['trivial']['p99_ms']:.1f} ms; " + "; ".join(parts) + f" {verdict}"


if __name__ == "__main__":
    raise SystemExit(main())

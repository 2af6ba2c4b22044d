"""On-demand benchmarks (not part of the test suite).

    ./dev bench                      every benchmark, on SQLite and on PostgreSQL
    ./dev bench ingest --db sqlite   one benchmark, one database
    ./dev bench timeline --db postgres --rebuild

Each (benchmark, database) pair runs in its own child process
(``python -m bench.<name> --db <db>``) because Django reads the database
from the environment once, at import. Figures are printed as ratios of
things measured in the same run, since absolute numbers on a small shared
machine move from one run to the next. Method and recorded results:
docs/benchmarks.md.
"""

"""The crash-safety fault test (``./dev test --faults``, docs/reliability.md).

A real server and a real worker ingest touchpoints from concurrent clients
while a seeded chaos thread ``kill -9``s them; afterwards every promise the
API made is checked against the database: each acknowledged touchpoint is
stored exactly once, Last Contacted equals the maximum of each record's log,
and the background jobs' effects happened exactly once.
"""

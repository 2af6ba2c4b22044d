"""Import fixtures: Huey in-process and a writer of CSV files."""
from __future__ import annotations

import csv

import pytest


@pytest.fixture(autouse=True)
def _jobs_run_at_once(huey_in_process):
    """The worker's jobs run in the test's process (conftest.huey_in_process)."""


@pytest.fixture
def write_csv(tmp_path):
    def write(rows: list[list], name: str = "data.csv", delimiter: str = ",", bom: bool = False):
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as out:
            csv.writer(out, delimiter=delimiter).writerows(rows)
        return path

    return write

"""docs/fidelity.md names real tests and files, and its closing counts are the table's."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LEDGER = ROOT / "docs" / "fidelity.md"
EMULATOR = ROOT / "src" / "tapstack" / "emulator"


def _rows() -> list[list[str]]:
    rows = []
    for line in LEDGER.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0].isdigit():
            rows.append(cells)
    return rows


def test_every_row_says_yes_or_no_and_the_numbers_run_in_order() -> None:
    rows = _rows()
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    assert {r[2].split()[0] for r in rows} <= {"yes", "no"}


def test_every_test_the_ledger_names_exists() -> None:
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", LEDGER.read_text())
    assert len(named) > 40
    for path, test in named:
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {test}\(", source, re.MULTILINE), f"{path}::{test}"


def test_every_emulator_file_a_modelled_row_names_exists() -> None:
    for row in _rows():
        if row[2].startswith("yes"):
            files = re.findall(r"`(\w+\.py)`", row[3])
            assert files or "moto itself" in row[3], row
            for name in files:
                assert (EMULATOR / name).exists(), name


def test_the_closing_counts_are_the_tables() -> None:
    rows = _rows()
    modelled = sum(1 for r in rows if r[2].startswith("yes"))
    counts = f"{len(rows)} behaviours: {modelled} modelled, {len(rows) - modelled} not modelled."
    assert counts in LEDGER.read_text()

"""Record, or compare, every default scenario's headline values: proof a change moved no number.

Runs ``shopcast batch --force`` into a fresh reports folder (so no cached fit is reused) and reads
each scenario's ``run.json`` headline values.

    .venv/bin/python bench/headlines.py --write bench/results/headlines.json   # before a change
    .venv/bin/python bench/headlines.py --compare bench/results/headlines.json # after it

Scenario files given after the options limit the run to them (``--compare`` then checks only
those scenarios), e.g. ``params/seller_thresholds/*.yaml`` before a change to the seller model.

``--compare`` prints every value that differs (to the last digit) and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def collect(reports: Path) -> dict[str, dict[str, object]]:
    """Headline values of the latest run of every scenario under ``reports``."""
    out: dict[str, dict[str, object]] = {}
    for latest in sorted(reports.glob("*/*/latest")):
        record = json.loads((latest / "run.json").read_text())
        key = f"{record['notebook']}/{record['scenario']}"
        out[key] = {name: item["value"] for name, item in sorted(record["headline"].items())}
    return out


def run_batch(scenarios: list[str]) -> dict[str, dict[str, object]]:
    """Run the scenarios (default: all) into a temporary reports folder; collect their headlines."""
    shopcast = Path(sys.executable).parent / "shopcast"
    with tempfile.TemporaryDirectory(prefix="shopcast-headlines-") as tmp:
        env = {**os.environ, "SHOPCAST_REPORTS_DIR": tmp}
        done = subprocess.run(
            [str(shopcast), "-q", "batch", "--force", *scenarios], env=env, check=False
        )
        if done.returncode != 0:
            sys.exit(f"the batch failed with exit {done.returncode}; see {tmp}/logs")
        return collect(Path(tmp))


def differences(before: dict, after: dict) -> list[str]:
    """Every scenario or value that is not identical between two collections."""
    lines = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            lines.append(f"{key}: only {'after' if a is None else 'before'}")
            continue
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                lines.append(f"{key} {name}: {a.get(name)!r} -> {b.get(name)!r}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="record the headlines into this JSON file")
    group.add_argument("--compare", type=Path, help="compare the headlines with this JSON file")
    parser.add_argument("scenarios", nargs="*", help="scenario files (default: every default one)")
    args = parser.parse_args()
    now = run_batch(args.scenarios)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        count = sum(len(v) for v in now.values())
        print(f"recorded {count} headline values of {len(now)} scenarios in {args.write}")
        return 0
    before = json.loads(args.compare.read_text())
    if args.scenarios:
        before = {key: value for key, value in before.items() if key in now}
    diff = differences(before, now)
    count = sum(len(v) for v in now.values())
    for line in diff:
        print(line)
    print(f"{count} headline values of {len(now)} scenarios: {len(diff)} differ")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())

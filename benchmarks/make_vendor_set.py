"""Writes the labelled vendor set ``benchmarks/data/vendor_pairs.csv`` (ServiceTitan side, with the
right NAV vendor or none) and ``benchmarks/data/nav_vendors.csv`` (the NAV vendor list) from a fixed
seed. The variations are the ones real vendor lists show between a field-service system and the books:
legal suffix added, dropped or changed; ``&`` for ``and``; abbreviations; punctuation and initials;
typos; branches of one chain (same name, another city, another phone); vendors that exist only on the
ServiceTitan side; phone and address present on one side, both, or neither.

Run once (the CSVs are committed): .venv/bin/python benchmarks/make_vendor_set.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 20261130
OUT = Path(__file__).parent / "data"

BASES = [
    "Ferguson Enterprises", "Johnstone Supply", "W.W. Grainger", "Winsupply", "Hajoca Corporation",
    "R.E. Michel Company", "Watsco", "Carrier Enterprise", "Lennox Stores", "Trane Supply", "Goodman Distribution",
    "Daikin Comfort Technologies", "Rheem Manufacturing", "A.O. Smith", "Bradford White", "Rinnai America",
    "Navien", "Mitsubishi Electric Trane", "Emerson Climate", "Copeland", "Honeywell Home", "Resideo Technologies",
    "Uponor North America", "Viega", "Mueller Industries", "Nibco", "Charlotte Pipe and Foundry", "Zurn Elkay",
    "Moen", "Kohler", "Delta Faucet", "Sloan Valve", "Watts Water Technologies", "Apollo Valves",
    "Graybar Electric", "CED Consolidated Electrical Distributors", "Rexel USA", "Wesco Distribution",
    "Crescent Electric Supply", "Mayer Electric Supply", "Border States Electric", "Platt Electric Supply",
    "Home Depot Pro", "Lowe's Pro Supply", "Fastenal", "MSC Industrial Supply", "Grainger Industrial",
    "Sunbelt Rentals", "United Rentals", "Herc Rentals", "Smith & Sons Plumbing", "Jones Brothers Mechanical",
    "Miller Sheet Metal", "Anderson Air Conditioning", "Baker Heating and Cooling", "Carter Pipe and Supply",
    "Davis Refrigeration Service", "Evans Electric", "Foster Duct Works", "Garcia Insulation",
    "Harris Water Heaters", "Iverson Controls", "Jackson Backflow Testing", "Klein Tools", "Lopez Excavating",
    "Martin Crane Service", "Nelson Welding", "Ortiz Concrete", "Parker Hannifin", "Quality Filters",
    "Rodriguez Roofing", "Stevens Scaffolding", "Thompson Trucking", "United Refrigeration", "Valley Sheet Metal",
    "Western Pipe Supply", "Young Electric Motors", "Zimmerman Hardware", "Allied Air Enterprises",
    "Blue Ridge Mechanical Services", "Capital Equipment Distribution", "Dixie Plumbing Supply",
    "Eastern Industrial Products", "First Choice Heating", "Gulf Coast Refrigeration", "Heartland Metals",
    "Integrity Mechanical", "Keystone Manufacturing", "Liberty Pumps", "Midwest Air Technologies",
    "National Service Alliance", "Northern Tool and Equipment", "Pacific Coast Supply", "Precision Ductwork",
    "Reliable Controls", "Southern States Distribution", "Summit Industries", "Tri-State Wholesale",
    "Universal Hardware", "Victory Refrigeration", "Atlantic Plumbing and Heating", "Coastal Electric",
]
LEGAL = ["", " Inc", " Inc.", ", Inc.", " LLC", " L.L.C.", " Co", " Co.", " Company", " Corp", " Corp.",
         " Corporation", " Ltd"]
ABBREV = [("Brothers", "Bros"), ("Manufacturing", "Mfg"), ("Supply", "Sply"), ("Electric", "Elec"),
          ("Distribution", "Dist"), ("Mechanical", "Mech"), ("Services", "Svcs"), ("Service", "Svc"),
          ("Heating", "Htg"), ("Plumbing", "Plbg"), ("Equipment", "Equip"), ("Industries", "Inds"),
          ("Enterprises", "Ent"), ("Technologies", "Tech"), ("Company", "Co"), ("Hardware", "Hdwe"),
          ("North", "N"), ("Air Conditioning", "A/C")]
CITIES = ["Dallas", "Houston", "Austin", "Phoenix", "Denver", "Tulsa", "Omaha", "Reno"]
STREETS = ["Main St", "Industrial Blvd", "Commerce Dr", "Harbor Way", "Oak Ave", "Parkway Dr"]


def typo(rng: random.Random, text: str) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    i = rng.choice(letters[2:] or letters)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap" and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == "drop":
        return text[:i] + text[i + 1:]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice("aeiourstnl") + text[i + 1:]


def vary(rng: random.Random, name: str) -> tuple[str, str]:
    """One or two realistic differences between the two systems' spelling of one vendor."""
    done = []
    for _ in range(rng.choice([1, 1, 2])):
        what = rng.choice(["legal", "legal", "amp", "abbrev", "punct", "typo", "case"])
        if what == "legal":
            stem = name
            for form in sorted(LEGAL, key=len, reverse=True):
                if form and stem.endswith(form):
                    stem = stem[: -len(form)]
                    break
            name = stem + rng.choice(LEGAL)
        elif what == "amp" and (" and " in name or " & " in name):
            name = name.replace(" and ", " & ") if " and " in name else name.replace(" & ", " and ")
        elif what == "abbrev":
            options = [(a, b) for a, b in ABBREV if a in name or b in name.split()]
            if not options:
                continue
            a, b = rng.choice(options)
            name = name.replace(a, b) if a in name else name.replace(b, a)
        elif what == "punct":
            name = name.replace(".", "") if "." in name else name.replace(" ", " - ", 1) if rng.random() < 0.3 \
                else name.replace("-", " ") if "-" in name else name + ","
        elif what == "typo":
            name = typo(rng, name)
        elif what == "case":
            name = name.upper() if rng.random() < 0.5 else name.lower()
        else:
            continue
        done.append(what)
    return name.strip(" ,"), "+".join(done) or "none"


def phone(rng: random.Random) -> str:
    return f"{rng.randint(200, 989)}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"


def fmt_phone(rng: random.Random, digits: str) -> str:
    return rng.choice([f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
                       f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}", digits])


def main() -> None:
    rng = random.Random(SEED)
    nav_rows, st_rows = [], []
    next_nav = 10000
    for index, base in enumerate(BASES):
        # a chain has branches: the same base name in up to three cities, each its own vendor
        branches = 1 if rng.random() < 0.7 else rng.randint(2, 3)
        for city in rng.sample(CITIES, branches):
            name = base if branches == 1 else f"{base} {city}"
            facts = {"phone": phone(rng), "zip": f"{rng.randint(10000, 99999)}",
                     "street": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}"}
            in_nav = rng.random() > 0.15  # some vendors exist only in ServiceTitan
            nav_key = ""
            if in_nav:
                nav_key = f"V{next_nav}"
                next_nav += 10
                nav_name = name + rng.choice(LEGAL)
                nav_rows.append({"key": nav_key, "name": nav_name,
                                 "phone": fmt_phone(rng, facts["phone"]) if rng.random() < 0.7 else "",
                                 "postal_code": facts["zip"] if rng.random() < 0.7 else "",
                                 "street": facts["street"] if rng.random() < 0.7 else ""})
            st_name, variation = vary(rng, name)
            st_rows.append({"st_id": 5000 + len(st_rows), "st_name": st_name,
                            "phone": fmt_phone(rng, facts["phone"]) if rng.random() < 0.6 else "",
                            "postal_code": facts["zip"] if rng.random() < 0.6 else "",
                            "street": facts["street"] if rng.random() < 0.6 else "",
                            "expected": nav_key, "variation": variation if in_nav else "missing in NAV"})
        if index % 4 == 0:  # a NAV vendor with no ServiceTitan counterpart and a near name (a trap)
            trap = base.split()[0] + rng.choice([" Electric", " Rentals", " Logistics", " Services Group"])
            nav_rows.append({"key": f"V{next_nav}", "name": trap, "phone": phone(rng), "postal_code": "",
                             "street": ""})
            next_nav += 10
    OUT.mkdir(exist_ok=True)
    for path, rows in ((OUT / "nav_vendors.csv", nav_rows), (OUT / "vendor_pairs.csv", st_rows)):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {path} ({len(rows)} rows)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write assets/holidays/YYYY.json, China's official holiday arrangement, one file per year.

The State Council announces each year which days are public holidays (放假) and which weekend
days are make-up working days (调休上班). The PyPI package `chinese-calendar` carries that
announcement as data; this script only reshapes it into our asset format:

    {"year": 2025,
     "holidays": [{"date": "2025-01-01", "name": "元旦"}, ...],
     "workdays": [{"date": "2025-01-26", "name": "春节调休"}, ...]}

`holidays` are the rest days of each holiday run, including those that fall on a weekend;
`workdays` are weekend days declared working days. Years from 2020 through the last year the
package knows are written. After a new year appears, add its file to the `BUNDLED` list in
crates/xinfang-core/src/calendar.rs (a test fails until you do).

Run from the repository root:

    python3 -m venv /tmp/holidays-venv
    /tmp/holidays-venv/bin/pip install --upgrade chinese-calendar
    /tmp/holidays-venv/bin/python scripts/gen-holidays.py

Options: --out DIR (default assets/holidays), --first-year YEAR (default 2020).
"""

import argparse
import datetime
import json
import pathlib
import sys

try:
    from chinese_calendar.constants import Holiday, holidays, workdays
except ImportError:
    sys.exit("chinese-calendar is not installed; see the docstring of this script for how to run it")

# Our names, keyed by the package's English enum values. Official short names as used in the
# State Council notices (e.g. 清明节, not the package's 清明).
NAMES = {
    Holiday.new_years_day.value: "元旦",
    Holiday.spring_festival.value: "春节",
    Holiday.tomb_sweeping_day.value: "清明节",
    Holiday.labour_day.value: "劳动节",
    Holiday.dragon_boat_festival.value: "端午节",
    Holiday.national_day.value: "国庆节",
    Holiday.mid_autumn_festival.value: "中秋节",
    Holiday.anti_fascist_70th_day.value: "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def name_of(english: str) -> str:
    try:
        return NAMES[english]
    except KeyError:
        # A new kind of holiday: stop rather than write an English name into the asset.
        sys.exit(f"unknown holiday {english!r} in chinese-calendar; add it to NAMES")


def year_file(year: int) -> dict:
    rest = sorted((d, v) for d, v in holidays.items() if d.year == year)
    work = sorted((d, v) for d, v in workdays.items() if d.year == year)
    for d, _ in work:
        # A make-up working day only makes sense on a weekend; anything else is bad data.
        if d.weekday() < 5:
            sys.exit(f"{d} is listed as a make-up working day but is a weekday")
    clash = {d for d, _ in rest} & {d for d, _ in work}
    if clash:
        sys.exit(f"dates listed both as holiday and as working day: {sorted(clash)}")
    if not rest:
        sys.exit(f"no holidays known for {year}")
    return {
        "year": year,
        "holidays": [{"date": d.isoformat(), "name": name_of(v)} for d, v in rest],
        "workdays": [{"date": d.isoformat(), "name": name_of(v) + "调休"} for d, v in work],
    }


def dump(obj: dict) -> str:
    # One day per line keeps diffs readable when a year is re-announced.
    lines = ["{", f'  "year": {obj["year"]},']
    for key in ("holidays", "workdays"):
        days = obj[key]
        lines.append(f'  "{key}": [')
        for i, day in enumerate(days):
            comma = "," if i + 1 < len(days) else ""
            lines.append("    " + json.dumps(day, ensure_ascii=False, separators=(", ", ": ")) + comma)
        lines.append("  ]," if key == "holidays" else "  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="assets/holidays", type=pathlib.Path)
    parser.add_argument("--first-year", default=2020, type=int)
    args = parser.parse_args()

    last_year = max(d.year for d in holidays)
    args.out.mkdir(parents=True, exist_ok=True)
    for year in range(args.first_year, last_year + 1):
        path = args.out / f"{year}.json"
        path.write_text(dump(year_file(year)), encoding="utf-8")
        print(f"wrote {path}")
    today = datetime.date.today()
    if last_year < today.year:
        print(f"warning: chinese-calendar knows only up to {last_year}; upgrade it", file=sys.stderr)


if __name__ == "__main__":
    main()

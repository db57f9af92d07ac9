"""Validation at scale and against hostile files (issue #12, item 5).

1. Writes a clean episodes table of ``--rows`` rows (default 1,000,000: 250,000 people with
   four consecutive episodes each, every optional column filled, municipalities given as codes
   and names of several vintages) in a child process, so that its memory does not count here.
2. Times ``validate_dataset`` on it in this process (reading the CSV, every check, the typed
   frames) and reports the peak resident memory of the process (``resource.getrusage``), and,
   with ``--profile``, the functions that took longest.
3. Builds an XLSX decompression bomb (a sheet whose XML expands to ``--bomb-mb`` MB, default
   387 as in the issue, compressed to a few MB) and times ``validate_dataset`` refusing it.

Targets: 1 million rows in <= 5 s and <= 1 GB peak; the bomb refused in <= 2 s.

With ``--events``, an events table of three events per person (a contract switch, then a hospital
year: 750,000 events) is validated too (no target in the issue; reported for the record).

Run: ``.venv/bin/python benchmarks/validate_benchmark.py [--rows 1000000] [--bomb-mb 387] [--events] [--profile]``
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

TARGET_SECONDS = 5.0
TARGET_PEAK_GB = 1.0
TARGET_BOMB_SECONDS = 2.0

_CHILD_WRITE = r'''
import sys
import numpy as np
import pandas as pd
rows, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(2019)
people = rows // 4
municipalities = np.array(["1804", "Bodø", "5501", "1902", "Tromsø", "5601", "Alta", "1820", "Alstahaug",
                           "5403", "Hammerfest", "1833", "Rana", "1806", "Narvik", "5605", "Sør-Varanger"])
start = np.datetime64("2005-01-01") + rng.integers(0, 3000, people).astype("timedelta64[D]")
lengths = rng.integers(30, 900, (people, 4)).astype("timedelta64[D]")
starts = np.empty((people, 4), dtype="datetime64[D]")
ends = np.empty((people, 4), dtype="datetime64[D]")
current = start
for k in range(4):
    starts[:, k] = current
    ends[:, k] = current + lengths[:, k]
    current = ends[:, k]
end_text = ends.ravel().astype(str).astype(object)
last = np.zeros((people, 4), dtype=bool); last[:, 3] = rng.random(people) < 0.5
end_text[last.ravel()] = ""
reasons = np.array(["other_gp_same_region", "left_region", "other_municipal", "unknown"], dtype=object)
end_reason = reasons[rng.integers(0, 4, rows)]
end_reason[last.ravel()] = ""
frame = pd.DataFrame({
    "person_id": np.repeat(np.char.add("P", np.arange(people).astype(str)), 4)[:rows],
    "municipality": municipalities[rng.integers(0, len(municipalities), rows)],
    "contract_type": np.array(["fastlønn", "næring", "f", "n"])[rng.integers(0, 4, rows)],
    "start_date": starts.ravel().astype(str),
    "end_date": end_text,
    "end_reason": end_reason,
    "programme": np.array(["ALIS-Nord", "ALIS-Vest", ""])[rng.integers(0, 3, rows)],
    "sex": np.repeat(np.array(["K", "M"])[rng.integers(0, 2, people)], 4),
    "birth_year": np.repeat(rng.integers(1960, 1995, people), 4).astype(str),
    "scheme": np.array(["old", "new"])[rng.integers(0, 2, rows)],
    "list_size": rng.integers(300, 1500, rows).astype(str),
})
frame.to_csv(out, index=False)
if len(sys.argv) > 3:  # events: in each person's second episode a switch, then a hospital year
    second = frame.iloc[1::4]
    start = pd.to_datetime(second["start_date"])
    new_type = second["contract_type"].map({"fastlønn": "næring", "f": "næring", "næring": "fastlønn", "n": "fastlønn"})
    events = pd.DataFrame({
        "person_id": np.concatenate([second["person_id"]] * 3),
        "date": np.concatenate([(start + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d") for days in (5, 10, 20)]),
        "event": ["contract_switch"] * len(second) + ["hospital_year_start"] * len(second)
                 + ["hospital_year_end"] * len(second),
        "new_contract_type": list(new_type) + [""] * (2 * len(second)),
    })
    events.to_csv(sys.argv[3], index=False)
'''


def write_episodes(rows: int, folder: Path, *, events: bool = False) -> Path:
    """Write the episodes table (and, with ``events``, 3 events per person: 0.75 per episode row)."""
    folder.mkdir(parents=True, exist_ok=True)
    extra = [str(folder / "events.csv")] if events else []
    subprocess.run([sys.executable, "-c", _CHILD_WRITE, str(rows), str(folder / "episodes.csv"), *extra], check=True)
    return folder / "episodes.csv"


def write_xlsx_bomb(path: Path, expanded_mb: int) -> None:
    """A workbook whose sheet XML expands to ``expanded_mb`` MB of rows of one repeated cell."""
    header = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    row = '<row><c t="inlineStr"><is><t>x</t></is></c><c t="inlineStr"><is><t>x</t></is></c></row>'
    chunk = (row * 10_000).encode()
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                               'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
                               'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
                               '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
                               'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
                               '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                               'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                       'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                       'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
                           'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                           'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                                      'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
                                      '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"'
                                      ' Target="worksheets/sheet1.xml"/></Relationships>',
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(header.encode())
            for _ in range(max(1, expanded_mb * 2**20 // len(chunk))):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bomb-mb", type=int, default=387)
    parser.add_argument("--profile", action="store_true", help="print the slowest functions of the validation (CPU)")
    parser.add_argument("--events", action="store_true",
                        help="add an events table of 3 events per person (750,000 for a million episode rows)")
    args = parser.parse_args()

    from alis_research.data.validate import validate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big"
        path = write_episodes(args.rows, folder, events=args.events)
        size_mb = path.stat().st_size / 2**20
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        started, cpu_started = time.perf_counter(), time.process_time()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
            problems, data = profiler.runcall(validate_dataset, folder)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        else:
            problems, data = validate_dataset(folder)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        assert not problems and data is not None and len(data.episodes) == args.rows, problems[:5]
        load = os.getloadavg()[0]
        with_events = f" and {len(data.events):,} events" if args.events else ""
        print(f"{args.rows:,} episode rows{with_events} ({size_mb:.0f} MB CSV): validated in {seconds:.2f} s "
              f"(CPU {cpu:.2f} s; target <= {TARGET_SECONDS:g} s), peak memory {peak_gb:.2f} GB "
              f"(before: {rss_before:.2f} GB; target <= {TARGET_PEAK_GB:g} GB); load average {load:.1f} "
              f"on {os.cpu_count()} cores")
        del data

        bomb_folder = Path(tmp) / "bomb"
        bomb_folder.mkdir()
        write_xlsx_bomb(bomb_folder / "episodes.xlsx", args.bomb_mb)
        bomb_mb = (bomb_folder / "episodes.xlsx").stat().st_size / 2**20
        started = time.perf_counter()
        problems, _ = validate_dataset(bomb_folder)
        bomb_seconds = time.perf_counter() - started
        print(f"XLSX bomb ({bomb_mb:.1f} MB expanding to {args.bomb_mb} MB) refused in {bomb_seconds:.3f} s "
              f"(target <= {TARGET_BOMB_SECONDS:g} s): {problems[0]}")
    ok = seconds <= TARGET_SECONDS and peak_gb <= TARGET_PEAK_GB and bomb_seconds <= TARGET_BOMB_SECONDS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

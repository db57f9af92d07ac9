"""Generator of tests/reference/data/handmade: a 30-episode prepared dataset built by hand (run once; the CSVs are the artefact)."""
import os
import pandas as pd, numpy as np
AS_OF = pd.Timestamp("2024-12-31")
Y = 365.25
units = {  # unit: (municipality_code, area, size_class, population)
    "Hammerfest": ("5603", "Finnmark", "10000-49999", 11_400),
    "Karasjok": ("5610", "Finnmark", "2000-4999", 2_600),
    "Harstad": ("5503", "UNN", "10000-49999", 24_800),
    "Bardu": ("5520", "UNN", "2000-4999", 4_000),
    "Bodø": ("1804", "Nordland", ">=50000", 52_800),
    "Beiarn": ("1839", "Nordland", "<2000", 1_000),
    "Rana": ("1833", "Helgeland", "10000-49999", 26_300),
    "Sømna": ("1812", "Helgeland", "<2000", 2_000),
}
# (person, unit, cohort, days, exit, start (exits only), end_reason, switches [(day, new_type)])
rows = [
 ("P01","Karasjok","fastlønn",200,1,"2019-09-01","left_region",[]),
 ("P02","Bardu","fastlønn",365,1,"2019-08-15","other_gp_same_region",[]),
 ("P03","Beiarn","fastlønn",365,1,"2020-01-06","left_region",[]),
 ("P04","Sømna","fastlønn",500,1,"2019-10-01","hospital",[]),
 ("P05","Hammerfest","fastlønn",700,1,"2019-08-01","other_gp_same_region",[]),
 ("P06","Karasjok","fastlønn",800,1,"2020-04-01","left_region",[]),
 ("P07","Bardu","fastlønn",800,1,"2020-09-01","other",[]),
 ("P08","Sømna","fastlønn",1000,1,"2021-03-01","left_region",[]),
 ("P09","Beiarn","fastlønn",1100,0,None,None,[]),
 ("P10","Hammerfest","fastlønn",1300,1,"2020-09-01","other_gp_same_region",[]),
 ("P11","Karasjok","fastlønn",1500,0,None,None,[]),
 ("P12","Sømna","fastlønn",1700,1,"2019-11-01","retired",[(900,"næring")]),
 ("P13","Bardu","fastlønn",1950,0,None,None,[]),
 ("P14","Beiarn","fastlønn",2000,0,None,None,[]),
 ("P15","Bardu","fastlønn",2050,1,"2019-03-01","left_region",[]),
 ("P16","Sømna","fastlønn",2100,0,None,None,[]),
 ("P17","Harstad","næring",150,1,"2019-09-01","left_region",[]),
 ("P18","Bodø","næring",300,1,"2019-08-01","other_gp_same_region",[]),
 ("P19","Rana","næring",300,0,None,None,[]),
 ("P20","Harstad","næring",420,1,"2020-03-01","left_region",[]),
 ("P21","Rana","næring",420,1,"2019-10-15","other_municipal",[]),
 ("P22","Hammerfest","næring",600,1,"2019-09-01","left_region",[]),
 ("P23","Bodø","næring",730,0,None,None,[]),
 ("P24","Harstad","næring",900,1,"2020-11-01","other_gp_same_region",[]),
 ("P25","Rana","næring",1200,0,None,None,[]),
 ("P26","Bodø","næring",1250,1,"2019-12-01","left_region",[(400,"fastlønn")]),
 ("P27","Hammerfest","næring",1460,1,"2020-06-01","unknown",[]),
 ("P28","Harstad","næring",1600,0,None,None,[]),
 ("P29","Rana","næring",1800,0,None,None,[(600,"fastlønn"),(1200,"næring")]),
 ("P05","Bodø","næring",1270,0,None,None,[]),
]
eps, ivs = [], []
rows = sorted(rows, key=lambda r: (r[0], r[5] or str((AS_OF - pd.Timedelta(days=r[3])).date())))
for i, (pid, unit, cohort, days, ex, start, reason, sw) in enumerate(rows, 1):
    code, area, size, pop = units[unit]
    start = pd.Timestamp(start) if start else AS_OF - pd.Timedelta(days=days)
    stop = start + pd.Timedelta(days=days)
    assert stop <= AS_OF, (pid, stop)
    eid = f"E{i:03d}"
    eps.append(dict(episode_id=eid, person_id=pid, programme="ALIS-Nord", municipality_code=code,
        municipality_name=unit, unit=unit, area=area, population=pop, size_class=size, cohort=cohort,
        start_date=start.date(), end_date=stop.date() if ex else None, stop_date=stop.date(), exit=ex,
        end_reason=reason, duration=days / Y, start_year=start.year, n_switches=len(sw)))
    cuts = [0] + [d for d, _ in sw] + [days]
    types = [cohort] + [t for _, t in sw]
    for j, ct in enumerate(types):
        last = j == len(types) - 1
        ivs.append(dict(episode_id=eid, person_id=pid, municipality_code=code, unit=unit, area=area,
            cohort=cohort, contract_type=ct, start=cuts[j] / Y, stop=cuts[j + 1] / Y,
            start_date=(start + pd.Timedelta(days=cuts[j])).date(),
            stop_date=(start + pd.Timedelta(days=cuts[j + 1])).date(),
            exit=ex if last else 0, size_class=size, population=pop,
            end_reason=reason if (last and ex) else None))
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "handmade")
os.makedirs(out, exist_ok=True)
pd.DataFrame(eps).to_csv(f"{out}/episodes.csv", index=False, float_format="%.17g")
pd.DataFrame(ivs).to_csv(f"{out}/intervals.csv", index=False, float_format="%.17g")
print(pd.DataFrame(eps)[["episode_id","person_id","cohort","start_date","stop_date","exit","duration"]])

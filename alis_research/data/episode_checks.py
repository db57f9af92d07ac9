"""The checks of ``episodes.csv``: every cell, municipality codes and overlapping episodes."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import DEFAULT_PROGRAMME, END_REASONS
from ..errors import AlisError
from .contract import (
    BIRTH_YEAR_RANGE,
    EPISODE_NONEMPTY,
    EPISODE_OPTIONAL_COLUMNS,
    EPISODE_REQUIRED_COLUMNS,
    KNOWN_PROGRAMMES,
    MAX_PROBLEMS_PER_KIND,
    SCHEME_SYNONYMS,
    SEX_SYNONYMS,
    canonical_contract_type,
    canonical_end_reason,
    normalise_word,
)
from .raw_table import (
    Table,
    check_columns,
    check_duplicates,
    check_identity_numbers,
    check_nonempty,
    map_values,
    parse_dates,
    parse_integers,
)

def _resolve_municipalities(table: Table) -> tuple[pd.Series, pd.Series]:
    """2024 code and name per row through the reference tables; flag unknown ones."""
    from ..reference import resolve_municipality  # the reference tables load on first use

    index = table.cells.index
    if not table.has("municipality"):
        return pd.Series(pd.NA, index=index, dtype=object), pd.Series(pd.NA, index=index, dtype=object)
    def resolve(text: str):
        try:
            match = resolve_municipality(text)
        except AlisError as exc:
            return str(exc)
        return match.code_2024, match.name

    resolved, coded = table.per_value("municipality", resolve)
    failed = np.array([isinstance(result, str) for result in resolved], dtype=bool)
    code = np.array([result[0] if isinstance(result, tuple) else pd.NA for result in resolved] + [None],
                    dtype=object)[:-1]
    name = np.array([result[1] if isinstance(result, tuple) else pd.NA for result in resolved] + [None],
                    dtype=object)[:-1]
    if failed.any():
        rows = table.cells.index[failed[coded.codes]]
        row_codes = pd.Series(coded.codes, index=table.cells.index)
        table.add_capped(rows, "municipality", "municipalities not recognised",
                         lambda row: (coded.values[row_codes[row]], resolved[row_codes[row]]))
    return table.series(code[coded.codes], object), table.series(name[coded.codes], object)


# --------------------------------------------------------------------------- episodes
def check_episodes(table: Table, as_of: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.Series]:
    """Check the episodes table; return the parsed frame and a mask of rows fit for cross-row checks."""
    check_columns(table, EPISODE_REQUIRED_COLUMNS, EPISODE_OPTIONAL_COLUMNS)
    check_identity_numbers(table)
    check_nonempty(table, EPISODE_NONEMPTY)
    cells = table.cells
    index = cells.index
    code, name = _resolve_municipalities(table)
    contract = map_values(table, "contract_type", canonical_contract_type,
                           "unknown contract type (expected fastlønn or næring, or a synonym such as "
                           "f, n, fastlonn, naering, privat, selvstendig næringsdrivende)")
    start = parse_dates(table, "start_date")
    end = parse_dates(table, "end_date")
    end_reason = map_values(table, "end_reason", canonical_end_reason,
                             f"unknown end reason (expected one of {', '.join(END_REASONS)})")
    sex = map_values(table, "sex", lambda t: SEX_SYNONYMS.get(t.lower()), "not a valid sex (expected K or M)")
    scheme = map_values(table, "scheme", lambda t: SCHEME_SYNONYMS.get(normalise_word(t).replace(" ", "_")),
                         "not a valid scheme (expected old or new specialist rules)")
    birth_year = parse_integers(table, "birth_year", low=BIRTH_YEAR_RANGE[0], high=BIRTH_YEAR_RANGE[1],
                                 expected=f"a plausible birth year (expected a whole year "
                                          f"{BIRTH_YEAR_RANGE[0]}–{BIRTH_YEAR_RANGE[1]})")
    list_size = parse_integers(table, "list_size", low=0, high=None,
                                expected="a non-negative whole number of patients")
    if table.has("programme"):
        spelled, coded = table.per_value("programme",
                                         lambda t: KNOWN_PROGRAMMES.get(normalise_word(t).replace(" ", "-"), t))
        spelled = np.where(coded.values == "", DEFAULT_PROGRAMME, spelled).astype(object)
        programme = table.series(spelled[coded.codes], object)
    else:
        programme = pd.Series(DEFAULT_PROGRAMME, index=index, dtype=object)

    end_before_start = end.notna() & start.notna() & (end <= start)
    same_day = end_before_start & (end == start)
    table.flag(same_day, "end_date", "end_date is the same day as start_date (expected a date after "
                                     "start_date; an episode of zero length cannot be analysed)")
    table.flag(end_before_start & ~same_day, "end_date", "end_date is before start_date "
                                                         "(expected a date after start_date)")
    if table.has("end_reason") and table.has("end_date"):
        table.flag(~table.filled("end_date") & table.filled("end_reason"), "end_reason",
                   "end_reason given for an ongoing episode (end_date is empty); fill in end_date or "
                   "clear end_reason")
        if as_of is not None:
            ended = end.notna() & (end <= as_of)
            table.flag(ended & ~table.filled("end_reason"), "end_reason",
                       f"empty end_reason for an episode that ended on or before the as-of date "
                       f"{as_of.date().isoformat()} (expected one of {', '.join(END_REASONS)})")

    duplicated = check_duplicates(table)
    parsed = pd.DataFrame({
        "source_row": pd.Series(index, index=index, dtype="int64"),
        "person_id": cells["person_id"] if table.has("person_id") else pd.Series("", index=index),
        "municipality_code": code,
        "municipality_name": name,
        "contract_type": contract,
        "start_date": start,
        "end_date": end,
        "end_reason": end_reason,
        "programme": programme,
        "sex": sex,
        "birth_year": birth_year,
        "list_size": list_size,
        "scheme": scheme,
    }, index=index, copy=False)  # no copy into one block: a million rows make that a costly step
    # rows whose person and dates are sound take part in the overlap and event checks
    usable = table.filled("person_id") & start.notna() & ~duplicated & ~end_before_start
    if table.has("end_date"):
        usable &= ~table.filled("end_date") | end.notna()
    if usable.any():
        person_codes = table.coded("person_id").codes[usable.to_numpy()]
        _check_overlaps(table, parsed.loc[usable, ["source_row", "person_id", "start_date", "end_date"]], person_codes)
    table.finish()
    return parsed, usable


def _check_overlaps(table: Table, episodes: pd.DataFrame, person_codes: np.ndarray) -> None:
    """Flag an episode starting before an earlier episode of the same person has ended.

    Episodes that touch (one ends the day the next starts) do not overlap; an
    ongoing episode (empty end_date) runs for ever.
    """
    if episodes.empty:
        return
    # sorted by the person's code (not the text: integers sort many times faster), start, row
    order = np.lexsort((episodes["source_row"].to_numpy(), episodes["start_date"].to_numpy().view(np.int64),
                        person_codes))
    ordered = episodes[["person_id", "start_date", "end_date"]].iloc[order]
    person = person_codes[order]
    open_end = ordered["end_date"].fillna(pd.Timestamp.max.normalize())
    running_end = open_end.groupby(person, sort=False).cummax()
    previous_end = running_end.groupby(person, sort=False).shift(1)
    overlapping = ordered["start_date"] < previous_end
    if not overlapping.any():
        return
    # name the earlier episode: walk only the people concerned, in start order
    concerned = ordered["person_id"].isin(set(ordered.loc[overlapping, "person_id"]))
    earlier_episodes: dict[str, list[tuple[pd.Timestamp, int]]] = {}
    total, listed = int(overlapping.sum()), 0
    for row, person, start, end, flagged in zip(ordered.index[concerned], ordered.loc[concerned, "person_id"],
                                                ordered.loc[concerned, "start_date"], open_end[concerned],
                                                overlapping[concerned]):
        if listed == MAX_PROBLEMS_PER_KIND:
            # the rest are counted, not walked (one person with a million overlapping rows would be quadratic)
            table.count_more("start_date", "overlapping episode(s)", total - listed)
            break
        seen = earlier_episodes.setdefault(person, [])
        if flagged:
            earlier_row = next(source for other_end, source in seen if other_end > start)
            table.add(row, "start_date", table.cells.at[row, "start_date"],
                      f"episode of person {table.person_label(row)} overlaps the episode in row {earlier_row} "
                      "(expected one position at a time: a start_date on or after the earlier end_date)",
                      kind="overlapping episode(s)")
            listed += 1
        seen.append((end, row))

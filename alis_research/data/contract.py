"""The raw-data contract: table and column names, the problem and result types, value parsers.

What :func:`alis_research.data.validate.validate_dataset` checks against: the columns of
``episodes`` and ``events``, the canonical words and their synonyms, the date and number
formats, and the identity-number helpers. The rules and the decisions behind them are
written up in ``docs/data_dictionary.md``.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..identity import NATIONAL_ID_MASK, is_national_id, mask_national_ids
from ..config import END_REASONS, EVENT_TYPES

# --------------------------------------------------------------------------- the contract
EPISODES = "episodes"
EVENTS = "events"
#: Columns every episodes table must have (``end_date``/``end_reason`` cells may be empty).
EPISODE_REQUIRED_COLUMNS = ("person_id", "municipality", "contract_type", "start_date", "end_date", "end_reason")
EPISODE_OPTIONAL_COLUMNS = ("programme", "sex", "birth_year", "scheme", "list_size")
#: Episode cells that may never be empty.
EPISODE_NONEMPTY = ("person_id", "municipality", "contract_type", "start_date")
EVENT_REQUIRED_COLUMNS = ("person_id", "date", "event")
EVENT_OPTIONAL_COLUMNS = ("new_contract_type", "note")
EVENT_NONEMPTY = ("person_id", "date", "event")

#: Birth years accepted as plausible for a doctor in GP specialist training.
BIRTH_YEAR_RANGE = (1940, 2005)
#: Dates outside these years are typing errors (and would overflow datetime64[ns]).
DATE_YEAR_RANGE = (1900, 2100)
#: An unknown column this similar to a missing known one is reported as a misspelling.
MISSPELLING_CUTOFF = 0.75
#: Norwegian headers common in municipal extracts: suggested (never silently accepted) for a missing column.
HEADER_HINTS = {
    "lege": "person_id", "lege_id": "person_id", "person": "person_id", "id": "person_id", "løpenummer": "person_id",
    "kommune": "municipality", "kommunenummer": "municipality", "kommunenr": "municipality",
    "kontrakt": "contract_type", "kontrakttype": "contract_type", "avtaletype": "contract_type",
    "avtale": "contract_type", "tilknytning": "contract_type",
    "startdato": "start_date", "start": "start_date", "fra": "start_date", "fra_dato": "start_date",
    "sluttdato": "end_date", "slutt": "end_date", "til": "end_date", "til_dato": "end_date",
    "sluttårsak": "end_reason", "årsak": "end_reason",
    "program": "programme", "kjønn": "sex", "fødselsår": "birth_year", "ordning": "scheme",
    "listelengde": "list_size", "listestørrelse": "list_size",
    "dato": "date", "hendelse": "event", "ny_kontrakttype": "new_contract_type", "merknad": "note",
    "kommentar": "note", "begrunnelse": "note",
}

DATE_EXPECTED = "expected YYYY-MM-DD or DD.MM.YYYY"

_CONTRACT_SYNONYMS = {
    "fastlønn": (
        "f", "fast", "fastlønn", "fastlonn", "fastloenn", "fast lønn", "fast lonn", "fast loenn",
        "fastlønnet", "fastlonnet", "fastlønnsavtale", "fastlønn kommune", "kommunal", "kommunalt ansatt",
        "ansatt", "ansatt i kommunen", "kommunalt", "lønnet", "salaried", "salary", "employed",
    ),
    "næring": (
        "n", "næring", "naering", "naring", "nering", "næringsdrivende", "naeringsdrivende",
        "selvstendig", "selvstendig næringsdrivende", "selvstendig naeringsdrivende",
        "selvstendig naringsdrivende", "privat", "privat hjemmel", "privat praksis", "privatpraksis",
        "privat avtale", "næringsavtale", "naeringsavtale", "self employed", "private",
    ),
}
_CONTRACT_LOOKUP = {synonym: canonical for canonical, words in _CONTRACT_SYNONYMS.items() for synonym in words}

_END_REASON_SYNONYMS = {
    "ukjent": "unknown",
    "annet": "other",
    "annen": "other",
    "pensjon": "retired",
    "pensjonert": "retired",
    "pensjonist": "retired",
    "sykehus": "hospital",
}
SCHEME_SYNONYMS = {
    "old": "old", "new": "new", "gammel": "old", "gamle": "old", "ny": "new", "nye": "new",
    "old_scheme": "old", "new_scheme": "new", "gammel_ordning": "old", "ny_ordning": "new",
    "gamle_regler": "old", "nye_regler": "new",
}
SEX_SYNONYMS = {"k": "K", "m": "M", "kvinne": "K", "mann": "M"}
KNOWN_PROGRAMMES = {"alis-nord": "ALIS-Nord", "alis nord": "ALIS-Nord", "alis-vest": "ALIS-Vest",
                     "alis vest": "ALIS-Vest"}
_BOOLEAN_WORDS = {"ja": True, "j": True, "yes": True, "y": True, "true": True, "sann": True, "1": True,
                  "nei": False, "n": False, "no": False, "false": False, "usann": False, "0": False}

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_NORWEGIAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")

#: Problems listed per file, column and kind of problem; the rest are counted in one more problem.
MAX_PROBLEMS_PER_KIND = 20
#: Problems listed in all (a hostile file could otherwise make millions of kinds x rows).
MAX_PROBLEMS_LISTED = 1000
#: Events paired with their person's episodes per slice (bounds the memory of the join).
EVENTS_PER_JOIN = 200_000
#: Longest value echoed in a problem; a longer one is cut, with its length said.
MAX_VALUE_ECHO = 200


# --------------------------------------------------------------------------- problems and results
@dataclass(frozen=True)
class Problem:
    """One breach of the raw-data contract.

    ``row`` is the row a spreadsheet shows (header = 1, first data row = 2),
    ``None`` for a problem with the whole file or a column.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    #: For a line that stands for problems not listed: how many it stands for (0 for an ordinary problem).
    more: int = 0

    def __post_init__(self) -> None:
        # identity numbers are never echoed, whatever check found the value; huge cells are cut short
        value = self.value
        if isinstance(value, str) and len(value) > MAX_VALUE_ECHO:
            value = f"{value[:MAX_VALUE_ECHO]}… ({len(value):,} characters)"
        object.__setattr__(self, "value", mask_national_ids(value))
        object.__setattr__(self, "message", mask_national_ids(self.message))
        object.__setattr__(self, "column", mask_national_ids(self.column))

    def to_dict(self) -> dict:
        """The problem as a JSON-ready dict with keys file, row, column, value, message (and ``more``
        for a line standing for problems not listed)."""
        result = {"file": self.file, "row": self.row, "column": self.column, "value": self.value,
                  "message": self.message}
        if self.more:
            result["more"] = self.more
        return result

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        value = f"value '{self.value}': " if self.value is not None else ""
        return f"{where}: {value}{self.message}"


@dataclass
class ValidatedData:
    """A dataset that passed validation: typed, canonical frames and the input fingerprints."""

    dataset_dir: Path
    episodes: pd.DataFrame
    events: pd.DataFrame
    input_files: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False
    #: The optional supervision.csv (``source_row, person_id, month, hours``); empty when absent.
    supervision: pd.DataFrame | None = None


# --------------------------------------------------------------------------- value parsers
def parse_date(text) -> pd.Timestamp | None:
    """Parse a raw date cell; ``None`` when it is not a valid date.

    Accepts ``YYYY-MM-DD`` (also with a time part, as XLSX datetimes are
    rendered), ``DD.MM.YYYY`` and ``D.M.YYYY``. Years outside
    :data:`DATE_YEAR_RANGE` are refused as typing errors.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    if isinstance(text, (_dt.date, pd.Timestamp)):
        return pd.Timestamp(text).normalize()
    text = str(text).strip()
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = _NORWEGIAN_DATE.match(text)
        if not match:
            return None
        day, month, year = (int(part) for part in match.groups())
    if not DATE_YEAR_RANGE[0] <= year <= DATE_YEAR_RANGE[1]:
        return None
    try:
        return pd.Timestamp(_dt.date(year, month, day))
    except ValueError:
        return None


def normalise_word(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).strip().lower().replace("_", " ").replace("-", " ")).strip()


def canonical_contract_type(text) -> str | None:
    """``'fastlønn'`` or ``'næring'`` for a raw contract-type cell, ``None`` if unrecognised.

    Case, spaces, hyphens and underscores and an ``ALIS`` prefix are ignored, so
    ``f``, ``Fastlonn``, ``ALIS-fastlønn``, ``fast lønn``, ``kommunal``,
    ``ansatt`` give fastlønn and ``n``, ``naering``, ``ALIS-næring``,
    ``privat``, ``privat hjemmel``, ``selvstendig næringsdrivende`` give næring.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    word = normalise_word(text)
    word = re.sub(r"^alis\s*", "", word)
    return _CONTRACT_LOOKUP.get(word)


def canonical_end_reason(text) -> str | None:
    """Canonical end reason (one of ``config.END_REASONS``) or ``None``."""
    word = normalise_word(text).replace(" ", "_")
    if word in END_REASONS:
        return word
    return _END_REASON_SYNONYMS.get(word)


def canonical_event(text) -> str | None:
    """Canonical event type (one of ``config.EVENT_TYPES``) or ``None``."""
    word = normalise_word(text).replace(" ", "_")
    return word if word in EVENT_TYPES else None


def parse_bool(text) -> bool | None:
    """``True``/``False`` for ``Ja``/``Nei`` (and yes/no, true/false, 1/0); ``None`` otherwise."""
    if isinstance(text, bool):
        return text
    return _BOOLEAN_WORDS.get(str(text).strip().lower())


def is_norwegian_national_id(text) -> bool:
    """Whether ``text`` is 11 digits whose two mod-11 check digits are valid.

    This covers the fødselsnummer, the D-number (day + 40) and the H-number
    (month + 40), since all share the check-digit rule, written plain or with a
    hyphen or space after the date part. The date part is deliberately not
    checked: refusing every checksum-valid number errs on the side of privacy.
    See :mod:`alis_research.identity`.
    """
    return is_national_id(text)


def national_id_mask(values: pd.Series) -> pd.Series:
    """Vectorised :func:`is_norwegian_national_id` over a Series of strings (whole cells, once per distinct value)."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    hits = np.array([is_national_id(u) for u in uniques], dtype=bool)
    mask = np.zeros(len(values), dtype=bool)
    known = codes >= 0
    if hits.any():
        mask[known] = hits[codes[known]]
    return pd.Series(mask, index=values.index)


def mask_national_id(text: str) -> str:
    """An identity number as shown anywhere: :data:`~alis_research.identity.NATIONAL_ID_MASK`
    (nothing of the number kept); identity numbers inside longer text are masked alike."""
    return NATIONAL_ID_MASK if is_national_id(text) else mask_national_ids(str(text))

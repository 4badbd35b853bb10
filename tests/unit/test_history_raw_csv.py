"""RawCsv (services.history.export): every way a column is turned into cells (constant, small integers,
few distinct values, many, missing values, -0.0 beside 0.0, guarded and quoted text) writes exactly what
the csv module writes for the values' repr, and the received time as services.history.store.iso does."""
import csv
import io
import random

import numpy as np

from services.history.export import RawCsv
from services.history.store import iso
from services.storage.event_blocks import NULL_INT

FIELDS = ("received", "event_id", "profile", "store", "value", "cpi", "temperature", "cluster", "risk_score", "unit")


def reference(chunk: dict, profile: str) -> str:
    """The same rows through the csv module, a value at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for i in range(len(chunk["received"])):
        row = []
        for name in FIELDS:
            if name == "received":
                row.append(iso(chunk[name][i]))
            elif name == "profile":
                row.append(profile)
            elif name not in chunk:
                row.append("")
            else:
                v = chunk[name][i]
                if isinstance(v, str) and v[:1] in "=+-@\t\r":
                    v = "'" + v
                missing = v is None or (isinstance(v, float) and v != v) or (type(v) is not str and v == NULL_INT)
                row.append("" if missing else v if isinstance(v, str) else repr(v.item() if hasattr(v, "item") else v))
        writer.writerow(row)
    return buffer.getvalue()


def objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def test_every_column_shape_is_written_as_the_csv_module_writes_each_value():
    rng = random.Random(3)
    n = 500
    chunk = {
        "received": np.array(sorted(1_796_205_600 + rng.uniform(0, 7200) for _ in range(n))),
        "event_id": objects([rng.choice(["a", "=1+1", "b,c", 'q"t', "-x", "line\nbreak", "ok"]) for _ in range(n)]),
        "store": np.array([rng.randint(1, 45) for _ in range(n)], dtype=np.int32),               # small integers
        "value": np.array([rng.randint(-10**6, 10**6) / 7 for _ in range(n)]),                     # many distinct
        "cpi": np.array([rng.choice([211.25, float("nan"), 0.1 + 0.2]) for _ in range(n)]),        # few, some missing
        "temperature": np.full(n, 55.5),                                                           # constant
        "cluster": np.array([rng.choice([NULL_INT, 2, 3]) for _ in range(n)], dtype=np.int32),     # integer NULLs
        "risk_score": np.array([rng.choice([5, 10**7]) for _ in range(n)], dtype=np.int32),        # beyond the table
    }
    assert RawCsv("retail", FIELDS)(chunk) == reference(chunk, "retail")


def test_negative_zero_keeps_its_sign_and_a_constant_or_empty_column_is_exact():
    chunk = {"received": np.array([1_796_205_600.0005, 1_796_205_600.0015, 1_796_205_659.9995]),
             "value": np.array([0.0, -0.0, 0.0]), "cpi": np.full(3, np.nan), "temperature": np.array([-0.0] * 3),
             "store": np.array([7, 7, 7], dtype=np.int32), "unit": objects([None, "mm/s", "@x"])}
    text = RawCsv("sensor", FIELDS)(chunk)
    assert text == reference(chunk, "sensor")
    assert [line.split(",")[4] for line in text.splitlines()] == ["0.0", "-0.0", "0.0"]
    assert text.splitlines()[0].startswith("2026-12-02T10:00:00.001Z,")        # rounded half up, as iso()

"""Small string corruptions shared by returns and requests: typos, initials, case."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_KEYBOARD = "QWERTYUIOP ASDFGHJKL ZXCVBNM".split()
_NEIGHBOURS: dict[str, str] = {}
for _row_no, _row in enumerate(_KEYBOARD):
    for _i, _c in enumerate(_row):
        near = _row[max(0, _i - 1): _i] + _row[_i + 1: _i + 2]
        _NEIGHBOURS[_c] = near


def typo(text: str, r_pos: float, r_op: float) -> str:
    """One keyboard edit: substitute a neighbouring key, delete, transpose or double a letter."""
    if len(text) < 3:
        return text
    i = 1 + int(r_pos * (len(text) - 2))  # keep the first letter (agents rarely miss it)
    c = text[i]
    op = int(r_op * 4)
    if op == 0 and c.upper() in _NEIGHBOURS:
        near = _NEIGHBOURS[c.upper()]
        new = near[int(r_op * 40) % len(near)]
        return text[:i] + (new if c.isupper() else new.lower()) + text[i + 1:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2 and i + 1 < len(text) and text[i + 1] != c:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if op == 3:
        return text[:i] + c + text[i:]
    return text[:i] + text[i + 1:]


def apply_typos(rng: np.random.Generator, values: pa.Array, rate: float) -> pa.Array:
    """Replace a `rate` share of non-null values by a typo'd copy."""
    n = len(values)
    mask = (rng.random(n) < rate) & ~np.asarray(values.is_null().to_numpy(zero_copy_only=False))
    idx = np.nonzero(mask)[0]
    if len(idx) == 0:
        return values
    r = rng.random((len(idx), 2))
    old = values.take(pa.array(idx)).to_pylist()
    new = [typo(s, a, b) for s, (a, b) in zip(old, r, strict=True)]
    return pc.replace_with_mask(values, pa.array(mask), pa.array(new, type=values.type))


def masked(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Object array: values where mask, None elsewhere."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = values[mask]
    return out


def zero_pad(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded strings (object array); empty in, empty out."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    return np.char.zfill(values.astype(str), width).astype(object)


def take_names(vocab: pa.Array, ids: np.ndarray) -> pa.Array:
    """Names by id; -1 gives null."""
    return vocab.take(pa.array(ids, mask=ids < 0))


def join_surname(vocab: pa.Array, last1: np.ndarray, last2: np.ndarray,
                 form: np.ndarray) -> pa.Array:
    """GARCIA / GARCIA LOPEZ / GARCIA-LOPEZ by form 0 / 1 / 2."""
    second = np.where(form > 0, last2, -1)
    sep = pa.array(np.where(form == 2, "-", " "))
    return pc.binary_join_element_wise(take_names(vocab, last1), take_names(vocab, second), sep,
                                       null_handling="skip")

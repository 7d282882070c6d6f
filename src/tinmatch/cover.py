"""The request's cover letter: who asks, and on what assurance (contract section 3)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from tinmatch.errors import ConfigError, RefusedError

FIELDS = ("agency", "official", "attestation")


@dataclass(frozen=True)
class Cover:
    agency: str
    official: str
    attestation: str

    @classmethod
    def load(cls, path: Path) -> Cover:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"cover letter not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cover letter {path} is not valid TOML: {exc}") from None
        return cls.from_mapping(raw, source=str(path))

    @classmethod
    def from_mapping(cls, raw: dict[str, object], *, source: str = "cover") -> Cover:
        values = {k: str(raw.get(k) or "").strip() for k in FIELDS}
        missing = [k for k, v in values.items() if not v]
        if missing:
            raise RefusedError(f"{source}: the cover letter lacks {', '.join(missing)}")
        unknown = sorted(set(raw) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{source}: unknown cover letter key(s): {', '.join(unknown)}")
        if len(values["attestation"]) < 20:
            raise RefusedError(
                f"{source}: the attestation must state that each person is under active criminal "
                "investigation and that the information is used only for it"
            )
        return cls(**values)


ANONYMOUS = Cover(agency="(no cover)", official="(no cover)", attestation="(no cover)")

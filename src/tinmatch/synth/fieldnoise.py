"""A second request noise model ("field"), written apart from :mod:`tinmatch.synth.requests`.

The standard model corrupts a request row 0-2 ways from a small list that the matcher's levels
were designed around. This one was written from what an independent test found tinmatch missing
(issue 16), with its own corruption code and its own name table, so that figures measured on it
are not figures on the noise the model was tuned to. The master file is the same generator's
(households, Jr/Sr, twins, marriages, spouse-only filers, ITINs, compound surnames written
differently on returns and identity records, 5% of identity records without a DOB); only the
request rows of people in the master (``matched``) differ. Every other scenario (ambiguous,
not in the master, rejected) is built as in the standard model.

Each matched row has one main **phenomenon** and, a third of the time, a second one; the truth's
``scenario`` is ``matched:`` followed by the phenomena joined with ``+``, then the facts about
the person that are not corruptions (``itin``, ``spouse_only``, ``jr_sr_home``)
so that ``tinmatch evaluate`` reports recall per phenomenon:

=====================  =====  ===================================================================
phenomenon             share  what the request does
=====================  =====  ===================================================================
clean                  0.29   the name and address of the person's latest return
new_address            0.05   exact full name and DOB at an address they never filed from (70%
                              the same state, else anywhere): the agency's own records. The
                              share is the issue's: 30% of the misses of an independent set
                              whose recall was 90%, i.e. 3% of rows, plus those found anyway
hypocorism             0.10   a Spanish (or English, Portuguese, Italian) hypocorism of
                              the given name from :data:`HYPOCORISMS` (Pepe, Chuy, Memo, Toño...)
typo                   0.10   a slip in the first or last name: phonetic spellings (b/v, s/z,
                              ll/y, silent h, qu/k), a doubled or dropped letter, a neighbouring
                              key, an accent written as a separate letter
address_variant        0.08   the latest address written another way: suffix word dropped or
                              spelled out, unit inline in the street, directional spelled out or
                              dropped, ZIP missing
old_address            0.08   the address of the person's *earliest* return (any age)
compound_surname       0.08   a compound surname written another way: paternal only, maternal
                              only, reversed, hyphen for space or space for hyphen, with or
                              without de / del / de la, with "y" between
dob_missing            0.06   no date of birth
middle_as_first        0.04   the middle name used as the given name
swapped_names          0.03   given name and surname swapped
name_change            0.03   the surname of the *other* name the person filed under (maiden /
                              married), when they have two
accents                0.03   the name written with Spanish accents and ñ (José, Jesús, Peña)
=====================  =====  ===================================================================

Independently of the phenomena, 25% of rows have no DOB (except ``new_address`` rows and rows
for a father or son named alike) and the case is upper (40%) or title.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from tinmatch.synth.names import HISPANIC
from tinmatch.synth.requests import Builder, Row, most_recent, period_text
from tinmatch.synth.targets import Target

NOISE_MODELS = ("standard", "field")

PHENOMENA: dict[str, float] = {
    "clean": 0.29, "new_address": 0.05, "hypocorism": 0.10, "typo": 0.10,
    "address_variant": 0.08, "old_address": 0.08, "compound_surname": 0.08, "dob_missing": 0.06,
    "middle_as_first": 0.04, "swapped_names": 0.03, "name_change": 0.03, "accents": 0.03,
}  # fmt: skip

# Given name -> hypocorisms. Written for this model from general knowledge of Spanish naming
# (the Real Academia's and Wikipedia's lists of Spanish hypocorisms), independently of the
# matcher's own table, and wider than it: the point is to find what the matcher does not know.
HYPOCORISMS: dict[str, tuple[str, ...]] = {
    "JOSE": ("PEPE", "CHEPE", "PEPITO", "CHEO"), "FRANCISCO": ("PACO", "PANCHO", "CURRO", "KIKO"),
    "JESUS": ("CHUY", "CHUCHO", "CHUS"), "GUADALUPE": ("LUPE", "LUPITA", "PITA"),
    "IGNACIO": ("NACHO",), "GUILLERMO": ("MEMO", "GUILLE"), "ANTONIO": ("TOÑO", "TONO", "TOÑITO"),
    "ALBERTO": ("BETO", "TITO"), "ROBERTO": ("BETO", "ROBER"), "HUMBERTO": ("BETO",),
    "GRACIELA": ("CHELA",), "EDUARDO": ("LALO",), "ENRIQUE": ("QUIQUE", "KIKE"),
    "ALFONSO": ("PONCHO",), "SALVADOR": ("CHAVA", "CHAVO"), "VICENTE": ("CHENTE",),
    "SERGIO": ("CHECO",), "GREGORIO": ("GOYO",), "LORENZO": ("LENCHO",), "ROSARIO": ("CHAYO",
    "CHARO"), "MERCEDES": ("MECHE",), "ISABEL": ("CHABELA", "ISA"), "ALICIA": ("LICHA",),
    "ERNESTO": ("NETO",), "FERNANDO": ("NANDO", "FER"), "RIGOBERTO": ("RIGO",),
    "TERESA": ("TERE",), "LUIS": ("LUCHO",), "RAMON": ("MONCHO",), "ADOLFO": ("FITO",),
    "RODOLFO": ("FITO", "RUDY"), "CONCEPCION": ("CONCHA", "CONCHITA", "CONCHI"),
    "DOLORES": ("LOLA", "LOLITA"), "MANUEL": ("MANOLO", "MANOLITO", "MANNY"),
    "PILAR": ("PILI",), "CONSUELO": ("CHELO",), "RAFAEL": ("RAFA",), "GABRIEL": ("GABO",),
    "SANTIAGO": ("SANTI",), "JAVIER": ("JAVI",), "DANIEL": ("DANI",), "ALEJANDRO": ("ALEX",
    "ALE"), "ALEJANDRA": ("ALE",), "CRISTINA": ("CRIS", "TINA"), "MARGARITA": ("MAGUI", "MARGO"),
    "ANA": ("ANITA",), "ELIZABETH": ("ELI", "BETTY", "LIZ", "BETH"), "FEDERICO": ("FEDE", "KIKO"),
    "GUSTAVO": ("TAVO", "GUS"), "OSWALDO": ("WALDO",), "REFUGIO": ("CUCO",),
    "JOAQUIN": ("QUINO",), "EUGENIA": ("MAYU", "EUGE"), "ROSA": ("ROSITA", "CHAYO"),
    "CARMEN": ("MENCHU", "CARMENCITA"), "LETICIA": ("LETY",), "PATRICIA": ("PATY", "PATI", "TRISH"),
    "BEATRIZ": ("BETY",), "MAURICIO": ("MAURO",),
    "AUGUSTO": ("TITO",), "NATIVIDAD": ("NATI",), "ASUNCION": ("CHONI",),
    "ENCARNACION": ("CHONI", "ENCARNA"), "REMEDIOS": ("REME",), "ANTONIA": ("TOÑA", "TONI"),
    # Portuguese, Italian
    "JOAO": ("JOAOZINHO",), "GIUSEPPE": ("BEPPE", "PEPPE"), "GIOVANNI": ("GIANNI", "NINO"),
    # English, for the other cultures' given names
    "WILLIAM": ("BILL", "WILL", "LIAM"), "ROBERT": ("BOB", "ROB", "BOBBY"),
    "RICHARD": ("RICK", "DICK", "RICH"), "MARGARET": ("PEGGY", "MAGGIE"),
    "KATHERINE": ("KATE", "KATHY", "KAT"), "JAMES": ("JIM", "JIMMY"), "JOHN": ("JACK", "JOHNNY"),
    "MICHAEL": ("MIKE", "MICKEY"), "CHRISTOPHER": ("CHRIS", "KIT"), "THOMAS": ("TOM", "TOMMY"),
    "ANTHONY": ("TONY",), "JOSEPH": ("JOE", "JOEY"), "CHARLES": ("CHUCK", "CHARLIE"),
    "JENNIFER": ("JEN", "JENNY"), "SUSAN": ("SUE", "SUZY"),
}  # fmt: skip

ACCENTED: dict[str, str] = {
    "JOSE": "JOSÉ", "JESUS": "JESÚS", "RAMON": "RAMÓN", "JOAQUIN": "JOAQUÍN", "MARIA": "MARÍA",
    "ANGEL": "ÁNGEL", "RAUL": "RAÚL", "HECTOR": "HÉCTOR", "OSCAR": "ÓSCAR", "ANDRES": "ANDRÉS",
    "MARTIN": "MARTÍN", "RUBEN": "RUBÉN", "GARCIA": "GARCÍA", "RODRIGUEZ": "RODRÍGUEZ",
    "MARTINEZ": "MARTÍNEZ", "HERNANDEZ": "HERNÁNDEZ", "LOPEZ": "LÓPEZ", "GONZALEZ": "GONZÁLEZ",
    "PEREZ": "PÉREZ", "SANCHEZ": "SÁNCHEZ", "RAMIREZ": "RAMÍREZ", "GOMEZ": "GÓMEZ",
    "DIAZ": "DÍAZ", "FERNANDEZ": "FERNÁNDEZ", "JIMENEZ": "JIMÉNEZ", "MUNOZ": "MUÑOZ",
    "PENA": "PEÑA", "NUNEZ": "NÚÑEZ", "IBANEZ": "IBÁÑEZ", "CASTANEDA": "CASTAÑEDA",
    "VAZQUEZ": "VÁZQUEZ", "GUTIERREZ": "GUTIÉRREZ", "ALVAREZ": "ÁLVAREZ", "SUAREZ": "SUÁREZ",
}  # fmt: skip
_PARTICLE_SURNAMES = ("DE LA ", "DEL ", "DE LOS ", "DE ", "LA ")
# Phonetic slips a Spanish or English speaker writing a name down makes (from, to).
_SOUND_SLIPS = (("V", "B"), ("B", "V"), ("Z", "S"), ("S", "Z"), ("LL", "Y"), ("Y", "LL"),
                ("QU", "K"), ("C", "K"), ("J", "H"), ("G", "J"), ("X", "J"), ("PH", "F"),
                ("CE", "SE"), ("CI", "SI"), ("EI", "IE"), ("IE", "EI"))  # fmt: skip
_KEYS = "QWERTYUIOP ASDFGHJKL ZXCVBNM".split()
_SUFFIX_WORDS = {"ST": "STREET", "AVE": "AVENUE", "RD": "ROAD", "DR": "DRIVE", "LN": "LANE",
                 "CT": "COURT", "BLVD": "BOULEVARD", "PL": "PLACE", "WAY": "WAY", "CIR": "CIRCLE",
                 "STREET": "ST", "AVENUE": "AV", "ROAD": "RD", "DRIVE": "DR", "LANE": "LN",
                 "COURT": "CT", "BOULEVARD": "BLVD", "PLACE": "PL", "CIRCLE": "CIR",
                 "TER": "TERRACE", "TERRACE": "TERR", "PKWY": "PARKWAY", "PARKWAY": "PKY"}
_DIRECTIONS = {"N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST", "NORTH": "N",
               "SOUTH": "S", "EAST": "E", "WEST": "W", "NE": "NORTHEAST", "NW": "NORTHWEST",
               "SE": "SOUTHEAST", "SW": "SOUTHWEST"}  # fmt: skip


def slip(name: str, rng: np.random.Generator) -> str:
    """One writing slip in `name` (upper case): phonetic spelling first, else a letter doubled,
    dropped or hit on a neighbouring key; the first letter is kept unless it is a silent H."""
    if len(name) < 3:
        return name
    r = rng.random()
    if r < 0.35:
        options = [(a, b) for a, b in _SOUND_SLIPS if a in name[1:]]
        if options:
            a, b = options[int(rng.integers(len(options)))]
            at = name.index(a, 1)
            return name[:at] + b + name[at + len(a):]
    if r < 0.42 and name.startswith("H"):
        return name[1:]
    i = 1 + int(rng.integers(len(name) - 1))
    op = rng.random()
    if op < 0.3:
        return name[:i] + name[i - 1] + name[i:]  # doubled
    if op < 0.6 and len(name) > 3:
        return name[:i] + name[i + 1:]  # dropped
    row = next((k for k in _KEYS if name[i] in k), None)
    if row is None:
        return name[:i] + name[i + 1:]
    j = row.index(name[i])
    near = row[max(0, j - 1): j] + row[j + 1: j + 2]
    return name[:i] + near[int(rng.integers(len(near)))] + name[i + 1:]


def other_compound_form(t: Target, rng: np.random.Generator) -> str | None:
    """The surname written another way than on the identity record, or None if it has one
    form only."""
    last = t.last.upper()
    padded = f" {last} "
    for particle in _PARTICLE_SURNAMES:
        at = padded.find(f" {particle}")
        if at >= 0 and padded[at + len(particle) + 1:].strip():
            head, rest = padded[:at + 1], padded[at + 1 + len(particle):]
            forms = [f"{head}{rest}", f"{head}{particle.replace(' ', '')}{rest}"]
            return " ".join(forms[int(rng.integers(len(forms)))].split()) or None
    if t.last2 is None:
        return None
    p, m = t.last1.upper(), t.last2.upper()
    forms = [p, m, f"{m} {p}", f"{p} Y {m}", f"{p}-{m}", f"{p} {m}"]
    forms = [f for f in forms if f != last]
    return forms[int(rng.integers(len(forms)))]


def street_variant(street: str, rng: np.random.Generator) -> str:
    """The street line written another way: suffix word spelled out, abbreviated or dropped;
    directional spelled out or dropped."""
    words = street.upper().split()
    if len(words) < 3:
        return street
    r = rng.random()
    if words[-1] in _SUFFIX_WORDS and r < 0.45:
        words[-1] = _SUFFIX_WORDS[words[-1]]
    elif words[-1] in _SUFFIX_WORDS and r < 0.6:
        words.pop()
    elif words[1] in _DIRECTIONS:
        if r < 0.8:
            words[1] = _DIRECTIONS[words[1]]
        else:
            words.pop(1)
    elif words[-1] in _SUFFIX_WORDS:
        words[-1] = _SUFFIX_WORDS[words[-1]]
    return " ".join(words)


class FieldBuilder(Builder):
    """The standard builder with the field model's matched rows."""

    def matched(self, t: Target) -> Row:
        rng = self.rng
        in_allowed = [y for y in t.years_appearing if y in self.allowed]
        text, period = period_text(rng, self.years, int(rng.choice(in_allowed)), self.allowed)
        expected = most_recent(t, period)
        kinds = list(PHENOMENA)
        p = np.array([PHENOMENA[k] for k in kinds])
        chosen = [str(rng.choice(kinds, p=p / p.sum()))]
        if chosen[0] != "clean" and rng.random() < 1 / 3:
            second = str(rng.choice(kinds, p=p / p.sum()))
            if second not in chosen and second != "clean":
                chosen.append(second)
        if "new_address" in chosen:  # exact name and DOB: the phenomenon as the issue saw it
            chosen = ["new_address"]
        source = t.returns[-1]
        first, middle, last = t.first.upper(), t.middle.upper() if t.middle else None, t.last
        last = last.upper()
        suffix = t.suffix.upper() if t.suffix else None
        dob: date | None = t.dob
        done: list[str] = []
        address: dict[str, Any] | None = None
        upper = bool(rng.random() < 0.4)
        for kind in chosen:
            if kind == "new_address":
                state = t.state if rng.random() < 0.7 else int(rng.integers(len(self.geo.states)))
                address = self._random_address(state, True)
            elif kind == "hypocorism":
                forms = HYPOCORISMS.get(first, ())
                if not forms:
                    continue
                first = forms[int(rng.integers(len(forms)))]
            elif kind == "typo":
                if rng.random() < 0.6:
                    first = slip(first, rng)
                else:
                    last = slip(last, rng)
            elif kind == "address_variant":
                address = self._written(source, rng)
                address["street"] = street_variant(address["street"], rng)
                if address["address_line2"] and rng.random() < 0.5:
                    address["street"] += f" #{address['address_line2'].split()[-1]}"
                    address["address_line2"] = None
                if rng.random() < 0.3:
                    address["zip"] = None
            elif kind == "old_address":
                older = [r for r in t.returns if r["addr"] != source["addr"]]
                if not older:
                    continue
                address = self._written(older[0], rng)
            elif kind == "compound_surname":
                form = other_compound_form(t, rng)
                if form is None:
                    continue
                last = form
            elif kind == "dob_missing":
                dob = None
            elif kind == "middle_as_first":
                if middle is None:
                    continue
                first, middle = middle.split()[0], None
            elif kind == "swapped_names":
                first, last = last, first
            elif kind == "name_change":
                other = {r["last_name"].upper() for r in t.returns if r["last_name"]}
                other.discard(last)
                other = {o for o in other if o.replace("-", " ") != last.replace("-", " ")}
                if not other:
                    continue
                last = sorted(other)[int(rng.integers(len(other)))]
            elif kind == "accents":
                if t.culture != HISPANIC:
                    continue
                first = ACCENTED.get(first, first)
                last = " ".join(ACCENTED.get(w, w) for w in last.split())
            done.append(kind)
        if not done:
            done = ["clean"]
        if (dob is not None and "new_address" not in done and not t.same_name_at_home
                and rng.random() < 0.25):
            dob = None
            if "dob_missing" not in done:
                done.append("dob_missing")
        if rng.random() < 0.6:
            middle = None
        facts = self._facts(t)
        fields = self._base(first, middle, last, suffix if t.same_name_at_home else None, dob,
                            text)
        fields["_upper"] = upper
        for key in ("first_name", "middle_name", "last_name", "suffix"):
            if fields[key] is not None:
                fields[key] = fields[key].upper() if upper else fields[key].title()
        fields.update(address or self._written(source, rng))
        scenario = "matched:" + "+".join(done + facts)
        return Row(fields, self._truth(scenario, t.tin, "matched", None, expected))

    def _written(self, r: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """A return's address as the agency would copy it (ZIP+4 cut to five digits)."""
        zip_text = r["zip"][:5] if r["zip"] else None
        return {"street": r["street"], "address_line2": r["address_line2"],
                "city": r["city"], "state": r["state"],
                "zip": zip_text if rng.random() < 0.8 else None}  # fmt: skip

    @staticmethod
    def _facts(t: Target) -> list[str]:
        facts = []
        if t.tin.startswith("9"):
            facts.append("itin")
        if all(r["tin"] != t.tin for r in t.returns):
            facts.append("spouse_only")
        if t.same_name_at_home:
            facts.append("jr_sr_home")
        return facts


def builder_class(noise_model: str) -> type[Builder]:
    """The request builder of a noise model (``standard`` or ``field``)."""
    if noise_model == "field":
        return FieldBuilder
    return Builder

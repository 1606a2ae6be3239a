"""The courts (and their prosecutors' offices) whose names `cases.court_name` may keep through
anonymization: public institutions, whose distribution is useful in development. Any other value
of the column (a name typed by someone, a court written with a person's name in it) becomes
"[redacted]". Names compare without case and Romanian diacritics ("Tribunalul Bucuresti" is
"Tribunalul București"), optionally followed by ", " and a section of KNOWN_SECTIONS.
"""

from __future__ import annotations

# The seats of the 15 courts of appeal, the 41 counties and Bucharest (a tribunal each), and the
# towns with a court of first instance that the seed vocabulary and common practice name.
APPEAL_SEATS = (
    "Alba Iulia Bacău Brașov București Cluj Constanța Craiova Galați Iași Oradea Pitești Ploiești "
    "Suceava Târgu Mureș Timișoara"
)
COUNTIES = (
    "Alba, Arad, Argeș, Bacău, Bihor, Bistrița-Năsăud, Botoșani, Brăila, Brașov, București, "
    "Buzău, Călărași, Caraș-Severin, Cluj, Constanța, Covasna, Dâmbovița, Dolj, Galați, Giurgiu, "
    "Gorj, Harghita, Hunedoara, Ialomița, Iași, Ilfov, Maramureș, Mehedinți, Mureș, Neamț, Olt, "
    "Prahova, Sălaj, Satu Mare, Sibiu, Suceava, Teleorman, Timiș, Tulcea, Vâlcea, Vaslui, Vrancea"
)
FIRST_INSTANCE_TOWNS = (
    "Alba Iulia, Arad, Bacău, Baia Mare, Bistrița, Botoșani, Brăila, Brașov, Buzău, Călărași, "
    "Cluj-Napoca, Constanța, Craiova, Deva, Drobeta-Turnu Severin, Focșani, Galați, Giurgiu, "
    "Iași, Mangalia, Medgidia, Miercurea Ciuc, Oradea, Piatra-Neamț, Pitești, Ploiești, Reșița, "
    "Râmnicu Vâlcea, Satu Mare, Sfântu Gheorghe, Sibiu, Slatina, Slobozia, Suceava, Târgoviște, "
    "Târgu Jiu, Târgu Mureș, Timișoara, Tulcea, Vaslui, Zalău, Buftea, Cornetu, Chitila"
)
KNOWN_SECTIONS = (
    "Secția I Civilă",
    "Secția a II-a Civilă",
    "Secția a III-a Civilă",
    "Secția a IV-a Civilă",
    "Secția a V-a Civilă",
    "Secția a VI-a Civilă",
    "Secția Civilă",
    "Secția Penală",
    "Secția I Penală",
    "Secția a II-a Penală",
    "Secția Litigii de Muncă",
    "Secția Conflicte de Muncă și Asigurări Sociale",
    "Secția de Contencios Administrativ și Fiscal",
    "Secția a II-a de Contencios Administrativ și Fiscal",
    "Secția Comercială",
    "Secția pentru Minori și Familie",
)
DIACRITICS = str.maketrans("ĂÂÎȘŞȚŢăâîșşțţ", "AAISSTTaaisstt")


def fold(name: str) -> str:
    """The form names are compared in: diacritics folded, lower case, spaces collapsed."""
    return " ".join(name.translate(DIACRITICS).lower().split())


def known_courts() -> list[str]:
    """Every known court and prosecutor's office, folded."""
    courts = ["Înalta Curte de Casație și Justiție"]
    seats = APPEAL_SEATS.replace("Alba Iulia", "Alba_Iulia").replace("Târgu Mureș", "Târgu_Mureș")
    courts += [f"Curtea de Apel {seat.replace('_', ' ')}" for seat in seats.split()]
    counties = [county.strip() for county in COUNTIES.split(",")]
    courts += [f"Tribunalul {county}" for county in counties]
    courts += ["Tribunalul Specializat Mureș", "Tribunalul pentru Minori și Familie Brașov"]
    courts += [f"Tribunalul Comercial {county}" for county in ("Argeș", "Cluj", "Mureș")]
    courts += [f"Judecătoria Sectorului {sector} București" for sector in range(1, 7)]
    courts += [f"Judecătoria {town.strip()}" for town in FIRST_INSTANCE_TOWNS.split(",")]
    offices = [f"Parchetul de pe lângă {court}" for court in courts]
    return sorted({fold(name) for name in courts + offices})


def known_sections() -> list[str]:
    return sorted({fold(section) for section in KNOWN_SECTIONS})

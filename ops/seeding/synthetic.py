"""`seed --scale N`: synthetic firms of realistic Romanian practice data at volume. Faker is far too
slow to call per row, so pools of its values are drawn once and combined by a seeded generator into
rows already in COPY's text format, which go into PostgreSQL through COPY."""

from __future__ import annotations

import datetime
import itertools
import queue
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import Model

from cases.models import Case, Client, Document, Firm, Task, User
from core.progress import ProgressFactory, no_progress
from ops import bulk
from ops.seeding.vocabulary import ascii_slug, romanian_faker, romanian_vocabulary, storage_url
from skills.models import Skill, SkillUsageLog, SkillVersion

# Version-4 UUIDs from seeded bits: clear the version and variant bits, then set them.
_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_SET = (0x4 << 76) | (0x2 << 62)
# Synthetic skills get ids derived from their skill_id, so their logs are the same everywhere.
SYNTHETIC_SKILL_NAMESPACE = uuid.UUID("3d6f1c9e-2b7a-4f0e-8c55-9a1b2c3d4e5f")
# RowIds keeps 16 bits for the firm's index within a run.
MAX_FIRMS = 0xFFFF
NULL = r"\N"
MINUTES_PER_DAY = 1440
COPY_CHUNK_ROWS = 5000


@dataclass(frozen=True)
class Table:
    """A table written by COPY: its columns in the order of the generated rows, and its model."""

    name: str
    model: type[Model]
    column_names: str  # space-separated, in row order
    json_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.column_names.split())


FIRMS = Table("firms", Firm, "id name address vat_id email phone website created_at updated_at")
USERS = Table(
    "users",
    User,
    "id firm_id email first_name last_name role status is_staff is_superuser azure_ad_id "
    "preferences password created_at last_active",
    json_columns=("preferences",),
)
CLIENTS = Table(
    "clients",
    Client,
    "id firm_id name address contact_info created_at updated_at",
    json_columns=("contact_info",),
)
CASES = Table(
    "cases",
    Case,
    "id firm_id case_number title case_type status priority client_id assigned_partner_id "
    "assigned_associate_id description opened_date closed_date court_name judge_name "
    "next_hearing_date created_at updated_at",
)
DOCUMENTS = Table(
    "documents",
    Document,
    "id case_id created_by_user_id title content document_type status file_name file_size_bytes "
    "mime_type storage_url version ai_generated created_at updated_at",
)
TASKS = Table(
    "tasks",
    Task,
    "id case_id title description task_type status priority assigned_to_user_id created_by_user_id "
    "due_date estimated_hours actual_hours completed_at created_at updated_at",
)
USAGE_LOGS = Table(
    "skill_usage_logs",
    SkillUsageLog,
    "id skill_id user_id workspace_id execution_time_ms tokens_used tokens_saved cost_usd success "
    "error_message executed_at",
)
TABLES = (FIRMS, USERS, CLIENTS, CASES, DOCUMENTS, TASKS, USAGE_LOGS)  # in foreign-key order
PARTY_TABLES = (FIRMS, USERS, CLIENTS, CASES)
# The tables made after every firm's parties, in load order: the one whose indexes cost most to
# rebuild first, so its rebuild overlaps with making the others (see seed_synthetic_firms).
ACTIVITY_TABLES = (USAGE_LOGS, DOCUMENTS, TASKS)

FirmRows = dict[Table, list[str]]  # table -> lines of COPY text, each ending in a newline
IdMaker = Callable[[], str]


def copy_text(value: str) -> str:
    """`value` escaped for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def rows_per_firm() -> int:
    return 1 + sum(romanian_vocabulary()["per_firm"].values())


def weighted(weights: dict) -> list:
    """{value: weight} as a lookup list of about 1,000 entries: one draw is one index."""
    total = sum(weights.values())
    return [value for value, weight in weights.items() for _ in range(round(1000 * weight / total))]


class Clock:
    """Timestamps as minutes since the epoch, printed for COPY from precomputed day strings."""

    def __init__(self, as_of: datetime.datetime, days_back: int, days_ahead: int):
        self.now = int(as_of.timestamp()) // 60
        self.today = self.now // MINUTES_PER_DAY
        self.first_day = self.today - days_back
        epoch = datetime.date(1970, 1, 1)
        days = [
            epoch + datetime.timedelta(days=d)
            for d in range(self.first_day, self.today + days_ahead + 1)
        ]
        self.dates = [d.isoformat() for d in days]
        self.years = [d.year for d in days]
        self.times = [f" {m // 60:02d}:{m % 60:02d}:00+00" for m in range(MINUTES_PER_DAY)]

    def timestamp(self, minute: int) -> str:
        day, rest = divmod(minute, MINUTES_PER_DAY)
        return self.dates[day - self.first_day] + self.times[rest]

    def date(self, day: int) -> str:
        return self.dates[day - self.first_day]

    def year(self, day: int) -> int:
        return self.years[day - self.first_day]


@dataclass
class Pools:
    """Values Faker made once per run; rows combine them. Text is already COPY-escaped."""

    first_names: list[str]
    last_names: list[str]
    companies: list[str]
    addresses: list[str]
    phones: list[str]
    texts: list[str]
    email_domains: list[str]

    @classmethod
    def draw(cls, seed: int, size: int = 600) -> Pools:
        fake = romanian_faker(seed)
        return cls(
            first_names=[fake.first_name() for _ in range(size)],
            last_names=[fake.last_name() for _ in range(size)],
            companies=[copy_text(fake.company()) for _ in range(size)],
            addresses=[copy_text(fake.address()) for _ in range(size)],
            phones=[fake.phone_number() for _ in range(size)],
            texts=[copy_text(fake.legal_text(fake.random_int(2, 4))) for _ in range(size)],
            email_domains=[fake.free_email_domain() for _ in range(50)],
        )


@dataclass
class SyntheticResult:
    firms_created: int = 0
    firms_found: int = 0
    skills_created: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class Dice:
    """Draws from a seeded generator using only random(): randint and choice cost five times more,
    and a firm needs about half a million draws."""

    def __init__(self, seed: str):
        rng = random.Random(seed)
        self.random = rng.random
        self.getrandbits = rng.getrandbits

    def pick(self, values):
        return values[int(self.random() * len(values))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def uuid(self) -> str:
        """A version-4 UUID as 32 hex digits (PostgreSQL's uuid input accepts them)."""
        return f"{(self.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"


class RowIds:
    """Primary keys of one synthetic firm: UUIDv8 (RFC 9562) ordered by run, firm, table and row,
    with random low bits. Ordered keys append at the right edge of each primary-key B-tree, where
    random version-4 ids would dirty a different page for nearly every row of a bulk load."""

    def __init__(self, run: int, firm_index: int):
        self.base = (run << 96) | (firm_index << 80) | (0x8 << 76) | (0x2 << 62)

    def maker(self, table: Table, dice: Dice) -> IdMaker:
        prefix = self.base | (TABLES.index(table) << 64)
        row = itertools.count()
        low_bits = dice.getrandbits

        def next_id() -> str:
            return f"{prefix | (next(row) << 32) | low_bits(32):032x}"

        return next_id


@dataclass
class People:
    """A firm's active users, by what rows need them for."""

    everyone: list[str]
    partners: list[str]
    associates: list[str]

    @property
    def leads(self) -> list[str]:
        return self.partners + self.associates


@dataclass
class FirmContext:
    """What the rows of one firm share: its id, VAT id, mail domain, dates and people."""

    index: int  # within the run
    id: str
    vat_id: str
    domain: str
    created: int
    ids: RowIds
    people: People | None = None
    clients: list[tuple[str, str, int]] = field(default_factory=list)  # id, name, created
    # id, number, client name, created, end (closed or now), closed?
    cases: list[tuple[str, str, str, int, int, bool]] = field(default_factory=list)


class FirmGenerator:
    """Rows of whole synthetic firms, identical for the same seed, day and firm index."""

    def __init__(self, random_seed: int, as_of: datetime.datetime, skill_ids: list[str]):
        vocabulary = romanian_vocabulary()
        self.seed = random_seed
        self.run = random.Random(f"run:{random_seed}").getrandbits(32)  # the ids' first 32 bits
        self.vocabulary = vocabulary
        self.counts = vocabulary["per_firm"]
        self.history_days = vocabulary["history_days"]
        self.pools = Pools.draw(random_seed)
        self.clock = Clock(as_of, days_back=self.history_days + 800, days_ahead=400)
        self.skill_ids = skill_ids
        users, cases = vocabulary["users"], vocabulary["cases"]
        documents, tasks = vocabulary["documents"], vocabulary["tasks"]
        self.user_status = weighted(users["statuses"])
        self.language = weighted(users["languages"])
        self.ai_level = weighted(users["ai_suggestion_levels"])
        self.case_type = weighted(cases["types"])
        self.case_status = weighted(cases["statuses"])
        self.case_priority = weighted(cases["priorities"])
        self.document_type = weighted(documents["types"])
        self.document_status = weighted(documents["statuses"])
        self.document_version = weighted(documents["versions"])
        self.document_format = weighted({k: v["weight"] for k, v in documents["formats"].items()})
        self.task_type = weighted(tasks["types"])
        self.task_status = weighted(tasks["statuses"])
        self.task_priority = weighted(tasks["priorities"])
        self.kind_slugs = {
            kind: ascii_slug(kind) for kinds in documents["kinds"].values() for kind in kinds
        }
        self._activity = {
            DOCUMENTS: self._documents,
            TASKS: self._tasks,
            USAGE_LOGS: self._usage_logs,
        }

    def dice(self, index: int) -> Dice:
        return Dice(f"{self.seed}:{index}")

    def vat_id(self, index: int) -> str:
        """The firm's VAT id: the first draw of its dice, so it is known without the rest."""
        return f"RO{self.dice(index).between(10**7, 10**8 - 1)}"

    def firm_rows(self, index: int) -> FirmRows:
        """Every row of one firm (what bulk_create would be given)."""
        firm, rows = self.parties_rows(index)
        for table in ACTIVITY_TABLES:
            rows[table] = self.activity_rows(table, firm)
        return rows

    def parties_rows(self, index: int) -> tuple[FirmContext, FirmRows]:
        """The firm, its users, clients and cases, and what its activity rows draw on."""
        dice = self.dice(index)
        vat_id = f"RO{dice.between(10**7, 10**8 - 1)}"
        rows: FirmRows = {}
        firm = self._firm(dice, index, vat_id, rows)
        self._users(dice, firm, rows)
        self._clients(dice, firm, rows)
        self._cases(dice, firm, rows)
        return firm, rows

    def activity_rows(self, table: Table, firm: FirmContext) -> list[str]:
        """Documents, tasks or usage logs of a firm, from dice of their own: a table can be made
        after every firm's parties, in any order."""
        dice = Dice(f"{self.seed}:{firm.index}:{table.name}")
        return self._activity[table](dice, firm, firm.ids.maker(table, dice))

    # --- one method per table, in foreign-key order ------------------------------------------

    def _firm(self, dice: Dice, index: int, vat_id: str, rows: FirmRows) -> FirmContext:
        pools, clock = self.pools, self.clock
        ids = RowIds(self.run, index)
        name = dice.pick(self.vocabulary["law_firm_names"]).format(
            first=dice.pick(pools.first_names),
            last=dice.pick(pools.last_names),
            last2=dice.pick(pools.last_names),
        )
        slug = ascii_slug(name)
        firm = FirmContext(
            index=index,
            id=ids.maker(FIRMS, dice)(),
            vat_id=vat_id,
            ids=ids,
            # The VAT id keeps the mail domain, and so every user's address, unique.
            domain=f"{slug}-{vat_id[2:]}.ro",
            created=clock.now - (self.history_days + dice.between(30, 700)) * MINUTES_PER_DAY,
        )
        created = clock.timestamp(firm.created)
        rows[FIRMS] = [
            f"{firm.id}\t{copy_text(name)}\t{dice.pick(pools.addresses)}\t{vat_id}\t"
            f"office@{slug}.ro\t{dice.pick(pools.phones)}\thttps://{slug}.ro\t{created}\t{created}\n"
        ]
        return firm

    def _users(self, dice: Dice, firm: FirmContext, rows: FirmRows) -> None:
        pools, clock = self.pools, self.clock
        lines, taken, active = [], set(), {}
        next_id = firm.ids.maker(USERS, dice)
        for role in apportion(self.vocabulary["users"]["roles"], self.counts["users"]):
            first, last = dice.pick(pools.first_names), dice.pick(pools.last_names)
            local = f"{ascii_slug(first, '.')}.{ascii_slug(last, '.')}"
            email, k = f"{local}@{firm.domain}", 1
            while email in taken:
                k += 1
                email = f"{local}{k}@{firm.domain}"
            taken.add(email)
            # The first of each role is active, so every case and task finds someone.
            status = dice.pick(self.user_status) if active.get(role) else "Active"
            user_id = next_id()
            created = firm.created + dice.between(0, self.history_days) * MINUTES_PER_DAY
            last_active = (
                NULL if status == "Pending" else clock.timestamp(dice.between(created, clock.now))
            )
            preferences = (
                f'{{"language": "{dice.pick(self.language)}", '
                f'"aiSuggestionLevel": "{dice.pick(self.ai_level)}"}}'
            )
            lines.append(
                f"{user_id}\t{firm.id}\t{email}\t{first}\t{last}\t{role}\t{status}\tf\tf\t"
                f"aad-{dice.uuid()}\t{preferences}\t!{dice.getrandbits(160):040x}\t"
                f"{clock.timestamp(created)}\t{last_active}\n"
            )
            if status == "Active":
                active.setdefault(role, []).append(user_id)
        rows[USERS] = lines
        firm.people = People(
            everyone=[user for users in active.values() for user in users],
            partners=active["Partner"],
            associates=active["Associate"],
        )

    def _clients(self, dice: Dice, firm: FirmContext, rows: FirmRows) -> None:
        pools, clock = self.pools, self.clock
        lines = []
        next_id = firm.ids.maker(CLIENTS, dice)
        for _ in range(self.counts["clients"]):
            client_id = next_id()
            if dice.random() < 0.6:
                name = dice.pick(pools.companies)
                email = f"office@{ascii_slug(name)}.ro"
            else:
                first, last = dice.pick(pools.first_names), dice.pick(pools.last_names)
                name = f"{first} {last}"
                email = f"{ascii_slug(first, '.')}.{ascii_slug(last, '.')}@" + dice.pick(
                    pools.email_domains
                )
            created = firm.created + dice.between(0, self.history_days) * MINUTES_PER_DAY
            updated = dice.between(created, clock.now)
            contact = f'{{"email": "{email}", "phone": "{dice.pick(pools.phones)}"}}'
            lines.append(
                f"{client_id}\t{firm.id}\t{name}\t{dice.pick(pools.addresses)}\t{contact}\t"
                f"{clock.timestamp(created)}\t{clock.timestamp(updated)}\n"
            )
            firm.clients.append((client_id, name, created))
        rows[CLIENTS] = lines

    def _cases(self, dice: Dice, firm: FirmContext, rows: FirmRows) -> None:
        pools, clock, vocabulary = self.pools, self.clock, self.vocabulary["cases"]
        matters, courts = vocabulary["matters"], vocabulary["courts"]
        shortest, longest = vocabulary["duration_days"]
        soonest_hearing, latest_hearing = vocabulary["next_hearing_in_days"]
        partners, associates = firm.people.partners, firm.people.associates
        lines, numbers = [], {}
        next_id = firm.ids.maker(CASES, dice)
        for _ in range(self.counts["cases"]):
            case_id = next_id()
            case_type = dice.pick(self.case_type)
            status = dice.pick(self.case_status)
            client_id, client_name, client_created = dice.pick(firm.clients)
            opened_day = max(
                client_created // MINUTES_PER_DAY,
                clock.today - dice.between(1, self.history_days),
            )
            year = clock.year(opened_day)
            numbers[year] = numbers.get(year, 0) + 1
            # CASE-YYYY-NNN with the firm's VAT digits before the number: unique across firms.
            case_number = f"CASE-{year}-{firm.vat_id[2:]}{numbers[year]:04d}"
            title = f"{dice.pick(matters[case_type])} - {client_name}"
            if case_type in ("Civil", "IntellectualProperty", "Labor"):
                title += f" c. {dice.pick(pools.companies)}"
            closed = status in ("Closed", "Archived")
            created = min(opened_day * MINUTES_PER_DAY + dice.between(420, 1000), clock.now - 1)
            if closed:
                closed_day = min(opened_day + dice.between(shortest, longest), clock.today - 1)
                closed_day = max(closed_day, opened_day)
                end = min((closed_day + 1) * MINUTES_PER_DAY - 1, clock.now)
                closed_date = clock.date(closed_day)
            else:
                end, closed_date = clock.now, NULL
            court = dice.pick(courts) if case_type != "Corporate" or dice.random() < 0.3 else ""
            judge = f"{dice.pick(pools.first_names)} {dice.pick(pools.last_names)}" if court else ""
            hearing = NULL
            if court and not closed:
                day = clock.today + dice.between(soonest_hearing, latest_hearing)
                hearing = clock.timestamp(day * MINUTES_PER_DAY + dice.between(7, 13) * 60)
            lines.append(
                f"{case_id}\t{firm.id}\t{case_number}\t{title}\t{case_type}\t{status}\t"
                f"{dice.pick(self.case_priority)}\t{client_id}\t{dice.pick(partners)}\t"
                f"{dice.pick(associates)}\t{dice.pick(pools.texts)}\t{clock.date(opened_day)}\t"
                f"{closed_date}\t{court}\t{judge}\t{hearing}\t{clock.timestamp(created)}\t"
                f"{clock.timestamp(dice.between(created, clock.now))}\n"
            )
            firm.cases.append((case_id, case_number, client_name, created, end, closed))
        rows[CASES] = lines

    def _documents(self, dice: Dice, firm: FirmContext, next_id: IdMaker) -> list[str]:
        pools, clock, vocabulary = self.pools, self.clock, self.vocabulary["documents"]
        kinds, formats = vocabulary["kinds"], vocabulary["formats"]
        ai_share = vocabulary["ai_generated_share"]
        authors = firm.people.everyone
        lines = []
        for n in range(1, self.counts["documents"] + 1):
            case_id, case_number, client_name, case_created, case_end, _ = dice.pick(firm.cases)
            document_type = dice.pick(self.document_type)
            kind = dice.pick(kinds[document_type])
            extension = dice.pick(self.document_format)
            file_format = formats[extension]
            file_name = f"{self.kind_slugs[kind]}-{n}.{extension}"
            created = dice.between(case_created, case_end)
            lines.append(
                f"{next_id()}\t{case_id}\t{dice.pick(authors)}\t{kind} - {client_name}\t"
                f"{dice.pick(pools.texts)}\t{document_type}\t{dice.pick(self.document_status)}\t"
                f"{file_name}\t{dice.between(*file_format['size_bytes'])}\t"
                f"{file_format['mime_type']}\t{storage_url(firm.vat_id, case_number, file_name)}\t"
                f"{dice.pick(self.document_version)}\t{'t' if dice.random() < ai_share else 'f'}\t"
                f"{clock.timestamp(created)}\t{clock.timestamp(dice.between(created, clock.now))}\n"
            )
        return lines

    def _tasks(self, dice: Dice, firm: FirmContext, next_id: IdMaker) -> list[str]:
        pools, clock, vocabulary = self.pools, self.clock, self.vocabulary["tasks"]
        kinds, unassigned = vocabulary["kinds"], vocabulary["unassigned_share"]
        earliest_due, latest_due = vocabulary["due_in_days"]
        least_hours, most_hours = vocabulary["estimated_hours"]
        people, leads = firm.people.everyone, firm.people.leads
        lines = []
        for _ in range(self.counts["tasks"]):
            case_id, _, client_name, case_created, case_end, closed = dice.pick(firm.cases)
            task_type = dice.pick(self.task_type)
            # Every task of a closed case was done before it closed.
            status = "Completed" if closed else dice.pick(self.task_status)
            created = dice.between(case_created, case_end)
            if closed:
                due = dice.between(created, case_end)
            else:
                due = (clock.today + dice.between(earliest_due, latest_due)) * MINUTES_PER_DAY + 900
            estimated = least_hours + dice.random() * (most_hours - least_hours)
            if status == "Completed":
                completed = dice.between(created, case_end)
                done, updated = clock.timestamp(completed), completed
                actual = f"{estimated * (0.5 + dice.random()):.1f}"
            else:
                done, actual, updated = NULL, NULL, dice.between(created, clock.now)
            assignee = NULL if dice.random() < unassigned else dice.pick(people)
            description = dice.pick(pools.texts) if dice.random() < 0.5 else ""
            lines.append(
                f"{next_id()}\t{case_id}\t{dice.pick(kinds[task_type])} - {client_name}\t"
                f"{description}\t{task_type}\t{status}\t{dice.pick(self.task_priority)}\t"
                f"{assignee}\t{dice.pick(leads)}\t{clock.timestamp(due)}\t{estimated:.1f}\t"
                f"{actual}\t{done}\t{clock.timestamp(created)}\t{clock.timestamp(updated)}\n"
            )
        return lines

    def _usage_logs(self, dice: Dice, firm: FirmContext, next_id: IdMaker) -> list[str]:
        clock, profile = self.clock, self.vocabulary["skills"]
        success_rate, price = profile["success_rate"], profile["usd_per_1k_tokens"] / 1000
        fastest, slowest = profile["execution_time_ms"]
        fewest, most = profile["tokens_used"]
        least_saved, most_saved = profile["tokens_saved_share"]
        errors = [copy_text(message) for message in profile["error_messages"]]
        window = profile["days"] * MINUTES_PER_DAY
        people = firm.people.everyone
        lines = []
        for _ in range(self.counts["usage_logs"]):
            tokens = dice.between(fewest, most)
            cost = f"{tokens * price:.6f}"
            if dice.random() < success_rate:
                saved = int(tokens * (least_saved + dice.random() * (most_saved - least_saved)))
                outcome = f"{saved}\t{cost}\tt\t{NULL}"
            else:
                outcome = f"0\t{cost}\tf\t{dice.pick(errors)}"
            lines.append(
                f"{next_id()}\t{dice.pick(self.skill_ids)}\t{dice.pick(people)}\t{firm.id}\t"
                f"{dice.between(fastest, slowest)}\t{tokens}\t{outcome}\t"
                f"{clock.timestamp(clock.now - dice.between(0, window))}\n"
            )
        return lines


def apportion(weights: dict[str, int], total: int) -> list[str]:
    """`total` values split by weight (largest remainder), e.g. 50 users into 5/20/25 roles."""
    whole = sum(weights.values())
    shares = {k: total * w / whole for k, w in weights.items()}
    counts = {k: int(s) for k, s in shares.items()}
    for k in sorted(shares, key=lambda k: shares[k] - counts[k], reverse=True)[
        : total - sum(counts.values())
    ]:
        counts[k] += 1
    return [k for k, n in counts.items() for _ in range(n)]


def start_of_day(moment: datetime.datetime | None = None) -> datetime.datetime:
    """Midnight UTC of today: synthetic time is anchored there, so one seed gives one dataset a
    day and nothing lies in the future."""
    moment = moment or datetime.datetime.now(datetime.UTC)
    return moment.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ensure_synthetic_skills(using: str, as_of: datetime.datetime) -> tuple[list[str], int]:
    """The synthetic skill catalog (found by skill_id): their ids as text and how many were new.
    Ids and dates are fixed (uuid5 of the skill_id, `as_of`), like every synthetic row."""
    catalog = romanian_vocabulary()["skills"]["catalog"]
    existing = dict(
        Skill.objects.using(using)
        .filter(skill_id__in=[s["skill_id"] for s in catalog])
        .values_list("skill_id", "id")
    )
    missing = [s for s in catalog if s["skill_id"] not in existing]
    created = Skill.objects.using(using).bulk_create(
        Skill(
            id=uuid.uuid5(SYNTHETIC_SKILL_NAMESPACE, s["skill_id"]),
            skill_id=s["skill_id"],
            display_name=s["display_name"],
            type=s["type"],
            category=s["category"],
            version="1.0.0",
            description=f"Synthetic skill for load tests: {s['display_name']}.",
            created_at=as_of,
        )
        for s in missing
    )
    SkillVersion.objects.using(using).bulk_create(
        SkillVersion(
            skill=s,
            version="1.0.0",
            content=f"# {s.display_name}",
            is_current=True,
            created_at=as_of,
            deployed_at=as_of,
        )
        for s in created
    )
    existing.update((skill.skill_id, skill.id) for skill in created)
    return [existing[s["skill_id"]].hex for s in catalog], len(created)


class LoadPipeline:
    """Runs a load's COPYs and statements, in the order given, on a thread of its own, so that
    PostgreSQL takes in (or indexes) one batch while Python makes the next: the wait for the
    server releases the GIL. The thread uses the caller's connection, inside the caller's
    transaction; the main thread does not touch that connection until close()."""

    def __init__(self, using: str, progress: Callable[[int], object] | None):
        self.connection = connections[using]
        self.connection.ensure_connection()
        self.raw = self.connection.connection
        self.progress = progress
        self.queue: queue.Queue[tuple[Table, list[str]] | list[str] | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="seed-load", daemon=True)
        self.thread.start()

    def copy(self, table: Table, lines: list[str]) -> None:
        self._put((table, lines))

    def execute(self, statements: list[str]) -> None:
        if statements:
            self._put(statements)

    def _put(self, work: tuple[Table, list[str]] | list[str]) -> None:
        if self.error is None:
            self.queue.put(work)
        if self.error is not None:
            self.close()

    def close(self) -> None:
        """Wait for the work queued; re-raise the first error of the thread (as Django's)."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            with self.connection.wrap_database_errors:
                raise self.error

    def _run(self) -> None:
        while (work := self.queue.get()) is not None:
            if self.error is not None:
                continue  # drain: the main thread raises at its next put()
            try:
                if isinstance(work, tuple):
                    self._copy(*work)
                else:
                    with self.raw.cursor() as cursor:
                        for statement in work:
                            cursor.execute(statement)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self.error = exc

    def _copy(self, table: Table, lines: list[str]) -> None:
        with self.raw.cursor() as cursor:
            statement = f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for start in range(0, len(lines), COPY_CHUNK_ROWS):
                    copy.write("".join(lines[start : start + COPY_CHUNK_ROWS]))
        if self.progress:
            self.progress(len(lines))


def drop_deferrable_maintenance(using: str, incoming: dict[str, int]) -> dict[str, list[str]]:
    """For each table that `incoming` rows will at least double: drop its secondary indexes and
    foreign keys, and return the statements that recreate them (table -> statements), to be run
    in the same transaction once the table is loaded, so a failure anywhere brings them back
    with everything else. Building an index once from sorted rows and checking a foreign key
    with one join beat maintaining both row by row; for small loads onto big tables the opposite
    holds, and those tables are left alone.

    Foreign keys stay checked at once (SET CONSTRAINTS ALL IMMEDIATE) until the caller runs
    RESTORE_DEFERRED_CONSTRAINTS; the drops hold ACCESS EXCLUSIVE locks until the transaction
    ends."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT relname, greatest(reltuples, 0)::bigint FROM pg_class "
            "WHERE relname = ANY(%s) AND relkind = 'r'",
            [list(incoming)],
        )
        present = dict(cursor.fetchall())
        tables = [t for t, rows in incoming.items() if rows and rows >= present.get(t, 0)]
        if not tables:
            return {}
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: rows written earlier in this
        # transaction wait for their checks, and ALTER TABLE refuses a table with pending
        # checks. Run them now, and check the load's rows at once as well.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        rebuild = {}
        for table in tables:
            # unique indexes stay, to refuse duplicates at once
            indexes = bulk.drop_secondary_indexes(
                cursor, table, unique=False, methods=bulk.PLAIN_METHODS
            )
            rebuild[table] = [
                *bulk.rebuild_statements(cursor.connection, table, indexes),
                *bulk.drop_foreign_keys(cursor, table),
            ]
    return rebuild


RESTORE_DEFERRED_CONSTRAINTS = "SET CONSTRAINTS ALL DEFERRED"


def seed_synthetic_firms(
    count: int,
    *,
    random_seed: int,
    using: str = "default",
    as_of: datetime.datetime | None = None,
    progress: ProgressFactory = no_progress,
) -> SyntheticResult:
    """Add `count` synthetic firms (skipping those whose VAT id exists) in the caller's
    transaction. The same seed on the same day gives the same rows, ids included.

    The load goes table group by table group: every firm's parties, then every firm's usage
    logs, documents and tasks. As soon as a group is in, the rebuild of its indexes is queued
    behind it, and the server builds them while Python makes the next group's rows."""
    if not 0 <= count <= MAX_FIRMS:
        raise ValueError(f"synthetic firms per run must be between 0 and {MAX_FIRMS:,}")
    result = SyntheticResult()
    with transaction.atomic(using=using):
        as_of = start_of_day(as_of)
        skill_ids, result.skills_created = ensure_synthetic_skills(using, as_of)
        generator = FirmGenerator(random_seed, as_of, skill_ids)
        vat_ids = [generator.vat_id(index) for index in range(count)]
        existing = set(
            Firm.objects.using(using).filter(vat_id__in=vat_ids).values_list("vat_id", flat=True)
        )
        new = []
        for index, vat_id in enumerate(vat_ids):
            if vat_id in existing:
                result.firms_found += 1
            else:
                existing.add(vat_id)
                new.append(index)
        per_firm = {FIRMS.name: 1, **{t.name: generator.counts[k] for k, t in _COUNTED.items()}}
        incoming = {table: rows * len(new) for table, rows in per_firm.items()}
        rebuild = drop_deferrable_maintenance(using, incoming)
        bar = progress(total=count * rows_per_firm(), desc="synthetic rows")
        bar.update(result.firms_found * rows_per_firm())
        pipeline = LoadPipeline(using, bar.update)
        try:
            firms = []
            for index in new:
                firm, rows = generator.parties_rows(index)
                firms.append(firm)
                for table, lines in rows.items():
                    pipeline.copy(table, lines)
            pipeline.execute([s for t in PARTY_TABLES for s in rebuild.get(t.name, [])])
            for table in ACTIVITY_TABLES:
                for firm in firms:
                    pipeline.copy(table, generator.activity_rows(table, firm))
                pipeline.execute(rebuild.get(table.name, []))
            if rebuild:  # constraints were made immediate for the load
                pipeline.execute([RESTORE_DEFERRED_CONSTRAINTS])
        finally:
            pipeline.close()
            bar.close()
        result.firms_created = len(new)
        result.rows = {table: rows for table, rows in incoming.items() if rows}
    return result


# per_firm keys of the vocabulary file -> the table they count
_COUNTED = {
    "users": USERS,
    "clients": CLIENTS,
    "cases": CASES,
    "documents": DOCUMENTS,
    "tasks": TASKS,
    "usage_logs": USAGE_LOGS,
}

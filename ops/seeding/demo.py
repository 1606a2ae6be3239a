"""`manage.py seed`: the demo dataset of docs/schema.md, read from the data files under fixtures/
and written idempotently (every row found again by a natural key) in one transaction, optionally
with synthetic firms at volume on top (ops.seeding.synthetic)."""

from __future__ import annotations

import contextlib
import datetime
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections
from django.db.models import Q
from django.utils import timezone

from cases.embeddings import EmbeddingError
from cases.models import (
    AuditAction,
    Case,
    CaseStatus,
    CaseType,
    Client,
    Document,
    DocumentStatus,
    DocumentType,
    Firm,
    Priority,
    Task,
    TaskStatus,
    TaskType,
    User,
    UserAuditLog,
    UserRole,
    UserStatus,
)
from cases.services import embed_documents
from core.progress import ProgressFactory, no_progress
from legalplatform.db.transactions import atomic_without_statement_timeout
from legalplatform.json_schema import validate_json_fields
from ops.safety import production_reason
from ops.seeding import synthetic
from ops.seeding.discovery import load_demo_data as load_discovery_demo_data
from ops.seeding.vocabulary import storage_url
from skills.models import Skill, SkillUsageLog, SkillVersion

DEFAULT_FIXTURES_DIR = settings.BASE_DIR / "fixtures"
# Usage logs of the demo skills get ids derived from this namespace, so a second run finds them.
DEMO_USAGE_NAMESPACE = uuid.UUID("0f5c3c1e-8d9a-4a57-9b1e-6f1d2c3b4a50")
# Calendar dates in the data files become these local times of day.
OFFICE_HOURS = {"created": 9, "document": 11, "hearing": 10, "due": 17}


class SeedError(Exception):
    """Seeding stopped; the message is one line saying what failed. Nothing was changed."""


# --- the data files -------------------------------------------------------------------------------


@dataclass
class DemoData:
    """The demo dataset as the files under fixtures/ describe it."""

    firm: dict
    password: str
    login: str
    users: list[dict]
    audit_logs: list[dict]
    clients: list[dict]
    cases: list[dict]
    documents: list[dict]
    tasks: list[dict]
    skills: list[dict]
    usage: dict
    root: Path

    @property
    def skill_ids(self) -> list[str]:
        return [skill["skill_id"] for skill in self.skills]


class _FixtureFile:
    """One data file, read and checked entry by entry; errors name the file and the entry."""

    def __init__(self, root: Path, relative: str):
        self.path = root / relative
        self.label = relative
        try:
            self.content = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SeedError(f"data file {self.path} is missing") from None
        except (OSError, ValueError) as exc:
            raise SeedError(f"data file {self.path} is not readable JSON: {exc}") from None

    def entries(self, key: str, required: tuple[str, ...]) -> list[dict]:
        entries = self.content.get(key)
        if not isinstance(entries, list) or not entries:
            raise SeedError(f"{self.label}: expected a non-empty list under {key!r}")
        for number, entry in enumerate(entries, 1):
            missing = [name for name in required if name not in entry]
            if missing:
                self.fail(number, entry, f"lacks {', '.join(missing)}")
        return entries

    def fail(self, number: int, entry: dict, problem: str):
        name = (
            entry.get("title") or entry.get("email") or entry.get("name") or entry.get("skill_id")
        )
        raise SeedError(f"{self.label}: entry {number} ({name!r}) {problem}")

    def check_choice(self, entries: list[dict], key: str, choices, optional: bool = False):
        allowed = set(choices.values) if hasattr(choices, "values") else set(choices)
        for number, entry in enumerate(entries, 1):
            value = entry.get(key)
            if value is None and optional:
                continue
            if value not in allowed:
                self.fail(number, entry, f"has {key} {value!r}, not one of {sorted(allowed)}")

    def check_unique(self, entries: list[dict], *keys: str):
        seen = set()
        for number, entry in enumerate(entries, 1):
            natural_key = tuple(entry[k] for k in keys)
            if natural_key in seen:
                self.fail(number, entry, f"repeats {'/'.join(keys)} {natural_key}")
            seen.add(natural_key)


def load_demo_data(fixtures_dir: Path | str | None = None) -> DemoData:
    """Read and check the demo data files; SeedError names the first problem found."""
    root = Path(fixtures_dir or DEFAULT_FIXTURES_DIR)
    firm_file = _FixtureFile(root, "cases/firm.json")
    users_file = _FixtureFile(root, "cases/users.json")
    clients_file = _FixtureFile(root, "cases/clients.json")
    cases_file = _FixtureFile(root, "cases/cases.json")
    documents_file = _FixtureFile(root, "cases/documents.json")
    tasks_file = _FixtureFile(root, "cases/tasks.json")
    skills_file = _FixtureFile(root, "skills/skills.json")

    firm = firm_file.content.get("firm") or {}
    if not firm.get("vat_id") or not firm.get("name"):
        raise SeedError(f"{firm_file.label}: the firm needs a name and a vat_id")

    users = users_file.entries("users", ("email", "first_name", "last_name", "role", "status"))
    users_file.check_choice(users, "role", UserRole)
    users_file.check_choice(users, "status", UserStatus)
    users_file.check_unique(users, "email")
    emails = {user["email"] for user in users}
    login = users_file.content.get("login")
    login_user = next((u for u in users if u["email"] == login), None)
    if not login_user or login_user["role"] != UserRole.PARTNER or not login_user.get("is_staff"):
        raise SeedError(f"{users_file.label}: 'login' must name a Partner who is staff")
    password = users_file.content.get("password")
    if not isinstance(password, str) or len(password) < 8:
        raise SeedError(f"{users_file.label}: 'password' must be at least 8 characters")
    audit_logs = users_file.entries("audit_logs", ("user", "action", "admin", "at"))
    users_file.check_choice(audit_logs, "action", AuditAction)
    users_file.check_choice(audit_logs, "user", emails)
    users_file.check_choice(audit_logs, "admin", emails)

    clients = clients_file.entries("clients", ("name", "address", "created"))
    clients_file.check_unique(clients, "name")

    cases = cases_file.entries(
        "cases", ("case_number", "title", "case_type", "status", "priority", "client", "opened")
    )
    cases_file.check_choice(cases, "case_type", CaseType)
    cases_file.check_choice(cases, "status", CaseStatus)
    cases_file.check_choice(cases, "priority", Priority)
    cases_file.check_choice(cases, "client", {client["name"] for client in clients})
    cases_file.check_choice(cases, "partner", emails, optional=True)
    cases_file.check_choice(cases, "associate", emails, optional=True)
    cases_file.check_unique(cases, "case_number")
    case_numbers = {case["case_number"] for case in cases}

    documents = documents_file.entries(
        "documents",
        ("case", "title", "document_type", "status", "file_name", "mime_type", "created_by"),
    )
    documents_file.check_choice(documents, "case", case_numbers)
    documents_file.check_choice(documents, "document_type", DocumentType)
    documents_file.check_choice(documents, "status", DocumentStatus)
    documents_file.check_choice(documents, "created_by", emails)
    documents_file.check_unique(documents, "case", "file_name")

    tasks = tasks_file.entries(
        "tasks", ("case", "title", "task_type", "status", "priority", "created_by", "due_in_days")
    )
    tasks_file.check_choice(tasks, "case", case_numbers)
    tasks_file.check_choice(tasks, "task_type", TaskType)
    tasks_file.check_choice(tasks, "status", TaskStatus)
    tasks_file.check_choice(tasks, "priority", Priority)
    tasks_file.check_choice(tasks, "assigned_to", emails, optional=True)
    tasks_file.check_choice(tasks, "created_by", emails)
    tasks_file.check_unique(tasks, "case", "title")

    skills = skills_file.entries(
        "skills", ("skill_id", "display_name", "type", "category", "versions", "usage")
    )
    skills_file.check_unique(skills, "skill_id")
    for number, skill in enumerate(skills, 1):
        current = [v for v in skill["versions"] if v.get("deprecated_days_ago") is None]
        if len(current) != 1:
            skills_file.fail(number, skill, "needs exactly one version without deprecated_days_ago")
    usage = skills_file.content.get("usage") or {}
    if not usage.get("error_messages") or "random_seed" not in usage or "days" not in usage:
        raise SeedError(f"{skills_file.label}: 'usage' needs random_seed, days, error_messages")

    return DemoData(
        firm=firm,
        password=password,
        login=login,
        users=users,
        audit_logs=audit_logs,
        clients=clients,
        cases=cases,
        documents=documents,
        tasks=tasks,
        skills=skills,
        usage=usage,
        root=root,
    )


# --- the report -----------------------------------------------------------------------------------


@dataclass
class Tally:
    what: str
    created: int
    found: int | None  # None: the loader does not tell
    note: str = ""


@dataclass
class DemoLogin:
    email: str
    password: str
    password_matches: bool


@dataclass
class SeedReport:
    """What a seed run did, for the command to print and tests to check."""

    database: str
    removed: dict[str, int] = field(default_factory=dict)
    tallies: list[Tally] = field(default_factory=list)
    login: DemoLogin | None = None
    synthetic: synthetic.SyntheticResult | None = None
    random_seed: int | None = None

    def tally(self, what: str, created: int, found: int | None, note: str = "") -> None:
        self.tallies.append(Tally(what, created, found, note))

    @property
    def created(self) -> int:
        return sum(t.created for t in self.tallies)


# --- seeding --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _step(what: str) -> Iterator[None]:
    """Turn any failure inside into a one-line SeedError naming the step."""
    try:
        yield
    except SeedError:
        raise
    except (DatabaseError, EmbeddingError, ValidationError, ValueError, TypeError, KeyError) as exc:
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        raise SeedError(f"seeding {what} failed: {reason}") from exc


class _Calendar:
    """Turns the data files' dates and day offsets into aware datetimes around one moment."""

    def __init__(self, now: datetime.datetime):
        self.now = now
        self.today = timezone.localdate(now)

    def at(self, day: datetime.date, hour: int) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))

    def date(self, text: str, hour: int = OFFICE_HOURS["created"]) -> datetime.datetime:
        return self.at(datetime.date.fromisoformat(text), hour)

    def days_ago(self, days: float | None) -> datetime.datetime | None:
        return None if days is None else self.now - datetime.timedelta(days=days)

    def in_days(self, days: int | None, hour: int) -> datetime.datetime | None:
        if days is None:
            return None
        return self.at(self.today + datetime.timedelta(days=days), hour)


def seed_database(
    *,
    using: str = "default",
    fixtures_dir: Path | str | None = None,
    reset: bool = False,
    scale: int = 0,
    random_seed: int | None = None,
    progress: ProgressFactory = no_progress,
    now: datetime.datetime | None = None,
) -> SeedReport:
    """Seed the demo dataset (and `scale` synthetic firms) in one transaction.

    Raises SeedError, with nothing changed, for a production database, bad data files or any
    failure while writing.
    """
    reason = production_reason(using)
    if reason:
        raise SeedError(
            f"refusing to seed: {reason}. The demo dataset has a published password and is "
            "for development and test databases only."
        )
    if scale < 0:
        raise SeedError(f"--scale must be 0 or more; got {scale}")
    if using != "default":
        # ops.seeding.discovery.load_demo_data writes through the default connection.
        raise SeedError("seed writes the discovery demo data to the default database only")
    data = load_demo_data(fixtures_dir)
    report = SeedReport(database=connections[using].settings_dict["NAME"])
    calendar = _Calendar(now or timezone.now())
    with atomic_without_statement_timeout(using):  # operator work, may be long
        if reset:
            with _step("the reset"):
                report.removed = remove_demo_data(data, using=using)
        _seed_demo(data, report, calendar, using)
        if scale:
            report.random_seed = random_seed if random_seed is not None else random.getrandbits(31)
            with _step("synthetic firms"):
                report.synthetic = synthetic.seed_synthetic_firms(
                    scale, random_seed=report.random_seed, using=using, progress=progress
                )
    return report


def _seed_demo(data: DemoData, report: SeedReport, calendar: _Calendar, using: str) -> None:
    with _step("the firm"):
        firm = _seed_firm(data, report, calendar, using)
    with _step("users"):
        login_existed = User.objects.using(using).filter(email=data.login).exists()
        users = _seed_users(data, firm, report, calendar, using)
        _seed_audit_logs(data, users, report, calendar, using)
    with _step("clients"):
        clients = _seed_clients(data, firm, report, calendar, using)
    with _step("cases"):
        cases = _seed_cases(data, firm, users, clients, report, calendar, using)
    with _step("documents"):
        _seed_documents(data, firm, users, cases, report, calendar, using)
    with _step("tasks"):
        _seed_tasks(data, firm, users, cases, report, calendar, using)
    with _step("skills"):
        _seed_skills(data, firm, users, report, calendar, using)
    with _step("discovery demo data"):
        _seed_discovery(data, report)
    login = users[data.login]
    report.login = DemoLogin(
        email=login.email,
        password=data.password,
        # Hashing is slow on purpose: only a login found from an earlier run needs checking.
        password_matches=not login_existed or check_password(data.password, login.password),
    )


def _seed_rows(what: str, report: SeedReport, using: str, existing, rows: list, key) -> dict:
    """Insert those of `rows` (unsaved instances) whose natural key, `key(row)`, is not among
    `existing` (a queryset); tally them and return every row, found or created, by its key."""
    found = {key(row): row for row in existing.using(using)}
    missing = {}
    for row in rows:
        if key(row) not in found:
            missing[key(row)] = row
    if missing:
        type(rows[0]).objects.using(using).bulk_create(missing.values())
    report.tally(what, len(missing), len(found))
    return {**found, **missing}


def _seed_firm(data: DemoData, report: SeedReport, calendar: _Calendar, using: str) -> Firm:
    fields = {k: v for k, v in data.firm.items() if k != "created"}
    firm = Firm.objects.using(using).filter(vat_id=fields["vat_id"]).first()
    if firm:
        report.tally("firm", 0, 1, f"{firm.name} ({firm.vat_id})")
        return firm
    firm = Firm(**fields, created_at=calendar.date(data.firm["created"]))
    firm.save(using=using)
    report.tally("firm", 1, 0, f"{firm.name} ({firm.vat_id})")
    return firm


def _seed_users(data, firm, report, calendar, using) -> dict[str, User]:
    encoded = make_password(data.password)  # one hash for all: hashing is deliberately slow
    users = [
        User(
            firm=firm,
            email=user["email"],
            first_name=user["first_name"],
            last_name=user["last_name"],
            role=user["role"],
            status=user["status"],
            azure_ad_id=user.get("azure_ad_id"),
            is_staff=user.get("is_staff", False),
            is_superuser=user.get("is_superuser", False),
            preferences=user.get("preferences", {}),
            password=encoded,
            created_at=calendar.date(user["joined"]),
            last_active=calendar.days_ago(user.get("last_active_days_ago")),
        )
        for user in data.users
    ]
    existing = User.objects.filter(email__in=[user.email for user in users])
    return _seed_rows("users", report, using, existing, users, key=lambda u: u.email)


def _seed_audit_logs(data, users, report, calendar, using) -> None:
    logs = [
        UserAuditLog(
            user=users[entry["user"]],
            admin_user=users[entry["admin"]],
            action=entry["action"],
            old_value=entry.get("old_value"),
            new_value=entry.get("new_value"),
            timestamp=calendar.date(entry["at"], hour=10),
        )
        for entry in data.audit_logs
    ]
    existing = UserAuditLog.objects.filter(user__in=list(users.values()))
    _seed_rows(
        "user audit logs",
        report,
        using,
        existing,
        logs,
        key=lambda log: (log.user_id, log.action, log.timestamp),
    )


def _seed_clients(data, firm, report, calendar, using) -> dict[str, Client]:
    clients = [
        Client(
            firm=firm,
            name=client["name"],
            address=client["address"],
            contact_info={"email": client.get("email", ""), "phone": client.get("phone", "")},
            created_at=calendar.date(client["created"]),
        )
        for client in data.clients
    ]
    existing = Client.objects.filter(firm=firm, name__in=[client.name for client in clients])
    return _seed_rows("clients", report, using, existing, clients, key=lambda c: c.name)


def _seed_cases(data, firm, users, clients, report, calendar, using) -> dict[str, Case]:
    cases = [
        Case(
            firm=firm,
            case_number=case["case_number"],
            title=case["title"],
            case_type=case["case_type"],
            status=case["status"],
            priority=case["priority"],
            client=clients[case["client"]],
            assigned_partner=users.get(case.get("partner")),
            assigned_associate=users.get(case.get("associate")),
            description=case.get("description", ""),
            opened_date=datetime.date.fromisoformat(case["opened"]),
            closed_date=case["closed"] and datetime.date.fromisoformat(case["closed"]),
            court_name=case.get("court_name", ""),
            judge_name=case.get("judge_name", ""),
            next_hearing_date=calendar.in_days(
                case.get("next_hearing_in_days"), OFFICE_HOURS["hearing"]
            ),
            created_at=calendar.date(case["opened"]),
        )
        for case in data.cases
    ]
    existing = Case.objects.filter(case_number__in=[case.case_number for case in cases])
    strangers = existing.using(using).exclude(firm=firm).values_list("case_number", flat=True)
    if strangers:
        raise SeedError(f"case number {strangers[0]} already belongs to another firm")
    return _seed_rows("cases", report, using, existing, cases, key=lambda c: c.case_number)


def _seed_documents(data, firm, users, cases, report, calendar, using) -> None:
    documents = [
        Document(
            case=cases[entry["case"]],
            created_by_user=users[entry["created_by"]],
            title=entry["title"],
            content=entry.get("content", ""),
            document_type=entry["document_type"],
            status=entry["status"],
            file_name=entry["file_name"],
            file_size_bytes=entry.get("file_size_bytes", 0),
            mime_type=entry["mime_type"],
            storage_url=storage_url("demo", entry["case"], entry["file_name"]),
            version=entry.get("version", 1),
            ai_generated=entry.get("ai_generated", False),
            created_at=calendar.date(entry["created"], OFFICE_HOURS["document"]),
        )
        for entry in data.documents
    ]
    existing = Document.objects.filter(case__firm=firm)
    _seed_rows(
        "documents", report, using, existing, documents, key=lambda d: (d.case_id, d.file_name)
    )
    run = embed_documents(within=existing.using(using), using=using)
    report.tally("embeddings", run.embedded, len(documents) - run.embedded, run.embedder)


def _seed_tasks(data, firm, users, cases, report, calendar, using) -> None:
    tasks = [
        Task(
            case=cases[entry["case"]],
            title=entry["title"],
            description=entry.get("description", ""),
            task_type=entry["task_type"],
            status=entry["status"],
            priority=entry["priority"],
            assigned_to_user=users.get(entry.get("assigned_to")),
            created_by_user=users[entry["created_by"]],
            due_date=calendar.in_days(entry["due_in_days"], OFFICE_HOURS["due"]),
            estimated_hours=entry.get("estimated_hours"),
            actual_hours=entry.get("actual_hours"),
            completed_at=calendar.days_ago(entry.get("completed_days_ago")),
            created_at=calendar.days_ago(entry.get("created_days_ago", 0)),
        )
        for entry in data.tasks
    ]
    existing = Task.objects.filter(case__firm=firm)
    _seed_rows("tasks", report, using, existing, tasks, key=lambda t: (t.case_id, t.title))


def _seed_skills(data, firm, users, report, calendar, using) -> None:
    author = users[data.login]
    skills = []
    for entry in data.skills:
        current = next(v for v in entry["versions"] if v.get("deprecated_days_ago") is None)
        validate_json_fields(Skill, {"metadata": entry.get("metadata", {})})
        skills.append(
            Skill(
                skill_id=entry["skill_id"],
                display_name=entry["display_name"],
                description=entry.get("description"),
                version=current["version"],
                type=entry["type"],
                category=entry["category"],
                metadata=entry.get("metadata", {}),
                created_by=author.id,
                created_at=calendar.days_ago(max(v["created_days_ago"] for v in entry["versions"])),
            )
        )
    existing = Skill.objects.filter(skill_id__in=data.skill_ids)
    skills = _seed_rows("skills", report, using, existing, skills, key=lambda s: s.skill_id)

    versions = [
        SkillVersion(
            skill=skills[entry["skill_id"]],
            version=version["version"],
            content=(
                f"# {entry['display_name']} {version['version']}\n\n"
                f"{entry.get('description', '')}\n\n{version.get('changelog', '')}"
            ),
            changelog=version.get("changelog"),
            is_current=version.get("deprecated_days_ago") is None,
            created_at=calendar.days_ago(version["created_days_ago"]),
            deployed_at=calendar.days_ago(version.get("deployed_days_ago")),
            deprecated_at=calendar.days_ago(version.get("deprecated_days_ago")),
            created_by=author.id,
        )
        for entry in data.skills
        for version in entry["versions"]
    ]
    existing = SkillVersion.objects.filter(skill__in=list(skills.values()))
    _seed_rows(
        "skill versions", report, using, existing, versions, key=lambda v: (v.skill_id, v.version)
    )

    logs = _demo_usage_logs(data, skills, firm, users, calendar)
    existing = SkillUsageLog.objects.filter(id__in=[log.id for log in logs])
    _seed_rows("skill usage logs", report, using, existing, logs, key=lambda log: log.id)


def _demo_usage_logs(data, skills, firm, users, calendar) -> list[SkillUsageLog]:
    """The demo skills' usage logs: drawn from a fixed seed, with ids derived from their number,
    spread over the `days` before `calendar.now`."""
    active = [u for u in users.values() if u.status == UserStatus.ACTIVE]
    window = datetime.timedelta(days=data.usage["days"])
    logs = []
    for entry in data.skills:
        profile = entry["usage"]
        rng = random.Random(f"{data.usage['random_seed']}:{entry['skill_id']}")
        for number in range(profile["logs"]):
            success = rng.random() < profile["success_rate"]
            tokens = rng.randint(*profile["tokens_used"])
            logs.append(
                SkillUsageLog(
                    id=uuid.uuid5(DEMO_USAGE_NAMESPACE, f"{entry['skill_id']}/{number}"),
                    skill=skills[entry["skill_id"]],
                    user_id=rng.choice(active).id,
                    workspace_id=firm.id,
                    execution_time_ms=rng.randint(*profile["execution_time_ms"]),
                    tokens_used=tokens,
                    tokens_saved=min(tokens, rng.randint(*profile["tokens_saved"]))
                    if success
                    else 0,
                    cost_usd=round(tokens * profile["usd_per_1k_tokens"] / 1000, 6),
                    success=success,
                    error_message=None if success else rng.choice(data.usage["error_messages"]),
                    metadata={"source": "demo-seed"},
                    executed_at=calendar.now - window * rng.random(),
                )
            )
    return logs


def _seed_discovery(data: DemoData, report: SeedReport) -> None:
    """Document types, templates, patterns and template usage, by the discovery app's own
    idempotent loader (its files are fixtures/discovery/)."""
    added = load_discovery_demo_data(data.root / "discovery")
    report.tally("discovery types", added.document_types, None)
    report.tally(
        "templates", added.templates, None, f"{added.patterns} patterns, {added.usage_logs} uses"
    )


# --- reset ----------------------------------------------------------------------------------------


def remove_demo_data(data: DemoData, *, using: str = "default") -> dict[str, int]:
    """Delete the demo firm with everything that belongs to it, and the demo skills with their
    versions and logs. Runs in the caller's transaction; returns rows removed per model."""
    removed: dict[str, int] = {}

    def delete(queryset) -> None:
        _, per_model = queryset.delete()
        for label, count in per_model.items():
            removed[label] = removed.get(label, 0) + count

    firm = Firm.objects.using(using).filter(vat_id=data.firm["vat_id"]).first()
    delete(Skill.objects.using(using).filter(skill_id__in=data.skill_ids))
    if firm is None:
        return removed
    users = User.objects.using(using).filter(firm=firm)
    delete(SkillUsageLog.objects.using(using).filter(workspace_id=firm.id))
    delete(Task.objects.using(using).filter(case__firm=firm))
    delete(Document.objects.using(using).filter(case__firm=firm))
    delete(Case.objects.using(using).filter(firm=firm))
    delete(Client.objects.using(using).filter(firm=firm))
    delete(UserAuditLog.objects.using(using).filter(Q(user__in=users) | Q(admin_user__in=users)))
    delete(users)
    delete(Firm.objects.using(using).filter(pk=firm.pk))
    return removed

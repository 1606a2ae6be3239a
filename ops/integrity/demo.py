"""`validate --expect-seed`: the demo firm's rows against the demo data files under fixtures/,
count for count and distribution for distribution (statuses, roles, edge cases of documents,
due dates from the day of seeding)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from cases.models import Document, Firm, Task, User
from core.integrity import FAIL, PASS, SAMPLE_SIZE, CheckResult, Database
from ops.seeding.demo import SeedError, load_demo_data
from skills.models import Skill, SkillUsageLog

DIACRITICS = set("ăâîșțĂÂÎȘȚ")
FIVE_MB, HUNDRED_KB = 5 * 1024 * 1024, 100 * 1024


def _due_bucket(days: float) -> str:
    """The demo dataset's due-date groups (docs/schema.md), in days from the day it was seeded."""
    if days < 0:
        return "overdue"
    if days < 7:
        return "within 7 days"
    return "in 7-30 days" if days <= 30 else "later"


def _document_traits(documents: Iterable[dict]) -> Counter:
    traits = Counter()
    for d in documents:
        traits["AI-generated"] += bool(d["ai_generated"])
        traits["several versions"] += d["version"] > 1
        traits["over 5 MB"] += d["file_size_bytes"] > FIVE_MB
        traits["under 100 KB"] += d["file_size_bytes"] < HUNDRED_KB
        traits["diacritic file name"] += bool(DIACRITICS & set(d["file_name"]))
        traits["empty content"] += d["content"] == ""
        traits["title over 200 characters"] += len(d["title"]) > 200
    return traits


def demo_dataset(database: Database, fixtures_dir: Path | str | None) -> list[CheckResult]:
    """The demo firm's rows against the demo data files: counts and every distribution."""
    try:
        data = load_demo_data(fixtures_dir)
    except SeedError as exc:
        return [CheckResult("demo", FAIL, detail=str(exc), rule="demo data files readable")]
    using = database.alias
    firm = Firm.objects.using(using).filter(vat_id=data.firm["vat_id"]).first()
    if firm is None:
        return [
            CheckResult(
                "demo",
                FAIL,
                "firms",
                f"no firm with VAT id {data.firm['vat_id']}",
                rule="demo firm exists",
            )
        ]
    users = User.objects.using(using).filter(firm=firm)
    documents = Document.objects.using(using).filter(case__firm=firm)
    tasks = Task.objects.using(using).filter(case__firm=firm)
    seeded_at = tasks.order_by("updated_at").values_list("updated_at", flat=True).first()
    # The columns whose values the demo data fixes, counted in the data and in the database.
    counted_columns = [
        ("users", data.users, users, ("email", "status", "role")),
        (
            "cases",
            data.cases,
            firm.cases.using(using),
            ("case_number", "status", "case_type", "priority"),
        ),
        ("documents", data.documents, documents, ("document_type", "status")),
        ("tasks", data.tasks, tasks, ("task_type", "status")),
    ]
    expectations = [
        (
            table,
            column,
            Counter(row[column] for row in rows),
            Counter(queryset.values_list(column, flat=True)),
        )
        for table, rows, queryset, columns in counted_columns
        for column in columns
    ]
    stored = documents.values(
        "ai_generated", "version", "file_size_bytes", "file_name", "content", "title"
    )
    expectations.append(
        (
            "documents",
            "edge cases",
            _document_traits(
                {**d, "content": d.get("content", ""), "version": d.get("version", 1)}
                for d in data.documents
            ),
            _document_traits(stored),
        )
    )
    expectations.append(
        (
            "documents",
            "embedding",
            Counter({"embedded": len(data.documents)}),
            Counter({"embedded": documents.filter(content_embedding__isnull=False).count()}),
        )
    )
    expectations.append(
        (
            "tasks",
            "unassigned",
            Counter({"unassigned": sum(t.get("assigned_to") is None for t in data.tasks)}),
            Counter({"unassigned": tasks.filter(assigned_to_user__isnull=True).count()}),
        )
    )
    if seeded_at:
        due = [
            (d - seeded_at) / timedelta(days=1)
            for d in tasks.values_list("due_date", flat=True)
            if d
        ]
        expectations.append(
            (
                "tasks",
                "due date from seeding",
                Counter(_due_bucket(t["due_in_days"] + 0.5) for t in data.tasks),
                Counter(_due_bucket(days) for days in due),
            )
        )
    skills = Skill.objects.using(using).filter(skill_id__in=data.skill_ids)
    expectations.append(
        (
            "skills",
            "skill_id",
            Counter(data.skill_ids),
            Counter(skills.values_list("skill_id", flat=True)),
        )
    )
    expectations.append(
        (
            "skill_versions",
            "per skill",
            Counter({s["skill_id"]: len(s["versions"]) for s in data.skills}),
            Counter(skills.values_list("skill_id", flat=True).filter(versions__isnull=False)),
        )
    )
    logs = SkillUsageLog.objects.using(using).filter(workspace_id=firm.id)
    expectations.append(
        (
            "skill_usage_logs",
            "per skill",
            Counter({s["skill_id"]: s["usage"]["logs"] for s in data.skills}),
            Counter(logs.values_list("skill__skill_id", flat=True)),
        )
    )
    results = []
    for table, what, expected, found in expectations:
        if +expected != +found:
            missing = sorted(str(k) for k in (expected - found))[:SAMPLE_SIZE]
            results.append(
                CheckResult(
                    "demo",
                    FAIL,
                    table,
                    f"{what}: expected {_counts(expected)}, found {_counts(found)}",
                    rule=f"demo {table} {what}",
                    count=sum(((expected - found) + (found - expected)).values()),
                    sample_ids=missing,
                )
            )
    return results or [
        CheckResult(
            "demo",
            PASS,
            detail=f"{len(expectations)} distributions of the demo firm match the data files",
        )
    ]


def _counts(counter: Counter) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=str)) + "}"

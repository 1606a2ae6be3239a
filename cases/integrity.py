"""The integrity rules of the practice data (core.integrity): dates in order, the deadlines and
hearings that lie ahead on purpose, and the search words the triggers keep."""

from cases.selectors import case_search_drift
from core.integrity import (
    FAIL,
    PASS,
    SAMPLE_SIZE,
    SKIP,
    CheckResult,
    Database,
    DateOrder,
    declare,
    register,
    sample,
)

declare(
    date_orders=[
        DateOrder("cases", "opened_date", "closed_date", constraint="cases_opened_before_closed"),
        DateOrder("tasks", "created_at", "completed_at"),
    ],
    future_allowed=[("tasks", "due_date"), ("cases", "next_hearing_date")],
)


@register("statistics")
def case_search_words(database: Database) -> list[CheckResult]:
    """The words search_cases reads (cases.search_vector, case_search_words) are those the
    triggers would keep."""
    table = "case_search_words"
    if not database.schema.has(table) or not database.schema.has("cases", "search_vector"):
        return [CheckResult("statistics", SKIP, table, "search words not migrated")]
    drift = case_search_drift(using=database.alias, sample=SAMPLE_SIZE)
    wrong = {kind: found for kind, found in drift.items() if found[0]}
    if not wrong:
        return [
            CheckResult(
                "statistics", PASS, table, "the words of every case, and only those, listed"
            )
        ]
    rule = (
        f"cases.search_vector and {table} = the words of number, title and client's name"
        " (repair: cases.services.refresh_case_search)"
    )
    ids = [f"{kind}: {item}" for kind, (_, items) in wrong.items() for item in items]
    counts = ", ".join(f"{count} {kind}" for kind, (count, _) in wrong.items())
    return [
        CheckResult(
            "statistics",
            FAIL,
            table,
            f"{rule}: {counts}{sample(ids[:SAMPLE_SIZE])}",
            rule=rule,
            count=sum(count for count, _ in wrong.values()),
            sample_ids=ids[:SAMPLE_SIZE],
        )
    ]

"""The integrity report as the operator commands print it (validate, and restore afterwards)."""

from collections import Counter

from core.commands import OperatorCommand, Styled
from core.integrity import FAIL, PASS, ValidationReport


def failure_message(report: ValidationReport) -> str:
    failures = len(report.failures)
    return f"validation failed: {failures} check{'s' if failures != 1 else ''} FAIL"


def write_validation_report(
    command: OperatorCommand, report: ValidationReport, *, parts: bool = False
) -> None:
    """`validating NAME`, one line per check with its status in colour, how the closed parts
    (months of the usage logs) were checked (with `parts`, one line each; else a count per
    table), then the summary."""
    style = {PASS: command.style.SUCCESS, FAIL: command.style.ERROR}
    command.stdout.write(f"validating {report.database}")
    command.write_table(
        ("CHECK", "TABLE", "STATUS", "DETAIL"),
        [
            (
                r.check,
                r.target,
                Styled(r.status, style.get(r.status, command.style.WARNING)),
                r.detail,
            )
            for r in report.results
        ],
    )
    if parts and report.parts:
        command.write_table(
            ("TABLE", "CLOSED PART", "CHECKED", "ROWS", "VERIFIED AT", "SECONDS"),
            [
                (
                    p.table,
                    p.part,
                    p.status,
                    "" if p.rows is None else f"{p.rows:,}",
                    p.verified_at or "",
                    "" if p.seconds is None else f"{p.seconds:.2f}",
                )
                for p in report.parts
            ],
            right=("ROWS", "SECONDS"),
        )
    else:
        for table in dict.fromkeys(p.table for p in report.parts):
            counts = Counter(p.status for p in report.parts if p.table == table)
            described = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            command.stdout.write(f"closed parts of {table}: {described}")
    summary = "all checks pass" if report.ok else f"{len(report.failures)} FAIL"
    command.stdout.write(f"{summary} ({report.seconds:.1f} s)")

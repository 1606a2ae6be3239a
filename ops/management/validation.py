"""The integrity report as the operator commands print it (validate, and restore afterwards)."""

from core.commands import OperatorCommand, Styled
from core.integrity import FAIL, PASS, ValidationReport


def failure_message(report: ValidationReport) -> str:
    failures = len(report.failures)
    return f"validation failed: {failures} check{'s' if failures != 1 else ''} FAIL"


def write_validation_report(command: OperatorCommand, report: ValidationReport) -> None:
    """`validating NAME`, one line per check with its status in colour, then the summary."""
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
    summary = "all checks pass" if report.ok else f"{len(report.failures)} FAIL"
    command.stdout.write(f"{summary} ({report.seconds:.1f} s)")

"""Screenshots of every admin page for review: each page of the demo dataset's admin (the index,
the reports, every model's list, add page and one change page) at 1366 px and at 390 px wide,
written as PNGs, with the pages that scroll sideways (the page, or a list within its box)
listed at the end.

    python bench/screenshot_tour.py [--out screenshots]

On a scratch database created on the configured server (the embedded one when DATABASE_URL is
unset), migrated and seeded, and dropped at the end; the admin is served by a server thread of
this process and looked at with Debian's Chromium (tests/browser.py), logged in as the demo
Partner (a superuser).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _bootstrap import ROOT, setup_django

setup_django()

from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test.testcases import LiveServerThread  # noqa: E402
from scratch import scratch_database  # noqa: E402

from cases.models import User  # noqa: E402
from ops.safety import production_reason  # noqa: E402
from ops.seeding.demo import seed_database  # noqa: E402
from tests.admin_tour import WIDTHS, admin_pages, layout  # noqa: E402
from tests.browser import Browser  # noqa: E402
from tests.test_admin_browser import log_in  # noqa: E402


def visit(page, base: str, path: str, target: Path) -> dict:
    response = page.goto(base + path)
    page.wait_for_load_state("load")
    page.screenshot(path=str(target), full_page=True)
    return {"status": response.status if response else None, **layout(page)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="(screenshots/)")
    args = parser.parse_args()
    if reason := production_reason():
        parser.error(f"refusing to create a scratch database on this server: {reason}")

    problems = []
    with scratch_database("tour") as name:
        print(f"scratch database {name}: migrating and seeding …", file=sys.stderr)
        call_command("migrate", verbosity=0)
        demo = seed_database()
        pages = admin_pages(User.objects.get(email=demo.login.email))
        server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        base = f"http://127.0.0.1:{server.port}"
        started = time.perf_counter()
        try:
            for width in WIDTHS:
                folder = args.out / str(width)
                folder.mkdir(parents=True, exist_ok=True)
                browser = Browser(viewport={"width": width, "height": 900})
                try:
                    browser.run(log_in, base, demo.login.email, demo.login.password)
                    for admin_page in pages:
                        target = folder / f"{admin_page.name}.png"
                        seen = browser.run(visit, base, admin_page.path, target)
                        if (
                            seen["status"] != 200
                            or seen["overflow"] > 0
                            or seen["listOverflow"] > 0
                        ):
                            problems.append((width, admin_page, seen))
                finally:
                    browser.close()
        finally:
            server.terminate()
    print(
        f"{len(pages)} pages at {', '.join(map(str, WIDTHS))} px: {2 * len(pages)} PNGs in "
        f"{args.out} ({time.perf_counter() - started:.0f} s)"
    )
    for width, admin_page, seen in problems:
        print(
            f"  {width} px {admin_page.path}: status {seen['status']}, "
            f"page {seen['overflow']} px wider than the window, its list "
            f"{seen['listOverflow']} px wider than its box"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

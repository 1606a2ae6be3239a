"""Every page of the admin, for the screenshot tour (bench/screenshot_tour.py) and the layout
tests: the index, the reports, and for each registered model its list, its add page and the
change page of one of its rows; and what a page's layout looks like in a browser."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from legalplatform.admin import REPORTS

# The widths every page is looked at: a laptop, and a phone.
WIDTHS = (1366, 390)


@dataclass(frozen=True)
class AdminPage:
    name: str  # a file name: app-model-view
    path: str


def admin_pages(user) -> list[AdminPage]:
    """The admin's pages as `user` (a superuser sees them all) can open them."""
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = [AdminPage("index", reverse("admin:index"))]
    pages += [AdminPage(f"report-{r.name}", reverse(f"admin:{r.name}")) for r in REPORTS]
    for model, model_admin in sorted(
        admin.site._registry.items(), key=lambda item: item[0]._meta.label
    ):
        opts = model._meta
        name, url = (
            f"{opts.app_label}-{opts.model_name}",
            f"admin:{opts.app_label}_{opts.model_name}",
        )
        if not model_admin.has_view_or_change_permission(request):
            continue
        pages.append(AdminPage(f"{name}-list", reverse(f"{url}_changelist")))
        row = model_admin.get_queryset(request).order_by().first()
        if row is not None:
            pages.append(AdminPage(f"{name}-change", reverse(f"{url}_change", args=[row.pk])))
        if model_admin.has_add_permission(request):
            pages.append(AdminPage(f"{name}-add", reverse(f"{url}_add")))
    return pages


def layout(page) -> dict:
    """What a loaded page's layout looks like: by how many px the page, and a list's table in
    its box, scroll sideways, and the font sizes (px, as drawn) of the text in its charts."""
    return page.evaluate(
        """() => ({
            overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
            listOverflow: (r => r ? r.scrollWidth - r.clientWidth : 0)(
                document.querySelector('#changelist .results')),
            chartText: Array.from(document.querySelectorAll('svg.chart text'),
                t => Math.round(parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)),
        })"""
    )

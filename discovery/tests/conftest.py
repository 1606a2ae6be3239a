"""Fixtures shared by the discovery tests: templates to log usage against, and a staff client."""

import pytest

from discovery.models import RomanianTemplate


@pytest.fixture
def make_template(db):
    """Create a template; each call a new slug."""
    created = []

    def make(**fields):
        slug = fields.pop("template_slug", f"template-{len(created) + 1}")
        template = RomanianTemplate.objects.create(
            template_slug=slug,
            template_name_ro=fields.pop("template_name_ro", f"Șablon {slug}"),
            template_name_en=fields.pop("template_name_en", f"Template {slug}"),
            template_structure=fields.pop("template_structure", {"sections": []}),
            **fields,
        )
        created.append(template)
        return template

    return make


@pytest.fixture
def staff_client(client, django_user_model):
    """A test client logged in as a staff superuser (the admin requires staff)."""
    user = django_user_model.objects.create_superuser("admin@demo.lawfirm.ro", None)  # no hashing
    client.force_login(user)
    return client

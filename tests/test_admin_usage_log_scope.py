"""Usage logs in the admin are scoped like cases (docs/admin.md, "Firms"): a staff user of firm A
who is not a superuser lists, opens and exports only the logs of firm A's users, skill usage
and template usage alike; another firm's log is a 404; a superuser sees every firm's."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from cases.models import Firm, User
from cases.tests.builders import make_user
from discovery.models import TemplateUsageLog
from discovery.tests.builders import make_template
from skills.models import SkillUsageLog
from skills.tests.builders import log, make_skill

pytestmark = pytest.mark.django_db

MODELS = [SkillUsageLog, TemplateUsageLog]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def world():
    """One skill use and one template use by a user of each firm, and one of nobody."""
    skill, template = make_skill(), make_template()
    rows = {}
    for name, vat in (("Alpha Legal", "RO1001"), ("Beta Legal", "RO2002")):
        user = make_user(Firm.objects.create(name=name, vat_id=vat), User.Role.PARTNER)
        user.user_permissions.add(
            *Permission.objects.filter(
                codename__in=[
                    "view_skillusagelog",
                    "change_templateusagelog",
                    "view_templateusagelog",
                    "view_romaniantemplate",
                ]
            )
        )
        rows[vat] = {
            "user": User.objects.get(pk=user.pk),
            SkillUsageLog: SkillUsageLog.objects.bulk_create([log(skill, user=user)])[0],
            TemplateUsageLog: TemplateUsageLog.objects.create(template=template, user_id=user.pk),
        }
    nobodys = {
        SkillUsageLog: SkillUsageLog.objects.bulk_create([log(skill)])[0],
        TemplateUsageLog: TemplateUsageLog.objects.create(template=template),
    }
    return rows["RO1001"], rows["RO2002"], nobodys, template


@pytest.mark.parametrize("model", MODELS)
def test_a_firm_user_lists_and_exports_only_the_firms_logs(client, world, model):
    mine, theirs, nobodys, _ = world
    client.force_login(mine["user"])
    listed = client.get(url(model, "changelist"))
    assert listed.status_code == 200
    assert [row.pk for row in listed.context["cl"].result_list] == [mine[model].pk]
    if model is SkillUsageLog:  # the CSV export: the list's own rows
        export = b"".join(client.get(url(model, "export")).streaming_content).decode()
        assert export.count("\n") == 2 and mine["user"].email in export
        assert theirs["user"].email not in export


@pytest.mark.parametrize("model", MODELS)
def test_another_firms_log_is_a_404(client, world, model):
    mine, theirs, nobodys, _ = world
    client.force_login(mine["user"])
    assert client.get(url(model, "change", mine[model].pk)).status_code == 200
    for other in (theirs[model], nobodys[model]):
        assert client.get(url(model, "change", other.pk)).status_code == 404
        assert client.get(url(model, "history", other.pk)).status_code == 404


@pytest.mark.parametrize("model", MODELS)
def test_a_superuser_sees_every_firms_logs(client, world, model):
    client.force_login(User.objects.create_superuser("root@example.com", None))
    assert client.get(url(model, "changelist")).context["cl"].result_count == 3


def test_a_templates_page_shows_other_firms_uses_only_to_superusers(client, world):
    mine, theirs, nobodys, template = world
    page = url(type(template), "change", template.pk)
    client.force_login(mine["user"])
    content = client.get(page).content.decode()
    assert str(theirs[TemplateUsageLog].pk) not in content
    assert str(mine[TemplateUsageLog].pk) not in content and "Uses of your firm" in content
    client.force_login(User.objects.create_superuser("root@example.com", None))
    content = client.get(page).content.decode()
    assert str(theirs[TemplateUsageLog].pk) in content and str(mine[TemplateUsageLog].pk) in content

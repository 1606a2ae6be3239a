"""The three roles as Django groups with their permissions (docs/schema.md, "users"): a Partner
approves documents and manages cases; an Associate manages cases; a Paralegal does neither but
drafts documents and works on tasks. cases.backends.RoleBackend grants a user the permissions
of the group named after their role. Superusers may tune the groups in the admin afterwards;
reversing this migration removes the groups (the permissions themselves stay)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def _perms(actions, *models):
    return [f"{action}_{model}" for model in models for action in actions]


# Frozen here: later changes to the roles need a new migration.
ROLE_PERMISSIONS = {
    "Partner": [
        *_perms(["view", "add", "change", "delete"], "client", "case", "document", "task"),
        "approve_document",
        *_perms(["view", "change"], "firm"),
        *_perms(["view", "add", "change"], "user"),
        "view_userauditlog",
    ],
    "Associate": [
        *_perms(["view", "add", "change"], "client", "case", "document", "task"),
        "delete_task",
        "view_firm",
        "view_user",
    ],
    "Paralegal": [
        *_perms(["view"], "client", "case"),
        *_perms(["view", "add", "change"], "document", "task"),
        "view_firm",
        "view_user",
    ],
}


def create_role_groups(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); make sure the ones
    # this migration grants exist already on a fresh database.
    cases_config = apps.get_app_config("cases")
    cases_config.models_module = True
    create_permissions(cases_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    cases_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        permissions = Permission.objects.using(db).filter(
            content_type__app_label="cases", codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"permissions missing for role {role}: {sorted(missing)}")
        group.permissions.set(permissions)


def delete_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=list(ROLE_PERMISSIONS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_search_indexes_and_embedding_state"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, delete_role_groups)]

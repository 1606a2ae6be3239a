"""A small practice with real-looking people planted in every place the schema holds personal
data, for the anonymization tests: `plant_personal_data()` returns the values that must be gone
afterwards."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from cases.models import Case, Client, Document, Firm, Task, User, UserAuditLog
from discovery.models import (
    DocumentPattern,
    DocumentTypeRegistry,
    DocumentTypeVariation,
    RomanianTemplate,
    TemplateUsageLog,
)
from skills.models import Skill, SkillUsageLog, SkillUsagePrune

PEOPLE = [
    # first, last, email, role, status
    ("Alexandru", "Vasilescu", "alexandru.vasilescu@cabinet-vasilescu.ro", "Partner", "Active"),
    ("Ioana", "Marinescu", "ioana.marinescu@cabinet-vasilescu.ro", "Associate", "Active"),
    ("Radu", "Constantinescu", "radu.constantinescu@cabinet-vasilescu.ro", "Associate", "Pending"),
    ("Ștefania", "Dobrescu", "stefania.dobrescu@cabinet-vasilescu.ro", "Paralegal", "Inactive"),
]
CLIENTS = [
    (
        "Bogdan Lazarescu",
        "Strada Lipscani 17, București",
        "bogdan.lazarescu@gmail.com",
        "0722555101",
    ),
    (
        "Nordvest Logistica SRL",
        "Calea Turzii 214, Cluj-Napoca",
        "office@nordvest-logistica.ro",
        "0264101202",
    ),
    ("Carmen Zamfirescu", "Bulevardul Unirii 8, Iași", "carmen.zamfirescu@yahoo.com", "0744333444"),
]
JUDGES = [
    "Judecător Octavian Pirvulescu",
    "Judecător Octavian Pirvulescu",
    "Judecător Silvia Neagoe",
]


def plant_personal_data() -> dict[str, list[str]]:
    """Create the practice; return {what: [original values that must disappear]}."""
    now = timezone.now()
    firm = Firm.objects.create(
        name="Cabinet de Avocat Alexandru Vasilescu",
        address="Strada Episcopiei 3, București",
        vat_id="RO31415926",
        email="contact@cabinet-vasilescu.ro",
        phone="+40-21-555-0199",
        website="https://cabinet-vasilescu.ro",
    )
    users = []
    for index, (first, last, email, role, status) in enumerate(PEOPLE):
        user = User.objects.create(
            email=email,
            # A real-looking hash (hashing a password here would only slow the tests down).
            password="pbkdf2_sha256$1000000$k3JxQ0s2$T1RrZ0lYb2hSeGRvQ2hXbmJmY3Z1ZkR4N0k9",
            first_name=first,
            last_name=last,
            role=role,
            status=status,
            firm=firm,
            azure_ad_id=f"6f1c2d3e-0000-4000-8000-00000000000{index}",
            preferences={"language": "ro", "signature": f"{first} {last}, avocat"},
        )
        User.objects.filter(pk=user.pk).update(created_at=now - dt.timedelta(days=40 - index))
        users.append(user)
    partner, associate = users[0], users[1]
    UserAuditLog.objects.create(
        user=associate,
        admin_user=partner,
        action="RoleChanged",
        old_value="Paralegal",
        new_value="Associate",
    )
    UserAuditLog.objects.create(
        user=associate,
        admin_user=partner,
        action="Activated",
        old_value=associate.email,
        new_value="Ioana Marinescu",
    )
    clients = []
    for name, address, email, phone in CLIENTS:
        clients.append(
            Client.objects.create(
                firm=firm,
                name=name,
                address=address,
                contact_info={"email": email, "phone": phone, "notes": f"prefers calls, {name}"},
            )
        )
    cases = []
    for index, judge in enumerate(JUDGES):
        cases.append(
            Case.objects.create(
                firm=firm,
                case_number=f"CASE-2024-10{index}",
                title=f"{clients[index].name} vs Mobila Grup SA",
                case_type=["Civil", "Corporate", "Family"][index],
                status=["Active", "OnHold", "Closed"][index],
                client=clients[index],
                assigned_partner=partner,
                assigned_associate=associate,
                description=f"Dispute involving {clients[index].name}, see email from "
                f"{clients[index].contact_info['email']}",
                opened_date=dt.date(2024, 1, 10 + index),
                court_name="Tribunalul București",
                judge_name=judge,
            )
        )
    for index, case in enumerate(cases):
        Document.objects.create(
            case=case,
            created_by_user=associate,
            title=f"Contract {case.client.name} {index}",
            content=f"Între {case.client.name}, domiciliat în {case.client.address}, și ...",
            document_type=["Contract", "Pleading", "Motion"][index],
            status=["Draft", "Review", "Filed"][index],
            file_name=f"contract-{case.client.name.split()[0].lower()}-lăzărescu.pdf",
            mime_type="application/pdf",
            file_size_bytes=1000 * (index + 1),
            storage_url=f"r2://legal-docs/{case.id}/contract-{case.client.name.split()[-1]}.pdf",
            content_embedding=[0.5] * 1536,
        )
        Task.objects.create(
            case=case,
            title=f"Call {case.client.name}",
            description=f"Phone {case.client.contact_info['phone']}",
            task_type="ClientCommunication",
            created_by_user=partner,
            assigned_to_user=associate if index else None,
        )
    skill = Skill.objects.create(
        skill_id="legal-contract-analysis-v1",
        display_name="Contract analysis",
        version="1.0.0",
        type="document_analysis",
        category="legal",
        description="Finds risky clauses.",
    )
    SkillUsageLog.objects.create(
        skill=skill,
        user_id=associate.id,
        execution_time_ms=1200,
        tokens_used=900,
        tokens_saved=300,
        input_data={"client": CLIENTS[0][0], "pages": 3},
        output_data={"summary": f"Contract with {CLIENTS[2][0]} is balanced"},
        metadata={"requested_by": associate.email},
        error_message=None,
    )
    SkillUsageLog.objects.create(
        skill=skill,
        user_id=partner.id,
        execution_time_ms=50,
        tokens_used=10,
        success=False,
        error_message=f"could not parse document of {CLIENTS[1][0]}",
    )
    registry = DocumentTypeRegistry.objects.create(
        discovered_type_original="Contract de Vânzare-Cumpărare",
        discovered_type_normalized="contract_vanzare_cumparare",
        primary_language="ro",
        reviewed_by=partner.email,
    )
    if not DocumentTypeVariation.objects.exists():  # record_discovery writes one; create didn't
        DocumentTypeVariation.objects.create(
            discovered_type_normalized=registry.discovered_type_normalized,
            primary_language="ro",
            variation=registry.discovered_type_original,
        )
    DocumentPattern.objects.create(
        pattern_type="clause",
        pattern_text_ro="Vânzătorul garantează cumpărătorul contra evicțiunii.",
        pattern_text_en="The seller warrants the buyer against eviction.",
        category="guarantees",
    )
    template = RomanianTemplate.objects.create(
        template_name_ro="Contract de vânzare",
        template_name_en="Sales contract",
        template_slug="contract-vanzare",
        document_type=registry,
        template_structure={"sections": ["parties", "object", "price"]},
        created_by="Alexandru Vasilescu",
        last_modified_by=associate.email,
    )
    TemplateUsageLog.objects.create(
        template=template,
        user_id=associate.id,
        user_satisfaction_score=4,
        use_case=f"sale contract for {CLIENTS[2][0]}",
        metadata={"client_phone": CLIENTS[2][3]},
    )
    SkillUsagePrune.objects.create(  # an operator's prune of usage logs, by login
        pruned_by=partner.email, before=now.date().replace(day=1), partitions=[], rows=0
    )
    LogEntry.objects.create(
        user=partner,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(associate.pk),
        object_repr=str(associate),
        action_flag=CHANGE,
        change_message=json.dumps([{"changed": {"fields": ["Email"]}}, associate.email]),
    )
    session = SessionStore()
    session["_auth_user_id"] = str(partner.pk)
    session["display_name"] = "Alexandru Vasilescu"
    session.create()
    return {
        "users": [value for person in PEOPLE for value in person[:3]]
        + [f"{first} {last}" for first, last, *_ in PEOPLE]
        + [f"6f1c2d3e-0000-4000-8000-00000000000{index}" for index in range(len(PEOPLE))],
        "clients": [value for client in CLIENTS for value in client],
        "judges": ["Octavian Pirvulescu", "Silvia Neagoe"],
        "firm": [
            "Cabinet de Avocat Alexandru Vasilescu",
            "Strada Episcopiei 3, București",
            "RO31415926",
            "contact@cabinet-vasilescu.ro",
            "+40-21-555-0199",
            "https://cabinet-vasilescu.ro",
        ],
    }


# An invented person, written into every column the rules mask (plant_everywhere).
PLANTED_PERSON = {
    "name": "Zamfira Quintescu",
    "cnp": "2900202123457",
    "phone": "+40 722 999 888",
    "iban": "RO49AAAA1B31007593840001",
    "email": "zamfira.quintescu@private-mail.ro",
}


def plant_everywhere() -> list[str]:
    """Write PLANTED_PERSON into one row of every column settings.ANONYMIZATION masks (as much
    of her as the column's length allows; a JSON column gets her under a key, an array as an
    element); returns the table.column labels. The list comes from the rules, so a new masked
    column is planted in without editing the tests; a table without a row fails here."""
    from django.conf import settings
    from django.db import connection
    from psycopg import sql

    from ops.anonymization.rules import needs_classification

    planted = []
    with connection.cursor() as cursor:
        for table, rules in settings.ANONYMIZATION.items():
            if rules == "delete":
                continue
            cursor.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypmod - 4"
                " FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0"
                " AND NOT a.attisdropped",
                [table],
            )
            columns = {name: (sql_type, length) for name, sql_type, length in cursor.fetchall()}
            for column, rule in rules.items():
                sql_type, length = columns[column]
                if rule.startswith("kept:") or not needs_classification(sql_type):
                    continue
                value = _her_values(length if sql_type.startswith(("character", "var")) else 0)
                if sql_type.startswith("json"):
                    expression = sql.SQL("jsonb_build_object('note', {}::text)")
                elif sql_type.endswith("]"):
                    expression = sql.SQL("ARRAY[{}::text]")
                else:
                    expression = sql.SQL("{}::text")
                statement = sql.SQL(
                    "UPDATE {t} SET {c} = {e} WHERE ctid = (SELECT min(ctid) FROM {t})"
                ).format(
                    t=sql.Identifier(table),
                    c=sql.Identifier(column),
                    e=expression.format(sql.Literal(value)),
                )
                cursor.execute(statement.as_string(cursor.connection))
                assert cursor.rowcount == 1, f"plant_personal_data() has no row in {table}"
                planted.append(f"{table}.{column}")
    return planted


def _her_values(length: int) -> str:
    """As many of PLANTED_PERSON's values as fit in `length` characters (0: no limit)."""
    text = ""
    for value in PLANTED_PERSON.values():
        candidate = f"{text}, {value}" if text else value
        if length <= 0 or len(candidate) <= length:
            text = candidate
    return text

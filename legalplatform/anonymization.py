"""The classification of every text, varchar, JSON, array and tsvector column of every table the
project owns: masked by a named rule, or kept as it is with a one-line reason (`kept:<reason>`).
It is settings.ANONYMIZATION (settings.py imports it; tests override it there); `manage.py
check` fails on a column missing here (ops/checks.py), and `anonymize` refuses to run
(ops/anonymization/rules.py, `classification_problems`). Pure data, read before Django is set
up.

Strategies (ops/anonymization/rules.py applies them):
  "person:<template>"  a value that identifies someone (name, email, address, phone, judge);
                       {n} = the row's stable number (created_at, then id), {v} = the number of
                       the distinct original value (the same judge gets the same number),
                       {ext} = the original's file extension (".pdf").
                       Originals are searched as words anywhere in the database.
  "text:<template>"    free text and labels (titles, file names); originals searched as whole
                       values (names inside them are searched as users' and clients').
  "lorem"              lorem ipsum of the original's length.
  "uuid"               a fresh random UUID (an identifier: searched as words).
  "redact"             "[redacted]"; in JSON every string leaf (keys, numbers, booleans stay).
  "people"             a user's email or full name, or a client's name, becomes their new one;
                       choice values stay; anything else becomes "[redacted]".
  "courts"             a court of ops/anonymization/courts.py stays, anything else "[redacted]".
  "clear"              NULL (or '' / {} where NULL is not allowed).
  "unusable_password"  Django's unusable password ("!" and random characters).
  "kept:<reason>"      left as it is, for the reason given (a choice, a key, code's names…);
                       the shape scan still checks every value of it before the commit.
NULL and empty values stay as they are, so presence and distributions are kept. Firm fields are
replaced too (a sole practitioner's firm is a person).
"""

CHOICE = "kept: one of the field's choices"
IDS = "kept: ids of rows of this database"
DJANGO = "kept: names Django writes from the code (apps, models, permissions, migrations)"
SKILLS = "kept: the skill catalog, written by the platform's authors about skills, not people"
DERIVED = "kept: derived by trigger from masked columns, and rewritten with them"

ANONYMIZATION = {
    "auth_group": {"name": "kept: a permission group, named by the firm's admins for a role"},
    "auth_permission": {"name": DJANGO, "codename": DJANGO},
    "django_content_type": {"app_label": DJANGO, "model": DJANGO},
    "django_migrations": {"app": DJANGO, "name": DJANGO},
    "migration_records": {
        "app": DJANGO,
        "name": DJANGO,
        "checksum": "kept: a SHA-256 of a migration file",
    },
    "firms": {
        "name": "person:Demo Law Firm {n}",
        "address": "person:Strada Exemplu {n}, Bucharest, Romania",
        "vat_id": "person:RO00{n}",
        "email": "person:office{n}@example.com",
        "phone": "person:+40-700-000-{n}",
        "website": "person:https://firm{n}.example.com",
    },
    "users": {
        "first_name": "text:Demo",
        "last_name": "person:User {n}",
        "email": "person:demo{n}@example.com",
        "azure_ad_id": "uuid",
        "preferences": "redact",
        "password": "unusable_password",
        "role": CHOICE,
        "status": CHOICE,
    },
    "user_audit_logs": {"old_value": "people", "new_value": "people", "action": CHOICE},
    "clients": {
        "name": "person:Demo Client {n}",
        "address": "person:Strada Client {n}, Bucharest, Romania",
        "contact_info": 'person:{{"email": "client{n}@example.com", "phone": "+40-711-000-{n}"}}',
    },
    "cases": {
        "title": "text:Case {n}",
        "description": "lorem",
        "judge_name": "person:Judge {v}",
        "court_name": "courts",
        "case_number": "kept: a firm's docket number (letters and digits), no person",
        "case_type": CHOICE,
        "status": CHOICE,
        "priority": CHOICE,
        "search_vector": DERIVED + " (title, description)",
    },
    "case_search_words": {"word": DERIVED + " (the words of cases.search_vector)"},
    "documents": {
        "title": "text:Document {n}",
        "content": "lorem",
        "file_name": "text:document-{n}{ext}",
        "storage_url": "text:r2://legal-docs/anonymized/document-{n}{ext}",
        "content_embedding": "clear",
        "embedding_source_hash": "clear",
        "content_hash": "kept: generated column, the md5 of the new content",
        "document_type": CHOICE,
        "status": CHOICE,
        "mime_type": "kept: a media type",
        "embedding_model": "kept: the name of an embedding model",
    },
    "tasks": {
        "title": "text:Task {n}",
        "description": "lorem",
        "task_type": CHOICE,
        "status": CHOICE,
        "priority": CHOICE,
    },
    "skills": {
        "skill_id": SKILLS,
        "display_name": SKILLS,
        "description": SKILLS,
        "version": SKILLS,
        "type": SKILLS,
        "category": SKILLS,
        "metadata": SKILLS,
    },
    "skill_versions": {"version": SKILLS, "content": SKILLS, "changelog": SKILLS},
    "skill_usage_logs": {
        "error_message": "redact",
        "input_data": "redact",
        "output_data": "redact",
        "metadata": "redact",
    },
    # Not a model's (skills 0010): figures per skill and day, pending a fold; no text column.
    "skill_usage_deltas": {},
    "skill_usage_prunes": {
        "pruned_by": "clear",  # an operator's login
        "partitions": "kept: names, bounds and row counts of dropped partitions",
        "backup": "kept: a directory of this deployment",
    },
    # validate's record of verified months (skills 0017): names, fingerprints, no person.
    "skill_usage_verified_months": {
        "partition": "kept: a partition's name",
        "rules": "kept: a fingerprint of validate's row rules",
    },
    "skill_usage_verified_keys": {"column": "kept: a column's name"},
    "document_type_registry": {
        "discovered_type_original": "text:Tip de document {n}",
        "discovered_type_english": "text:Document type {n}",
        # Renaming the key carries document_type_variations along (ON UPDATE CASCADE).
        "discovered_type_normalized": "text:document_type_{n}",
        "common_clauses": "redact",
        "typical_structure": "redact",
        "reviewed_by": "people",
        "primary_language": CHOICE,
        "mapping_status": CHOICE,
        "document_category": "kept: a category of documents (contract, notice, filing…)",
        "mapped_skill_id": "kept: a skills.skill_id",
        "sample_document_ids": IDS,
    },
    "document_type_variations": {
        "variation": "text:Variantă {n}",
        "discovered_type_normalized": "kept: follows document_type_registry (ON UPDATE CASCADE)",
        "primary_language": CHOICE,
    },
    "romanian_templates": {
        "template_structure": "redact",
        "standard_clauses": "redact",
        "variable_mappings": "redact",
        "created_by": "people",
        "last_modified_by": "people",
        "template_name_ro": "text:Șablon {n}",
        "template_name_en": "text:Template {n}",
        "template_slug": "text:template-{n}",
        "legal_category": CHOICE,
        "civil_code_references": "kept: articles of the Civil Code (public law)",
        "jurisdiction": "kept: an ISO country code",
        "version": "kept: a version number",
        "source_document_ids": IDS,
    },
    "document_patterns": {
        "pattern_text_ro": "lorem",
        "pattern_text_en": "lorem",
        "pattern_type": CHOICE,
        "category": "kept: a category of patterns, a label",
        "document_sources": IDS,
        "used_in_templates": IDS,
    },
    "template_usage_logs": {"use_case": "redact", "metadata": "redact"},
    "django_admin_log": {
        "object_repr": "people",
        "change_message": "redact",
        "object_id": "kept: a primary key",
    },
    "django_session": "delete",
}

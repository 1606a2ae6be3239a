"""documents.firm_id is the firm of the document's case, kept by the database (migration
cases.0004): whatever writes the row, and when a document or a case moves to another firm."""

from django.db import connection

from cases.models import Case, Document
from cases.tests.builders import make_case, make_document


def firm_in_database(document):
    return Document.objects.values_list("firm_id", flat=True).get(pk=document.pk)


def test_a_new_document_gets_its_cases_firm_and_the_instance_knows_it(firm_a, partner):
    document = make_document(make_case(firm_a), author=partner)
    assert document.firm_id == firm_a.pk  # read back on INSERT, not guessed by Python
    assert firm_in_database(document) == firm_a.pk


def test_bulk_created_documents_get_their_cases_firm(firm_a, firm_b, partner, partner_b):
    cases = [make_case(firm_a), make_case(firm_b)]
    template = make_document(cases[0], author=partner)
    created = Document.objects.bulk_create(
        [
            Document(
                case=case,
                created_by_user=partner if case.firm == firm_a else partner_b,
                title=f"Bulk {i}",
                document_type=template.document_type,
                file_name="bulk.pdf",
                mime_type="application/pdf",
                storage_url="r2://legal-docs/bulk.pdf",
            )
            for i, case in enumerate(cases)
        ]
    )
    assert [d.firm_id for d in created] == [firm_a.pk, firm_b.pk]
    assert [firm_in_database(d) for d in created] == [firm_a.pk, firm_b.pk]


def test_a_firm_written_by_hand_is_replaced_by_the_cases(firm_a, firm_b, partner):
    document = make_document(make_case(firm_a), author=partner)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE documents SET firm_id = %s WHERE id = %s", [firm_b.pk, document.pk])
        cursor.execute(
            "INSERT INTO documents (id, case_id, firm_id, created_by_user_id, title, document_type,"
            " file_name, mime_type, storage_url)"
            " SELECT gen_random_uuid(), case_id, %s, created_by_user_id, 'By hand', document_type,"
            " file_name, mime_type, storage_url FROM documents WHERE id = %s RETURNING firm_id",
            [firm_b.pk, document.pk],
        )
        assert cursor.fetchone()[0] == firm_a.pk
    assert firm_in_database(document) == firm_a.pk


def test_a_document_moved_to_another_firms_case_moves_firm(firm_a, firm_b, partner):
    document = make_document(make_case(firm_a), author=partner)
    document.case = make_case(firm_b)
    document.save()
    assert firm_in_database(document) == firm_b.pk


def test_a_case_moved_to_another_firm_takes_its_documents(firm_a, firm_b, partner):
    case, other = make_case(firm_a), make_case(firm_a)
    moved = [make_document(case, author=partner) for _ in range(2)]
    stays = make_document(other, author=partner)
    Case.objects.filter(pk=case.pk).update(firm=firm_b)
    assert [firm_in_database(d) for d in moved] == [firm_b.pk, firm_b.pk]
    assert firm_in_database(stays) == firm_a.pk

"""The shape scan of `anonymize`: after the rules ran and before the commit, every value left in
every text, JSON, array and tsvector column (views included; verification.py feeds it the same
distinct values it searches the originals in) is checked for personal data by its shape, whoever
wrote it: e-mail addresses, phone numbers (Romanian and E.164), Romanian CNPs with a valid check
digit, IBANs that pass mod-97, card numbers that pass Luhn. Values the rules themselves wrote
are not hits (an e-mail address at a reserved domain such as example.com, a phone of a rule's
template); anything else rolls the run back, reported by table.column and kind, never value.

Set-based: SQL functions in pg_temp, called only for the values a cheap test (an "@", or 8
digits or more) lets through; the regular expressions run on those few.
"""

from __future__ import annotations

from psycopg import sql

from ops.anonymization.rules import Shape, execute, is_generated

# IBAN lengths by country (the IBAN registry): a candidate counts only at its country's length.
IBAN_LENGTHS = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK"], 20),
    **dict.fromkeys(["CH", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "IQ", "TL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["LY", "PT"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU"], 30),
    **dict.fromkeys(["MT", "SC"], 31),
    **dict.fromkeys(["LC"], 32),
}
# Domains reserved for examples and tests (RFC 2606, RFC 6761): nobody's address.
RESERVED_DOMAIN = r"(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$"
# ARE patterns. "Not inside a longer word or number" is a lookbehind / lookahead on letters and
# digits (a UUID's or a hash's digits are not a card number).
EMAIL = r"([A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}))"
PHONE_ROMANIAN = r"(?<![0-9A-Za-z+])(0[237](?:[ .-]?[0-9]){8})(?![0-9A-Za-z])"
PHONE_E164 = r"(?<![0-9A-Za-z])(\+[1-9](?:[ .()-]{0,2}[0-9]){7,14})(?![0-9A-Za-z])"
CNP = r"(?<![0-9A-Za-z])([1-9][0-9]{12})(?![0-9A-Za-z])"
IBAN = r"(?<![0-9A-Za-z])([A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30})(?![0-9A-Za-z])"
CARD = r"(?<![0-9A-Za-z-])([2-6][0-9](?:[ -]?[0-9]){11,17})(?![0-9A-Za-z])"
# The issuers' prefixes and lengths of card numbers (Visa, Mastercard, Amex, Diners, Discover,
# JCB): a long number of another shape (a timestamp, an account) is not taken for a card.
CARD_ISSUERS = (
    r"^(4[0-9]{12}([0-9]{3}){0,2}|5[1-5][0-9]{14}|2(2[2-9][1-9]|2[3-9][0-9]|[3-6][0-9]{2}"
    r"|7[01][0-9]|720)[0-9]{12}|3[47][0-9]{13}|3(0[0-5]|[68][0-9])[0-9]{11}"
    r"|6(011|5[0-9]{2}|4[4-9][0-9])[0-9]{12,15}|35(2[89]|[3-8][0-9])[0-9]{12,15})$"
)
MIN_DIGITS = 8  # the fewest digits any of the numbers above has

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.anonymize_is_generated(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$ SELECT {generated} $fn$;

CREATE OR REPLACE FUNCTION pg_temp.anonymize_cnp_valid(d text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    -- month and day in range, and the check digit: the weighted sum of the first 12 digits
    -- (weights 279146358279) modulo 11, where 10 counts as 1
    SELECT substr(d, 4, 2)::int BETWEEN 1 AND 12 AND substr(d, 6, 2)::int BETWEEN 1 AND 31
       AND (SELECT CASE WHEN s % 11 = 10 THEN 1 ELSE s % 11 END
              FROM (SELECT sum(substr(d, i, 1)::int * substr('279146358279', i, 1)::int) AS s
                      FROM generate_series(1, 12) AS i) AS weighted) = substr(d, 13, 1)::int
$fn$;

CREATE OR REPLACE FUNCTION pg_temp.anonymize_luhn_valid(d text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    -- every second digit from the right doubled (its digits summed): the total ends in 0
    SELECT sum(CASE WHEN i % 2 = 0 THEN (2 * x) / 10 + (2 * x) % 10 ELSE x END) % 10 = 0
      FROM (SELECT i, substr(reverse(d), i, 1)::int AS x
              FROM generate_series(1, length(d)) AS i) AS digits
$fn$;

CREATE OR REPLACE FUNCTION pg_temp.anonymize_iban_valid(candidate text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
    compact text := replace(candidate, ' ', '');
    wanted int := ({lengths}::jsonb ->> left(compact, 2))::int;
    rearranged text;
    remainder int := 0;
    c text;
BEGIN
    -- at its country's length (a word after it may have been taken in: cut at a group's end)
    IF wanted IS NULL OR length(compact) < wanted
       OR (length(compact) > wanted AND wanted % 4 <> 0) THEN
        RETURN false;
    END IF;
    rearranged := substr(left(compact, wanted), 5) || left(compact, 4);
    FOREACH c IN ARRAY regexp_split_to_array(rearranged, '') LOOP
        IF c BETWEEN '0' AND '9' THEN
            remainder := (remainder * 10 + c::int) % 97;
        ELSE  -- A = 10 … Z = 35
            remainder := (remainder * 100 + ascii(c) - 55) % 97;
        END IF;
    END LOOP;
    RETURN remainder = 1;
END
$fn$;

CREATE OR REPLACE FUNCTION pg_temp.anonymize_personal_data_kinds(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT array_remove(ARRAY[
        CASE WHEN strpos(value, '@') > 0 AND EXISTS (
                SELECT FROM regexp_matches(value, {email}, 'g') AS m
                 WHERE lower(m[2]) !~ {reserved})
             THEN 'e-mail address' END,
        CASE WHEN EXISTS (
                SELECT FROM regexp_matches(value, {phone_ro}, 'g') AS m
                 WHERE NOT pg_temp.anonymize_is_generated(m[1]))
               OR EXISTS (
                SELECT FROM regexp_matches(value, {phone_e164}, 'g') AS m
                 WHERE NOT pg_temp.anonymize_is_generated(m[1]))
             THEN 'phone number' END,
        CASE WHEN EXISTS (
                SELECT FROM regexp_matches(value, {cnp}, 'g') AS m
                 WHERE pg_temp.anonymize_cnp_valid(m[1]))
             THEN 'CNP' END,
        CASE WHEN EXISTS (
                SELECT FROM regexp_matches(value, {iban}, 'g') AS m
                 WHERE pg_temp.anonymize_iban_valid(m[1]))
             THEN 'IBAN' END,
        CASE WHEN EXISTS (
                SELECT FROM regexp_matches(value, {card}, 'g') AS m,
                            LATERAL (SELECT regexp_replace(m[1], '[^0-9]', '', 'g') AS d) AS n
                 WHERE n.d ~ {issuers} AND pg_temp.anonymize_luhn_valid(n.d))
             THEN 'card number' END], NULL)
$fn$;
"""


def create_shape_functions(cursor, raw_shapes: list[Shape]) -> None:
    """The pg_temp functions of the scan, for the values of this run's rules."""
    import json

    execute(
        cursor,
        sql.SQL(FUNCTIONS_SQL).format(
            generated=is_generated(sql.SQL("value"), raw_shapes),
            lengths=sql.Literal(json.dumps(IBAN_LENGTHS, sort_keys=True)),
            email=sql.Literal(EMAIL),
            reserved=sql.Literal(RESERVED_DOMAIN),
            phone_ro=sql.Literal(PHONE_ROMANIAN),
            phone_e164=sql.Literal(PHONE_E164),
            cnp=sql.Literal(CNP),
            iban=sql.Literal(IBAN),
            card=sql.Literal(CARD),
            issuers=sql.Literal(CARD_ISSUERS),
        ),
    )


def personal_data_kinds(value: sql.Composable) -> sql.Composable:
    """The kinds of personal data `value` holds (text[]), or NULL when it cannot hold any: no
    "@" and fewer than MIN_DIGITS digits, or a single word of lower-case letters and digits
    with a letter (a hash, a hex id: every number above must stand apart from letters, an IBAN
    is upper case). String functions only: they spare most values the regular expressions."""
    return sql.SQL(
        "CASE WHEN (strpos({v}, '@') > 0"
        " OR octet_length({v}) - octet_length(translate({v}, '0123456789', '')) >= {digits})"
        " AND NOT (translate({v}, {word}, '') = ''"
        " AND translate({v}, '0123456789', '') <> '')"
        " THEN pg_temp.anonymize_personal_data_kinds({v}) END"
    ).format(
        v=value,
        digits=sql.Literal(MIN_DIGITS),
        word=sql.Literal("0123456789abcdefghijklmnopqrstuvwxyz"),
    )

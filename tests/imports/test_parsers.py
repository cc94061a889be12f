"""The parsers alone (no database): each fixture, in the layout of a real bank's export, reads into the rows
a person sees in it, and every broken row is named by its row number."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from finance_mcp.imports import detect_format, parse
from finance_mcp.imports.values import BadValue, read_amount

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def read(name: str, **options: object) -> object:
    return parse((FIXTURES / name).read_text(encoding="utf-8"), **options)  # type: ignore[arg-type]


def rows_of(name: str, **options: object) -> list[tuple[int, dt.date, Decimal, str | None, str | None]]:
    parsed = parse((FIXTURES / name).read_text(encoding="utf-8"), **options)  # type: ignore[arg-type]
    assert parsed.problems == [], parsed.problems
    return [(r.row, r.date, r.amount, r.description, r.merchant) for r in parsed.rows]


D = Decimal


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sparkasse_de.csv", "csv"),
        ("chase_us.csv", "csv"),
        ("bank_ofx1.ofx", "ofx"),
        ("card_ofx2.ofx", "ofx"),
        ("quicken.qfx", "qfx"),
        ("quicken.qif", "qif"),
        ("statement.camt053.xml", "camt053"),
        ("statement_v08.camt053.xml", "camt053"),
    ],
)
def test_the_format_is_recognised_from_the_content(name: str, expected: str) -> None:
    assert detect_format((FIXTURES / name).read_text(encoding="utf-8")) == expected


def test_a_sparkasse_csv_with_semicolons_decimal_commas_and_a_preamble() -> None:
    assert rows_of("sparkasse_de.csv") == [
        (5, dt.date(2026, 11, 3), D("-54.37"), "REWE SAGT DANKE 4711", "REWE Markt GmbH"),
        (6, dt.date(2026, 11, 5), D("3250.00"), "Gehalt November", "Arbeitgeber AG"),
        (7, dt.date(2026, 11, 7), D("-1234.56"), "Tankstelle Aral 123", "ARAL AG"),
        (8, dt.date(2026, 11, 7), D("-3.20"), "Bäckerei Müller", "Müller"),
        (9, dt.date(2026, 11, 7), D("-3.20"), "Bäckerei Müller", "Müller"),
    ]


def test_two_identical_rows_of_one_file_get_different_fingerprints() -> None:
    parsed = parse((FIXTURES / "sparkasse_de.csv").read_text(encoding="utf-8"))
    assert len({row.fingerprint for row in parsed.rows}) == 5


def test_an_ing_csv_signs_its_amounts_by_af_and_bij() -> None:
    assert rows_of("ing_nl.csv") == [
        (2, dt.date(2026, 11, 2), D("-23.45"), "Pasvolgnr: 001 02-11-2026 18:04", "Albert Heijn 1403"),
        (3, dt.date(2026, 11, 3), D("2100.00"), "Salaris november", "Werkgever BV"),
        (4, dt.date(2026, 11, 4), D("-12.80"), "OV-chipkaart", "NS Reizigers"),
    ]


def test_a_chase_csv_reads_month_first_and_keeps_its_categories() -> None:
    parsed = parse((FIXTURES / "chase_us.csv").read_text(encoding="utf-8"))
    assert [(r.date, r.amount, r.category) for r in parsed.rows] == [
        (dt.date(2026, 11, 28), D("-5.75"), "Food & Drink"),
        (dt.date(2026, 11, 27), D("-1234.99"), "Shopping"),
        (dt.date(2026, 11, 25), D("2500.00"), None),
        (dt.date(2026, 11, 13), D("-86.12"), "Groceries"),
    ]
    assert parsed.rows[3].description == "WHOLE FOODS, AUSTIN"


def test_a_french_csv_with_debit_and_credit_columns_and_spaced_thousands() -> None:
    assert rows_of("credit_agricole_fr.csv") == [
        (2, dt.date(2026, 11, 2), D("-45.90"), "CB CARREFOUR CITY PARIS 11", None),
        (3, dt.date(2026, 11, 4), D("2850.00"), "VIR SEPA SALAIRE NOVEMBRE", None),
        (4, dt.date(2026, 11, 13), D("-1102.37"), "PRLV SEPA EDF", None),
    ]


def test_a_spanish_tab_separated_csv_reads_day_first() -> None:
    assert rows_of("santander_es.csv") == [
        (2, dt.date(2026, 11, 1), D("-62.15"), "Compra Mercadona Madrid", None),
        (3, dt.date(2026, 11, 15), D("1980.00"), "Nómina Noviembre", None),
        (4, dt.date(2026, 11, 20), D("-74.30"), "Recibo Iberdrola", None),
    ]


def test_unknown_headers_are_a_problem_until_a_mapping_names_them() -> None:
    refused = parse((FIXTURES / "custom_headers.csv").read_text(encoding="utf-8"))
    assert [p.row for p in refused.problems] == [0]
    assert "mapping" in refused.problems[0].reason
    mapping = {"date": "Booked", "amount": "Sum", "description": "Text"}
    assert rows_of("custom_headers.csv", mapping=mapping) == [
        (2, dt.date(2026, 11, 1), D("-10.00"), "Kiosk", None),
        (3, dt.date(2026, 11, 2), D("20.00"), "Refund", None),
    ]


def test_a_mapping_naming_a_missing_column_says_which_columns_there_are() -> None:
    parsed = parse("Booked;Sum\n2026-01-01;1,00\n", mapping={"date": "Booked", "amount": "Total"})
    assert parsed.problems[0].row == 0
    assert "'Total'" in parsed.problems[0].reason
    assert "'Sum'" in parsed.problems[0].reason


def test_a_date_format_overrides_the_guess() -> None:
    content = "Date,Amount,Description\n03/04/2026,-1.00,x\n"
    assert parse(content).rows[0].date == dt.date(2026, 3, 4)
    assert "date_format" in parse(content).notes[0]
    assert parse(content, date_format="DD/MM/YYYY").rows[0].date == dt.date(2026, 4, 3)


def test_every_broken_csv_row_is_named_by_its_line() -> None:
    parsed = parse((FIXTURES / "broken_de.csv").read_text(encoding="utf-8"))
    assert [r.row for r in parsed.rows] == [2]
    assert [p.row for p in parsed.problems] == [3, 4, 5, 6]
    reasons = [p.reason for p in parsed.problems]
    assert "31.11.2026" in reasons[0]
    assert "empty" in reasons[1]
    assert "2 decimal" in reasons[2]


def test_ofx_1_sgml_keeps_fitid_and_decodes_entities() -> None:
    parsed = parse((FIXTURES / "bank_ofx1.ofx").read_text(encoding="utf-8"))
    assert parsed.format == "ofx"
    assert [(r.row, r.date, r.amount, r.bank_id) for r in parsed.rows] == [
        (1, dt.date(2026, 11, 2), D("-42.17"), "202611020001"),
        (2, dt.date(2026, 11, 15), D("1500.00"), "202611150001"),
        (3, dt.date(2026, 11, 20), D("-200.00"), "202611200001"),
    ]
    assert parsed.rows[2].description == "Rent & utilities"


def test_ofx_2_xml_credit_card_statement() -> None:
    parsed = parse((FIXTURES / "card_ofx2.ofx").read_text(encoding="utf-8"))
    assert [(r.date, r.amount, r.merchant, r.description) for r in parsed.rows] == [
        (dt.date(2026, 11, 4), D("-64.20"), "TRADER JOE'S #123", "TRADER JOE'S #123"),
        (dt.date(2026, 11, 10), D("300.00"), "AUTOPAY PAYMENT", "THANK YOU"),
    ]


def test_qfx_is_ofx_with_intuit_tags() -> None:
    parsed = parse((FIXTURES / "quicken.qfx").read_text(encoding="utf-8"))
    assert parsed.format == "qfx"
    assert [(r.amount, r.bank_id) for r in parsed.rows] == [
        (D("-18.50"), "FIT-20261106-01"),
        (D("2000.00"), "FIT-20261115-01"),
    ]


def test_broken_ofx_rows_and_files_are_named() -> None:
    broken = parse((FIXTURES / "broken.ofx").read_text(encoding="utf-8"))
    assert [r.row for r in broken.rows] == [1]
    assert [p.row for p in broken.problems] == [2, 3]
    garbage = parse((FIXTURES / "garbage.ofx").read_text(encoding="utf-8"))
    assert [p.row for p in garbage.problems] == [0]


def test_qif_records_with_mixed_year_forms_and_transfers() -> None:
    parsed = parse((FIXTURES / "quicken.qif").read_text(encoding="utf-8"))
    assert parsed.problems == []
    assert [(r.row, r.date, r.amount, r.merchant, r.category) for r in parsed.rows] == [
        (2, dt.date(2026, 11, 3), D("-25.00"), "COSTCO WHOLESALE", "Shopping"),
        (8, dt.date(2026, 11, 5), D("1250.00"), "PAYCHECK", "Salary"),
        (13, dt.date(2026, 11, 9), D("-300.00"), "Transfer to savings", None),
        (18, dt.date(2026, 11, 9), D("-4.50"), "COFFEE SHOP", None),
        (22, dt.date(2026, 11, 9), D("-4.50"), "COFFEE SHOP", None),
    ]


def test_broken_qif_records_are_named_by_their_first_line() -> None:
    parsed = parse((FIXTURES / "broken.qif").read_text(encoding="utf-8"))
    assert [p.row for p in parsed.problems] == [6, 10]


def test_camt053_booked_entries_with_their_bank_references() -> None:
    parsed = parse((FIXTURES / "statement.camt053.xml").read_text(encoding="utf-8"))
    assert [(r.date, r.amount, r.merchant, r.description, r.bank_id) for r in parsed.rows] == [
        (dt.date(2026, 11, 3), D("-89.90"), "Stadtwerke München", "Abschlag Strom 11/2026", "2026110300123"),
        (dt.date(2026, 11, 27), D("2400.00"), "Beispiel GmbH", "Gehalt November", "2026112700456"),
    ]
    assert parsed.rows_read == 3
    assert "PDNG" in parsed.notes[0]


def test_camt053_version_08_reads_the_same() -> None:
    parsed = parse((FIXTURES / "statement_v08.camt053.xml").read_text(encoding="utf-8"))
    assert [(r.date, r.amount, r.merchant) for r in parsed.rows] == [
        (dt.date(2026, 12, 1), D("-12.40"), "Migros Zürich")
    ]


def test_broken_camt053_entries_are_named_and_a_dtd_is_refused() -> None:
    broken = parse((FIXTURES / "broken.camt053.xml").read_text(encoding="utf-8"))
    assert [p.row for p in broken.problems] == [2, 3]
    hostile = parse((FIXTURES / "xxe.camt053.xml").read_text(encoding="utf-8"))
    assert [p.row for p in hostile.problems] == [0]
    assert hostile.rows == []


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("-1.234,56", "-1234.56"),
        ("1,234.56", "1234.56"),
        ("(12.50)", "-12.50"),
        ("12,50-", "-12.50"),
        ("€ 3,00", "3.00"),
        ("+5", "5.00"),
        ("2 850,00", "2850.00"),
        ("1.000.000", "1000000.00"),
        ("-0,5", "-0.50"),
    ],
)
def test_amounts_as_banks_write_them(text: str, amount: str) -> None:
    assert read_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "1,2345", "1.2.3,4,5", "12e3"])
def test_what_is_not_an_amount_is_refused(text: str) -> None:
    with pytest.raises(BadValue):
        read_amount(text)


def test_an_ofx_file_with_two_accounts_is_refused_as_a_whole() -> None:
    one = (FIXTURES / "bank_ofx1.ofx").read_text(encoding="utf-8")
    head, _, body = one.partition("<BANKMSGSRSV1>")
    statement = body.partition("</BANKMSGSRSV1>")[0]
    other = statement.replace("<ACCTID>1234567890", "<ACCTID>999")
    two = f"{head}<BANKMSGSRSV1>{statement}{other}</BANKMSGSRSV1></OFX>\n"
    parsed = parse(two)
    assert [p.row for p in parsed.problems] == [0]
    assert "2 accounts" in parsed.problems[0].reason
    assert parsed.rows == []


def test_a_csv_direction_column_that_says_neither_is_a_problem() -> None:
    content = '"Datum";"Af Bij";"Bedrag (EUR)";"Mededelingen"\n"20261102";"Af";"1,00";"a"\n"20261103";"??";"2,00";"b"\n'
    parsed = parse(content)
    assert [(r.row, r.amount) for r in parsed.rows] == [(2, Decimal("-1.00"))]
    assert [p.row for p in parsed.problems] == [3]


def test_a_row_with_both_debit_and_credit_is_a_problem() -> None:
    parsed = parse("Date;Debit;Credit;Description\n01.11.2026;5,00;7,00;both\n02.11.2026;;7,00;in\n")
    assert [p.row for p in parsed.problems] == [2]
    assert [r.amount for r in parsed.rows] == [Decimal("7.00")]

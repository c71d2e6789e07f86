"""Reading CSV/XLSX inputs and planning tasks, on real files in tmp_path."""

from __future__ import annotations

import logging
import random
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from coupadl.errors import InputFileError
from coupadl.models import POTask
from coupadl.spreadsheet.reader import plan_rows, read_input


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


# --- CSV ----------------------------------------------------------------------------


def test_csv_with_bom_and_semicolons(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "in.csv", "PO_NUMBER;Name\r\nPO16928033;Åsa\r\n", encoding="utf-8-sig"
    )
    table = read_input(path)
    assert table.kind == "csv"
    assert table.encoding == "utf-8-sig"
    assert table.delimiter == ";"
    assert table.columns == ["PO_NUMBER", "Name"]  # the BOM is not part of the header
    assert table.rows == [{"PO_NUMBER": "PO16928033", "Name": "Åsa"}]


def test_csv_plain_utf8_with_commas(tmp_path: Path) -> None:
    table = read_input(write_csv(tmp_path / "in.csv", 'PO_NUMBER,Note\n1,"a, b"\n'))
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert table.rows == [{"PO_NUMBER": "1", "Note": "a, b"}]


def test_csv_cp1252_fallback_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_csv(tmp_path / "in.csv", "PO_NUMBER;Supplier\r\n123;Café €\r\n", "cp1252")
    with caplog.at_level(logging.INFO, logger="coupadl.spreadsheet.reader"):
        table = read_input(path)
    assert table.encoding == "cp1252"
    assert table.rows[0]["Supplier"] == "Café €"
    assert any("cp1252" in r.getMessage() for r in caplog.records)


def test_po_column_matched_loosely_and_header_kept(tmp_path: Path) -> None:
    table = read_input(write_csv(tmp_path / "in.csv", " po_number ;Other\n42;x\n"))
    assert table.po_column == " po_number "
    assert table.columns == [" po_number ", "Other"]


def test_blank_rows_dropped(tmp_path: Path) -> None:
    text = "PO_NUMBER;Note\n\n1;a\n;\n  ;  \n2;\n"
    table = read_input(write_csv(tmp_path / "in.csv", text))
    assert [r["PO_NUMBER"] for r in table.rows] == ["1", "2"]


def test_quoted_line_break_stays_in_cell(tmp_path: Path) -> None:
    table = read_input(write_csv(tmp_path / "in.csv", 'PO_NUMBER;Note\n1;"two\nlines"\n'))
    assert table.rows[0]["Note"] == "two\nlines"


def test_trailing_empty_columns_trimmed_and_duplicates_renamed(tmp_path: Path) -> None:
    table = read_input(write_csv(tmp_path / "in.csv", "PO_NUMBER;A;A;;\n1;x;y;;\n"))
    assert table.columns == ["PO_NUMBER", "A", "A (2)"]
    assert table.rows[0] == {"PO_NUMBER": "1", "A": "x", "A (2)": "y"}


def test_header_only_is_zero_rows(tmp_path: Path) -> None:
    table = read_input(write_csv(tmp_path / "in.csv", "PO_NUMBER;Note\n"))
    assert table.rows == []
    assert plan_rows(table).tasks == []


# --- errors ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_input(tmp_path / "nope.csv")


@pytest.mark.parametrize("name", ["in.txt", "in.xls", "in"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = write_csv(tmp_path / name, "PO_NUMBER\n1\n")
    with pytest.raises(InputFileError, match="Unsupported input file type"):
        read_input(path)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputFileError, match="empty"):
        read_input(write_csv(tmp_path / "in.csv", text))


def test_missing_po_column_lists_columns(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        read_input(write_csv(tmp_path / "in.csv", "Order;Supplier\n1;x\n"))
    assert "PO_NUMBER" in info.value.message
    assert "'Order'" in info.value.message and "'Supplier'" in info.value.message
    assert info.value.code == "E_INPUT"


def test_locked_file_says_close_excel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "in.csv", "PO_NUMBER\n1\n")

    def locked(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", locked)
    with pytest.raises(InputFileError, match="close it in Excel"):
        read_input(path)


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(InputFileError, match="not a readable Excel workbook"):
        read_input(path)


def test_empty_workbook(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", {"Sheet": []})
    with pytest.raises(InputFileError, match="empty"):
        read_input(path)


# --- Excel ----------------------------------------------------------------------------


def test_xlsx_prefers_po_data_sheet_and_keeps_types(tmp_path: Path) -> None:
    when = datetime(2025, 3, 14, 9, 30)
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "Notes": [["Nothing", "here"]],
            "PO_Data": [["PO_NUMBER", "Ordered", "Qty"], [16928033.0, when, 3], [None, None, None]],
        },
    )
    table = read_input(path)
    assert (table.kind, table.sheet_name) == ("xlsx", "PO_Data")
    assert table.rows == [{"PO_NUMBER": 16928033.0, "Ordered": when, "Qty": 3}]
    assert plan_rows(table).tasks == [POTask("16928033")]


def test_xlsx_first_sheet_without_po_data(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsm", {"First": [["PO_NUMBER"], ["PO1"]], "Second": []})
    table = read_input(path)
    assert table.sheet_name == "First"
    assert table.rows == [{"PO_NUMBER": "PO1"}]


def test_xlsx_formulas_never_calculated_read_as_none(tmp_path: Path) -> None:
    # openpyxl writes formulas without a cached result; data_only=True then gives
    # None, exactly as for a workbook Excel never opened. Excel-saved files have values.
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"PO_Data": [["PO_NUMBER", "Double"], ["PO5", "=2*21"], ['=CONCAT("PO", "6")', 1]]},
    )
    table = read_input(path)
    assert table.rows == [
        {"PO_NUMBER": "PO5", "Double": None},
        {"PO_NUMBER": None, "Double": 1},
    ]
    plan = plan_rows(table)
    assert [t.po_number for t in plan.tasks] == ["5"]
    assert [(i.row_index, i.raw) for i in plan.invalid] == [(1, None)]


# --- planning -------------------------------------------------------------------------


def test_folder_levels_after_marker(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "PO_Data": [
                ["PO_NUMBER", "Note", "<|>", "Region", "Year", "Team"],
                ["PO1", "a", None, "EMEA", 2024, "Ops"],
                ["PO2", "b", "", "APAC", None, 2025.0],
                ["PO3", "c", None, None, None, None],
            ]
        },
    )
    table = read_input(path)
    assert table.level_columns == ["Region", "Year", "Team"]
    assert "<|>" in table.columns  # the marker column is kept for the output
    assert [t.folder_levels for t in plan_rows(table).tasks] == [
        ("EMEA", "2024", "Ops"),
        ("APAC", "2025"),
        (),
    ]


def test_result_columns_after_marker_are_not_levels(tmp_path: Path) -> None:
    header = "PO_NUMBER;<|>;Region;STATUS;SUPPLIER;ERROR_MESSAGE\n"
    table = read_input(write_csv(tmp_path / "in.csv", header + "1;;EMEA;FAILED;Acme;E_X: y\n"))
    assert table.level_columns == ["Region"]
    assert plan_rows(table).tasks == [POTask("1", ("EMEA",))]


def test_duplicates_map_to_one_task(tmp_path: Path) -> None:
    text = "PO_NUMBER;Note\nPO16928033;a\n16928033;b\n555;c\npm16928033;d\n"
    plan = plan_rows(read_input(write_csv(tmp_path / "in.csv", text)))
    assert [t.po_number for t in plan.tasks] == ["16928033", "555"]
    assert plan.rows_by_po == {"16928033": [0, 1, 3], "555": [2]}


def test_invalid_numbers_are_collected_not_fatal(tmp_path: Path) -> None:
    text = "PO_NUMBER;Note\nabc;a\n;b\n77;c\nPO-;d\n"
    plan = plan_rows(read_input(write_csv(tmp_path / "in.csv", text)))
    assert [t.po_number for t in plan.tasks] == ["77"]
    assert [(i.row_index, i.raw) for i in plan.invalid] == [(0, "abc"), (1, ""), (3, "PO-")]
    assert all(i.message for i in plan.invalid)


def test_completed_rows_are_skipped(tmp_path: Path) -> None:
    text = "PO_NUMBER;STATUS\n1;COMPLETED\n2;FAILED\n3;\n1;COMPLETED\n4; completed \n"
    plan = plan_rows(read_input(write_csv(tmp_path / "in.csv", text)))
    assert [t.po_number for t in plan.tasks] == ["2", "3"]
    assert plan.skipped_completed == ["1", "4"]
    assert plan.rows_by_po == {"2": [1], "3": [2]}


# --- Excel cells, checked against openpyxl's reading (the reader before calamine) -------


def openpyxl_table(path: Path, sheet: str) -> list[dict[str, object]]:
    """The rows as openpyxl's read-only, cached-values reading gives them: the oracle."""
    from coupadl.spreadsheet.table import build_table, is_blank

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        records = [list(r) for r in book[sheet].iter_rows(values_only=True)]
    finally:
        book.close()
    while records and all(is_blank(v) for v in records[0]):
        records.pop(0)
    return build_table(path, "xlsx", records).rows


def typed(rows: list[dict[str, object]]) -> list[dict[str, tuple[str, object]]]:
    """3 == 3.0 and a datetime equals nothing but a datetime: compare types too."""
    return [{k: (type(v).__name__, v) for k, v in row.items()} for row in rows]


CELLS: list[object] = [
    4500012345.0, 4500012345, 3, 2.5, -0.0, 1e20, 10**15, 0.1, True, False, None, " x ",
    "two\nlines", datetime(2025, 3, 14, 9, 30), datetime(2025, 3, 14), date(2025, 3, 14),
    datetime(2025, 3, 14, 9, 30, 15, 123456), datetime(1900, 1, 1), datetime(1900, 3, 1),
    time(9, 30, 15), time(0, 0), timedelta(hours=30, minutes=5), "#N/A", "#DIV/0!",
    "=1+1", "Åsa €",
]  # fmt: skip
# Number formats on plain numbers: dates, times, durations and non-dates.
FORMATS = ["yyyy-mm-dd", "mmm-yy", "[h]:mm:ss", "hh:mm", "0.00%", '#,##0 "kr"', "@", "General"]


def cell_workbook(path: Path, *, epoch_1904: bool = False, iso_dates: bool = False) -> Path:
    book = Workbook()
    book.iso_dates = iso_dates
    if epoch_1904:
        book.epoch = datetime(1904, 1, 1)
    sheet = book.active
    sheet.title = "PO_Data"
    # Starts at C3, as a sheet with a title block or margin column does.
    sheet["C3"], sheet["D3"], sheet["E3"] = "PO_NUMBER", "Value", "Formatted"
    serials = [45000.25, 45000, 0.5, 1.75, 0]
    for row, value in enumerate(CELLS, start=4):
        if epoch_1904 and isinstance(value, datetime) and value.year < 1904:
            value = None  # a negative serial there: calamine reads it as midnight (known)
        sheet.cell(row=row, column=3, value=f"PO{row}")
        sheet.cell(row=row, column=4, value=value)
        formatted = sheet.cell(row=row, column=5, value=serials[row % len(serials)])
        formatted.number_format = FORMATS[row % len(FORMATS)]
    sheet.cell(row=40, column=3, value="PO40")  # after a gap of empty rows
    book.save(path)
    return path


@pytest.mark.parametrize(
    "options", [{}, {"epoch_1904": True}, {"iso_dates": True}], ids=["1900", "1904", "iso"]
)
def test_xlsx_cells_read_as_openpyxl_reads_them(tmp_path: Path, options: dict[str, bool]) -> None:
    path = cell_workbook(tmp_path / "in.xlsx", **options)
    expected = openpyxl_table(path, "PO_Data")
    table = read_input(path)
    assert table.columns == ["Column1", "Column2", "PO_NUMBER", "Value", "Formatted"]
    assert typed(table.rows) == typed(expected)
    values = [r["Value"] for r in table.rows]
    assert values[0] == 4500012345 and type(values[0]) is int  # a PO typed as a number
    assert {"#N/A", "#DIV/0!"} <= set(values)  # error cells keep their text


def test_xlsx_many_rows_read_as_openpyxl_reads_them(tmp_path: Path) -> None:
    rng = random.Random(7)
    book = Workbook()
    sheet = book.active
    sheet.append(["PO_NUMBER", "When", "Time", "Hours", "Amount"])
    for i in range(1500):
        amount = round(rng.uniform(-5, 5), rng.randrange(4))
        when, hours = rng.uniform(0, 60_000), rng.uniform(0, 100)
        sheet.append([4_500_000_000.0 + i, when, rng.random(), hours, amount])
        for column, style in ((2, "yyyy-mm-dd hh:mm:ss"), (3, "hh:mm:ss"), (4, "[h]:mm")):
            sheet.cell(row=i + 2, column=column).number_format = style
    path = tmp_path / "many.xlsx"
    book.save(path)
    assert typed(read_input(path).rows) == typed(openpyxl_table(path, "Sheet"))


def test_xlsx_po_data_sheet_matched_loosely(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx", {"Intro": [["x"]], " po_data ": [["PO_NUMBER"], ["PO9"]]}
    )
    assert read_input(path).sheet_name == " po_data "


def test_xlsx_uncalculated_po_formula_cells_are_named(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet["B2"], sheet["C2"] = "PO_NUMBER", "Note"
    sheet["B3"], sheet["C3"] = '="PO"&"1"', "a"
    sheet["B4"], sheet["C4"] = "PO2", "b"
    sheet["B6"], sheet["C6"] = "=A1", "c"
    path = tmp_path / "in.xlsx"
    book.save(path)
    formulas = load_workbook(path).active  # formula mode: the oracle for the cell names
    expected = [c.coordinate for c in formulas["B"] if str(c.value).startswith("=")]
    table = read_input(path)
    assert table.uncalculated_formulas == expected == ["B3", "B6"]
    assert [(i.row_index, i.message) for i in plan_rows(table).invalid] == [
        (0, "The PO_NUMBER cell is empty, or holds a formula that was never calculated: "
            "open the file in Excel, save it, and run again."),
        (2, "The PO_NUMBER cell is empty, or holds a formula that was never calculated: "
            "open the file in Excel, save it, and run again."),
    ]  # fmt: skip


def truncated(path: Path) -> None:
    write_xlsx(path, {"PO_Data": [["PO_NUMBER"], *[[f"PO{i}"] for i in range(200)]]})
    path.write_bytes(path.read_bytes()[:1500])


def password_protected(path: Path) -> None:
    # Excel saves an encrypted workbook as an OLE2 compound file, not a zip.
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))


def zip_without_workbook(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")


@pytest.mark.parametrize("damage", [truncated, password_protected, zip_without_workbook])
def test_broken_xlsx_message_as_openpyxl_reading_gave(tmp_path: Path, damage: Any) -> None:
    path = tmp_path / "in.xlsx"
    damage(path)
    with pytest.raises((zipfile.BadZipFile, KeyError)) as refused:
        load_workbook(path, read_only=True, data_only=True)
    with pytest.raises(InputFileError) as info:
        read_input(path)
    assert info.value.message == (
        f"in.xlsx is not a readable Excel workbook ({refused.value}). "
        "Save it again from Excel as .xlsx, or export it as CSV."
    )


def test_damaged_sheet_xml_is_an_input_error(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "ok.xlsx", {"PO_Data": [["PO_NUMBER"], ["PO1"]]})
    path = tmp_path / "in.xlsx"
    with zipfile.ZipFile(source) as good, zipfile.ZipFile(path, "w") as bad:
        for item in good.infolist():
            data = good.read(item)
            bad.writestr(item, data[:-40] if item.filename.startswith("xl/worksheets/") else data)
    with pytest.raises(InputFileError, match="not a readable Excel workbook"):
        read_input(path)


def test_locked_xlsx_says_close_excel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", {"PO_Data": [["PO_NUMBER"], ["PO1"]]})

    def locked(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", locked)
    with pytest.raises(InputFileError, match="close it in Excel"):
        read_input(path)

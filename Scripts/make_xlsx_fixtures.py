#!/usr/bin/env python3
"""Writes the small .xlsx fixtures of Tests/EmotionClassifierTests/Fixtures/xlsx/.

Run with the project's virtualenv (openpyxl): /work/venv/bin/python Scripts/make_xlsx_fixtures.py

- openpyxl-written workbooks, their cell text moved to a shared-string table (shared strings, rich text, numbers, booleans, empty rows, Korean labels,
  a second sheet, a missing column, AI Hub's single-turn layout);
- hand-written packages (zipfile) for what openpyxl does not write: inline strings, `t="str"` formula
  results, cells and rows without `r`, LibreOffice-style attributes and `xml:space`, `x:` namespace
  prefixes, and hostile files (corrupt zip, missing part, path traversal, deep XML, a size the zip
  misstates, external entities, out-of-range shared string). If `soffice` is installed, also a workbook
  LibreOffice itself converted from CSV (`libreoffice.xlsx`).
Every readable hand-written workbook is read back with openpyxl as a check that it is valid.
"""
import io
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile

import openpyxl
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EmotionClassifierTests", "Fixtures", "xlsx")
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def path(name):
    return os.path.join(OUT, name)


def fixed_zip_dates(src):
    """Rewrites a zip with fixed entry dates so regenerating gives identical bytes."""
    with zipfile.ZipFile(src) as zin:
        items = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items:
            zout.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def save(wb, name):
    """Saves with openpyxl, then moves the cell text into a shared-string table as Excel does (this
    openpyxl writes inline strings)."""
    wb.properties.created = wb.properties.modified = __import__("datetime").datetime(2024, 1, 1)
    wb.save(path(name))
    to_shared_strings(path(name))


def to_shared_strings(file):
    with zipfile.ZipFile(file) as zin:
        items = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    table = []
    index = {}

    def shared(match):
        item = match.group(3)
        if item not in index:
            index[item] = len(table)
            table.append(item)
        return f'<c {match.group(1)}t="s"{match.group(2)}><v>{index[item]}</v></c>'

    out = []
    for name, data in items:
        if name.startswith("xl/worksheets/sheet"):
            data = re.sub(r'<c ([^>]*?)t="inlineStr"([^>]*)><is>(.*?)</is></c>', shared, data.decode("utf-8")).encode("utf-8")
        out.append((name, data))
    sst = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{MAIN_NS}" count="{len(table)}" uniqueCount="{len(table)}">'
           + "".join(f"<si>{item}</si>" for item in table) + "</sst>")
    out2 = []
    for name, data in out:
        if name == "docProps/core.xml":   # openpyxl stamps the time of saving
            data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>2024-01-01T00:00:00Z\g<2>", data)
        if name == "[Content_Types].xml":
            data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        if name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>", f'<Relationship Id="rIdSST" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'.encode())
        out2.append((name, data))
    out2.append(("xl/sharedStrings.xml", sst.encode("utf-8")))
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in out2:
            zout.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def write_package(name, sheets, shared_strings=None, prefix="", workbook_rels_extra="", sheet_targets=None,
                  extra_parts=None, omit=(), rels=True, stored=False):
    """A minimal SpreadsheetML package. `sheets`: list of (sheet name, sheetData inner XML)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN_NS}"' if prefix else f'xmlns="{MAIN_NS}"'
    parts = {}
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(sheets)))
        + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' if shared_strings is not None else "")
        + "</Types>")
    parts["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}workbook {xmlns} xmlns:r="{REL_NS}"><{p}sheets>'
        + "".join(f'<{p}sheet name="{n}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, (n, _) in enumerate(sheets))
        + f"</{p}sheets></{p}workbook>")
    targets = sheet_targets or [f"worksheets/sheet{i + 1}.xml" for i in range(len(sheets))]
    if rels:
        parts["xl/_rels/workbook.xml.rels"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}">'
            + "".join(f'<Relationship Id="rId{i + 1}" Type="{REL_NS}/worksheet" Target="{t}"/>' for i, t in enumerate(targets))
            + (f'<Relationship Id="rId100" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>' if shared_strings is not None else "")
            + workbook_rels_extra + "</Relationships>")
    for i, (_, data) in enumerate(sheets):
        parts[f"xl/worksheets/sheet{i + 1}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}worksheet {xmlns}><{p}sheetData>'
            + data + f"</{p}sheetData></{p}worksheet>")
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{p}sst {xmlns} count="{len(shared_strings)}" uniqueCount="{len(shared_strings)}">'
            + "".join(f"<{p}si>{s}</{p}si>" for s in shared_strings) + f"</{p}sst>")
    parts.update(extra_parts or {})
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_DEFLATED) as z:
        for part, text in parts.items():
            if part in omit:
                continue
            z.writestr(zipfile.ZipInfo(part, date_time=(2024, 1, 1, 0, 0, 0)),
                       text.encode("utf-8") if isinstance(text, str) else text,
                       zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)


def set_declared_size(file, part, size):
    """Overwrites the uncompressed size of `part` in its local header and central directory entry;
    returns the real size."""
    blob = bytearray(open(file, "rb").read())
    with zipfile.ZipFile(file) as z:
        info = z.getinfo(part)
    local = info.header_offset
    assert blob[local:local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", blob, local + 22, size)
    pos = blob.find(b"PK\x01\x02")
    while pos != -1:
        name_len, = struct.unpack_from("<H", blob, pos + 28)
        if blob[pos + 46:pos + 46 + name_len] == part.encode():
            struct.pack_into("<I", blob, pos + 24, size)
        pos = blob.find(b"PK\x01\x02", pos + 4)
    open(file, "wb").write(bytes(blob))
    return info.file_size


def patch_zip64_offset(file, part, offset):
    """Gives `part`'s central-directory entry a zip64 extra field holding `offset` as its local-header
    offset (the 32-bit field set to 0xFFFFFFFF, as zip64 requires)."""
    blob = bytearray(open(file, "rb").read())
    pos = blob.find(b"PK\x01\x02")
    while pos != -1:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", blob, pos + 28)
        if blob[pos + 46:pos + 46 + name_len] == part.encode():
            assert extra_len == 0 and comment_len == 0
            struct.pack_into("<I", blob, pos + 42, 0xFFFFFFFF)
            struct.pack_into("<H", blob, pos + 30, 12)
            end = pos + 46 + name_len
            blob[end:end] = struct.pack("<HHQ", 0x0001, 8, offset)
            break
        pos = blob.find(b"PK\x01\x02", pos + 4)
    eocd = blob.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", blob, eocd + 12)
    struct.pack_into("<I", blob, eocd + 12, cd_size + 12)
    open(file, "wb").write(bytes(blob))


def check_with_openpyxl(name, expected_first_rows):
    wb = openpyxl.load_workbook(path(name))
    rows = [[("" if v is None else str(v)) for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
    rows = [r for r in rows if any(r)]
    for got, want in zip(rows, expected_first_rows):
        assert got[: len(want)] == want, (name, got, want)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    # 1. openpyxl: shared strings, rich text, numbers, booleans, an empty row, Korean labels, two sheets.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "대화"
    ws.append(["발화문", "상황", "메모"])
    ws.append(["헐! 나 이벤트에 당첨 됐어.", "happiness", "첫 줄"])
    ws.append(["너무 무서워", "공포", None])                     # Korean label
    ws.append([None, None, None])                                # empty row (skipped)
    ws.append([12345, 4, True])                                   # a number as text, a numeric label id, a boolean
    ws.append([CellRichText([TextBlock(InlineFont(b=True), "정말 "), "화가 나"]), "분노", False])  # rich-text runs
    ws.append(["  앞뒤 공백  ", "슬픔", 1.5])                     # spaces kept (xml:space="preserve")
    ws["A9"] = "건너뛴 행 뒤"                                     # row 8 absent
    ws["B9"] = "중립"
    second = wb.create_sheet("Second")
    second.append(["Sentence", "Emotion"])
    second.append(["깜짝이야", "놀람"])
    second.append(["역겨워", "혐오"])
    save(wb, "shared-strings.xlsx")
    check_with_openpyxl("shared-strings.xlsx", [["발화문", "상황", "메모"], ["헐! 나 이벤트에 당첨 됐어.", "happiness", "첫 줄"]])

    # 2. openpyxl: the label column is missing.
    wb = openpyxl.Workbook()
    wb.active.append(["발화문", "label"])
    wb.active.append(["안녕", "neutral"])
    save(wb, "missing-column.xlsx")

    # 3. openpyxl: AI Hub's single-turn layout (Sentence, Emotion, Korean labels, a side table of counts).
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["Sentence", "Emotion", None, None, "공포", 5468])
    for i, (s, e) in enumerate([("언니 동생으로 부르는게 맞는 일인가요..??", "공포"), ("그냥 내 느낌일뿐겠지?", "공포"),
                                ("아직너무초기라서 그런거죠?", "놀람"), ("유치원버스 사고 낫다던데", "분노"),
                                ("근데 원래이런거맞나요", "슬픔"), ("오늘 날씨 좋다", "중립"), ("너무 좋아", "행복"),
                                ("더러워", "혐오")]):
        ws.append([s, e])
    ws["E2"], ws["F2"] = "놀람", 5898
    save(wb, "aihub-single-turn.xlsx")

    # 4. Hand-written: inline strings, t="str" formula results, booleans, cells without r, rows without r,
    #    a skipped column, an empty row element.
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>발화문</t></is></c><c r="C1" t="inlineStr"><is><t>상황</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><r><t>인라인 </t></r><r><rPr><b/></rPr><t>문장</t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh></is></c>'
        '<c r="C2" t="inlineStr"><is><t>fear</t></is></c></row>'
        '<row r="3"></row>'
        '<row r="4"><c r="A4" t="str"><f>CONCAT("수식","결과")</f><v>수식결과</v></c><c r="C4" t="str"><f>"sad"</f><v>sad</v></c></row>'
        '<row><c t="inlineStr"><is><t>r 없는 행</t></is></c><c/><c><v>3</v></c></row>'          # row 5, cells A, B (empty), C
        '<row r="7"><c r="A7" t="b"><v>1</v></c><c r="C7"><v>5</v></c></row>'
    )
    write_package("inline-strings.xlsx", [("Sheet1", data)])
    check_with_openpyxl("inline-strings.xlsx", [["발화문", "", "상황"]])

    # 5. LibreOffice-style: s="0" t="s" attributes, xml:space, shared strings with rich runs.
    strings = ['<t xml:space="preserve">발화문</t>', "<t>상황</t>", '<t xml:space="preserve"> 리브레 오피스 </t>',
               '<r><rPr><sz val="10"/></rPr><t xml:space="preserve">서식 </t></r><r><t>섞임</t></r>', "<t>행복</t>"]
    data = (
        '<row r="1" spans="1:2" s="0" customFormat="false" ht="12.8" hidden="false"><c r="A1" s="0" t="s"><v>0</v></c><c r="B1" s="0" t="s"><v>1</v></c></row>'
        '<row r="2" spans="1:2"><c r="A2" s="0" t="s"><v>2</v></c><c r="B2" s="0" t="s"><v>4</v></c></row>'
        '<row r="3" spans="1:2"><c r="A3" s="0" t="s"><v>3</v></c><c r="B3" s="0" t="n"><v>0</v></c></row>'
    )
    write_package("libreoffice-style.xlsx", [("Sheet1", data)], shared_strings=strings)
    check_with_openpyxl("libreoffice-style.xlsx", [["발화문", "상황"], [" 리브레 오피스 ", "행복"]])

    # 6. Namespace prefixes (x:), as the .NET Open XML SDK writes them.
    strings = ["<x:t>발화문</x:t>", "<x:t>상황</x:t>", "<x:t>접두사 문장</x:t>"]
    data = ('<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c></x:row>'
            '<x:row r="2"><x:c r="A2" t="s"><x:v>2</x:v></x:c><x:c r="B2"><x:v>6</x:v></x:c></x:row>')
    write_package("prefixed.xlsx", [("Sheet1", data)], shared_strings=strings, prefix="x")
    check_with_openpyxl("prefixed.xlsx", [["발화문", "상황"], ["접두사 문장", "6"]])

    # Hostile and broken files.
    good = '<row r="1"><c r="A1" t="inlineStr"><is><t>발화문</t></is></c><c r="B1" t="inlineStr"><is><t>상황</t></is></c></row>' \
           '<row r="2"><c r="A2" t="inlineStr"><is><t>문장</t></is></c><c r="B2"><v>1</v></c></row>'
    # 7. The workbook's sheet part is missing.
    write_package("missing-part.xlsx", [("Sheet1", good)], omit=("xl/worksheets/sheet1.xml",))
    # 8. A relationship climbs out of the package.
    write_package("traversal.xlsx", [("Sheet1", good)], sheet_targets=["../../../../etc/passwd"])
    # 9. Nesting far deeper than any spreadsheet (the XML parser must refuse it, not recurse).
    deep = "<x>" * 100_000 + "</x>" * 100_000
    write_package("deep.xlsx", [("Sheet1", good + '<row r="3"><c r="A3" t="inlineStr"><is>' + deep + "</is></c></row>")])
    # 10. A shared-string index beyond the table.
    write_package("bad-shared-index.xlsx", [("Sheet1", '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                                                      '<row r="2"><c r="A2" t="s"><v>7</v></c></row>')],
                  shared_strings=["<t>발화문</t>", "<t>상황</t>"])
    # 11. An external entity (XXE): must not pull in a local file.
    xxe_sheet = ('<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE worksheet [<!ENTITY ext SYSTEM "file:///etc/hostname">]>'
                 f'<worksheet xmlns="{MAIN_NS}"><sheetData>' + good +
                 '<row r="3"><c r="A3" t="inlineStr"><is><t>&ext;</t></is></c><c r="B3"><v>1</v></c></row></sheetData></worksheet>')
    write_package("external-entity.xlsx", [("Sheet1", good)], extra_parts={"xl/worksheets/sheet1.xml": xxe_sheet})
    # 12. Not XML at all.
    write_package("bad-xml.xlsx", [("Sheet1", good)], extra_parts={"xl/worksheets/sheet1.xml": "<worksheet><sheetData><row>"})
    # 13. A zip that states a smaller uncompressed size for the sheet than it holds.
    write_package("lying-size.xlsx", [("Sheet1", good)])
    real = set_declared_size(path("lying-size.xlsx"), "xl/worksheets/sheet1.xml", 100)
    print(f"lying-size.xlsx: sheet1.xml holds {real} bytes, the zip says 100")
    # 13b. A zip that claims 3 GB for the sheet (refused before extracting, whatever it holds).
    write_package("inflated-size.xlsx", [("Sheet1", good)])
    set_declared_size(path("inflated-size.xlsx"), "xl/worksheets/sheet1.xml", 3_000_000_000)
    # 13c. A stored (uncompressed) sheet with one byte changed after zipping: only the CRC-32 shows it.
    write_package("bad-crc.xlsx", [("Sheet1", good)], stored=True)
    blob = bytearray(open(path("bad-crc.xlsx"), "rb").read())
    with zipfile.ZipFile(path("bad-crc.xlsx")) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    name_len, extra_len = struct.unpack_from("<HH", blob, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    at = blob.index("문장".encode("utf-8"), start)
    blob[at:at + 6] = "문자".encode("utf-8")   # still valid XML and UTF-8
    open(path("bad-crc.xlsx"), "wb").write(bytes(blob))
    # 13d. A zip64 extra field whose local-header offset is near 2^64 (overflows a signed file offset).
    write_package("zip64-offset.xlsx", [("Sheet1", good)])
    patch_zip64_offset(path("zip64-offset.xlsx"), "xl/worksheets/sheet1.xml", 0xFFFF_FFFF_FFFF_FFF0)
    # 14. A corrupt zip: a valid workbook cut in half.
    whole = open(path("missing-column.xlsx"), "rb").read()
    open(path("corrupt.xlsx"), "wb").write(whole[: len(whole) // 2])
    # 15. Not a zip at all, named .xlsx.
    open(path("not-a-zip.xlsx"), "wb").write("발화문,상황\n이건 CSV,fear\n".encode("utf-8"))
    # 16. An OLE2 header (old .xls / encrypted .xlsx).
    open(path("legacy.xls"), "wb").write(bytes([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) + bytes(504))

    # 17. LibreOffice's own output, when it is installed (converted from a CSV).
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice:
        with tempfile.TemporaryDirectory() as tmp:
            csv = os.path.join(tmp, "libreoffice.csv")
            with open(csv, "w", encoding="utf-8") as f:
                f.write("발화문,상황\n리브레오피스가 쓴 문장,행복\n\" 공백 있는 문장 \",슬픔\n두 번째,2\n")
            subprocess.run([soffice, "--headless", "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", tmp, csv],
                           check=True, capture_output=True, timeout=300)
            shutil.copy(os.path.join(tmp, "libreoffice.xlsx"), path("libreoffice.xlsx"))
        check_with_openpyxl("libreoffice.xlsx", [["발화문", "상황"], ["리브레오피스가 쓴 문장", "행복"]])
    else:
        print("soffice not found: libreoffice.xlsx not written")

    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(path(name))} bytes")


if __name__ == "__main__":
    main()

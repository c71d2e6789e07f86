"""The raw material of the simulated tenant's names: suppliers, people, items, file names.

Kept neutral: no words the page parser looks for. The hostile and Unicode names are
fixed on purpose, each one attacks a different rule of safe names.
"""

from __future__ import annotations

SUPPLIER_SPECIALS = (
    "Iver Sverige AB",
    "Müller & Söhne GmbH",
    'ACME/Nordic: "Parts"',
)
SUPPLIER_NAMES = (
    "Nordic Office Supply Oy",
    "Société Générale d'Équipement SA",
    "Kraftwerk Ersatzteile GmbH",
    "São Paulo Industrial Ltda.",
    "Bergström Logistik AB",
    "Dansk Stål A/S",
    "Økern Maskin AS",
    "Łódź Elektro Sp. z o.o.",
    "Fastline Components Ltd",
    "Grainfield Industrial Supply",
)
NAME_PARTS_A = ("Baltic", "Alpine", "Delta", "Polar", "Granite", "Harbor", "Summit", "Vega")
NAME_PARTS_B = ("Tools", "Metals", "Logistics", "Electric", "Plastics", "Services", "Systems")
NAME_SUFFIXES = ("AB", "GmbH", "Ltd", "Oy", "SA", "BV", "Inc.")
CITIES = (
    "Storgatan 12, 111 22 Stockholm, SE",
    "Hauptstraße 5, 80331 München, DE",
    "Rua Augusta 200, 01305-000 São Paulo, BR",
    "Mannerheimintie 3, 00100 Helsinki, FI",
    "1 Harbour Road, Leeds LS1 4AP, GB",
)
PEOPLE = ("Anna Lindqvist", "Jörg Weiß", "Priya Natarajan", "Tomás O'Brien", "Li Wei")
ITEMS = (
    "Hydraulic pump seal kit",
    "Safety gloves, size 9",
    "Laptop docking station",
    "Stainless bolts M8x40",
    "Consulting services, March",
    "Pallet wrap film 500 mm",
    "Calibration of gauges",
)
NOTICES = (
    "Scheduled maintenance on Sunday 02:00-04:00 UTC.",
    "New approval chains are active from next month.",
)
FILE_TEXTS = ("See attached.", "Signed copy attached.", "Updated version, please use this one.")
PLAIN_TEXTS = (
    "Please confirm the delivery date.",
    "Approved by finance.",
    "Ship to dock 3, gate B.",
    "Supplier confirmed by phone.",
)

TEMPLATES: dict[str, tuple[str, ...]] = {
    "pdf": ("Quote_{n}.pdf", "PO_{po}_signed.pdf", "Order_confirmation_{n}.pdf",
            "Offer {n} (final).pdf", "Price list, {year}.pdf", "Delivery_note_{n}.pdf"),
    "docx": ("Statement_of_work_{n}.docx", "Contract_draft_v{r}.docx", "Scope,_{n}.docx"),
    "xlsx": ("Price_breakdown_{n}.xlsx", "BOM_{n}.xlsx", "Quote comparison ({n}).xlsx"),
    "msg": ("RE_ Quote {n}.msg", "FW_ Delivery date PO{po}.msg"),
    "eml": ("Order_confirmation_{n}.eml", "RE_ Offer_{n}.eml"),
    "xls": ("Legacy_price_list_{year}.xls", "Rates_{n}.xls"),
    "csv": ("Line_items_{po}.csv", "Export_{n}.csv"),
    "txt": ("Notes_{n}.txt", "Delivery_instructions_{r}.txt"),
    "xml": ("cXML_OrderRequest_{n}.xml", "Invoice_{n}.xml"),
    "zip": ("Drawings_{n}.zip", "Certificates_{year}.zip"),
    "jpg": ("Photo_{n}.jpg", "IMG_{n}.jpg"),
    "png": ("Screenshot_{year}-0{r}-1{r}.png", "Label_{n}.png"),
}  # fmt: skip
UNICODE_NAMES = (
    "Offert_Åkesson_&_Bröder_(rev_{r}),final.pdf",
    "見積書_{n}.pdf",
    "Orçamento_São_Paulo_–_Março_{r}.docx",
    "Angebot_Müller_Größe_{n}.xlsx",
    "Zamówienie_Łódź_{n}.csv",
    "Счёт_на_оплату_{n}.pdf",
    "Pedido_Me\u0301xico_{n}.txt",  # decomposed (NFD) accent, as macOS uploads send it
    "Ελληνικά_έγγραφα_{n}.xml",
    "🚚_delivery_{n}.png",
)
LONG_WORDS = ("Technical", "specification", "for", "the", "replacement", "of", "conveyor",
              "belts", "in", "Hall", "Überprüfung", "der", "Lieferbedingungen",
              "revision")  # fmt: skip
# Fixed on purpose: each one attacks a different rule of safe names.
HOSTILE_HEADER = ("../../evil.pdf", "CON.pdf")
HOSTILE_COMMENTS = (
    "..\\win.txt",
    "a:b?c*.pdf",
    "statement\u202etxt.pdf",  # right-to-left override: shows as "statementfdp.txt"
    "notes.txt. ",
    "bell\x07ring.txt",
    '<img src=x onerror="alert(1)">.txt',
)

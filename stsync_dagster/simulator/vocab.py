"""Word lists for the generated data: realistic trade-business names, with some awkward-but-valid text."""

from __future__ import annotations

# Master data: fixed names (the deliberate gaps in data.py refer to some of them).
VENDORS = (
    "Ferguson Enterprises",
    "Johnstone Supply",
    "Winsupply of Springfield",
    "Carrier Enterprise",
    "Hajoca Corporation",
    "Graybar Electric",
    "W.W. Grainger",
    "Gulf Coast Refrigerant Supply",
    "O'Brien & Sons Sheet Metal",
    "Ünal Pipe & Valve Co.",
    'Watsco "Pro" Distribution',
    "Legacy Plumbing Wholesale (closed)",
)
INACTIVE_VENDORS = ("Legacy Plumbing Wholesale (closed)",)

WAREHOUSES = ("Main Warehouse", "North Yard", "Truck Stock – Van 12")
PO_TYPES = ("Standard", "Drop Ship", "Truck Replenishment", "Special Order")
BUSINESS_UNITS = (
    "HVAC Service",
    "HVAC Install",
    "Plumbing Service",
    "Plumbing Install",
    "Electrical",
    "Commercial – Refrigeration",
)
JOB_TYPES = (
    "AC Repair",
    "Furnace Tune-Up",
    "Water Heater Install",
    "Water Heater Flush",
    "Drain Cleaning",
    "Panel Upgrade",
    "Leak Detection",
    "Maintenance Visit",
    "Emergency Service 24/7",
    "Legacy Service Call",
)
INACTIVE_JOB_TYPES = ("Legacy Service Call",)
CAMPAIGNS = (
    "Google Ads",
    "Yelp",
    "Repeat Customer",
    "Spring Tune-Up Mailer",
    "Referral Program",
    "Facebook – Summer Promo ☀️",
    "Radio KXYZ",
    "Website Organic",
)
INACTIVE_CAMPAIGNS = ("Radio KXYZ",)
TECHNICIANS = (
    "Marcus Johnson",
    "José Álvarez",
    "Siobhán O'Neill",
    "Nguyễn Văn An",
    "Dmitri Volkov",
    "Aisha Rahman",
    "Tyler Brooks",
    "Chen Wei",
    "Rosa María Delgado",
    "Kwame Mensah",
    "Emily Carter",
    "Björn Lindqvist",
    "Priya Natarajan",
    "Jake \"JJ\" Jameson",
    "Samantha Lee",
)
INACTIVE_TECHNICIANS = ("Samantha Lee",)
CATEGORIES = (
    "Copper Pipe & Fittings",
    "PVC & Drainage",
    "Refrigerants",
    "Filters",
    "Electrical – Breakers",
    "Wire & Cable",
    "Thermostats & Controls",
    "Water Heater Parts",
)

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "William", "Linda", "David", "Elizabeth",
    "Richard", "Barbara", "Joseph", "Susan", "Thomas", "Jessica", "Charles", "Sarah", "Daniel", "Karen",
    "Matthew", "Nancy", "Anthony", "Lisa", "Mark", "Betty", "Zoë", "Renée", "François", "Łukasz",
    "Mei", "Hiroshi", "Fatima", "Olumide", "Seán", "Ingrid", "Raúl", "Anaïs", "Dwayne", "Keisha",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "O'Connor", "McAllister", "Nguyen", "Kowalski", "Van der Berg", "D'Angelo", "Müller", "Øverland",
    "Okafor", "Yamamoto", "St. James", "Smith-Whitaker", "Ruiz-Peña", "Abernathy", "Kim", "Patel",
)
BUSINESS_WORDS = (
    ("Riverside", "Dental Group"), ("Maple Street", "Apartments"), ("Summit", "Property Management"),
    ("Blue Heron", "Café"), ("Lakeside", "Veterinary Clinic"), ("Oak & Iron", "Brewing Co."),
    ("Cornerstone", "Baptist Church"), ("Pinecrest", "HOA"), ("Golden Dragon", "Restaurant 🐉"),
    ("Sunrise", "Senior Living"), ("Harbor Point", "Marina"), ("Evergreen", "Elementary School"),
    ("Main St.", "Laundromat"), ("Patel & Sons", "Motel"), ("Northside", "Fitness"),
)
STREETS = (
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Washington Blvd", "Lakeview Rd",
    "Sunset Blvd", "Pine Ridge Ct", "Martin Luther King Jr Way", "Old Mill Rd", "Calle de la Plaza",
    "Route 9W", "Rue Saint-Honoré", "Peachtree Industrial Blvd", "County Road 1200 N",
)
CITIES = (
    ("Springfield", "IL", "62704"), ("Austin", "TX", "78745"), ("Tampa", "FL", "33611"),
    ("Glendale", "AZ", "85308"), ("Columbus", "OH", "43215"), ("Raleigh", "NC", "27603"),
    ("Boise", "ID", "83702"), ("Sacramento", "CA", "95818"), ("Coeur d'Alene", "ID", "83814"),
    ("Española", "NM", "87532"),
)
UNITS = (None, None, None, "Apt 2B", "Suite 100", "#7", "Unit C", "Bldg 4, Fl 2")
LOCATION_EXTRA_NAMES = ("Rental Property", "Lake House", "Warehouse", "Shop", "Mom's House", "Unit 3 – Rear")

# Material catalogue: (category index, code prefix, name, variants, unit of measure, cost range)
MATERIAL_TEMPLATES = (
    (0, "CU-PIPE", 'Type L Copper Pipe {v}', ('1/2"', '3/4"', '1"', '1-1/4"'), "ft", (2.1, 14.0)),
    (0, "CU-ELB", "Copper 90° Elbow {v}", ('1/2"', '3/4"', '1"'), "ea", (0.9, 6.5)),
    (0, "CU-TEE", "Copper Tee {v}", ('1/2"', '3/4"', '1"'), "ea", (1.2, 8.0)),
    (1, "PVC-P", "Sch 40 PVC Pipe {v} × 10'", ('1-1/2"', '2"', '3"', '4"'), "ea", (6.0, 38.0)),
    (1, "PVC-PT", "PVC P-Trap {v}", ('1-1/4"', '1-1/2"', '2"'), "ea", (3.5, 12.0)),
    (2, "REF", "Refrigerant {v}", ("R-410A 25 lb", "R-32 20 lb", "R-454B 20 lb", "R-22 30 lb (reclaimed)"), "cyl",
     (95.0, 690.0)),
    (3, "FLT", "Pleated Air Filter {v}", ("16x25x1 MERV 8", "20x20x1 MERV 11", "16x25x4 MERV 13", "20x25x5 MERV 16"),
     "ea", (4.0, 48.0)),
    (4, "BRK", "Circuit Breaker {v}", ("15A 1-Pole", "20A 1-Pole", "30A 2-Pole", "50A 2-Pole GFCI"), "ea",
     (6.0, 119.0)),
    (5, "WIRE", "THHN Wire {v}", ("12 AWG Black 500'", "10 AWG Red 500'", "14 AWG White 500'", "8 AWG Green 500'"),
     "spool", (45.0, 310.0)),
    (6, "TSTAT", "Thermostat {v}", ("Programmable 5-2", "Wi-Fi Smart", "Non-programmable", "Commercial 7-day"), "ea",
     (22.0, 260.0)),
    (6, "CAP", "Run Capacitor {v}", ("35/5 µF 440V", "45/5 µF 440V", "55/5 µF 370V", "10 µF 370V"), "ea", (7.0, 32.0)),
    (6, "CONT", "Contactor {v}", ("1-Pole 30A 24V", "2-Pole 40A 24V", "3-Pole 50A 120V"), "ea", (11.0, 75.0)),
    (7, "WH-ANODE", "Anode Rod {v}", ("Magnesium 44\"", "Aluminum/Zinc 44\"", "Powered Titanium"), "ea", (18.0, 140.0)),
    (7, "WH-TP", "T&P Relief Valve {v}", ('3/4" 150 psi', '3/4" 125 psi'), "ea", (14.0, 36.0)),
    (7, "WH-ELEM", "Heating Element {v}", ("4500W 240V", "5500W 240V", "3500W 240V Low-Watt"), "ea", (12.0, 44.0)),
    (None, "MISC", "{v}", ("Duct Tape (UL 181) 2\"", "Pipe Dope 8 oz", "Teflon Tape ½\"", "Wire Nuts – Assorted 100pk",
                           "Zip Ties 11\" (bag of 100)"), None, (2.0, 19.0)),
)
BRANDS = ("Mueller", "NIBCO", "Charlotte", "Honeywell", "Emerson", "Siemens", "Square D", "Southwire", "Rheem",
          "Generic")
ACCOUNTS = ("Materials – COGS", "Inventory Asset", None, "5000 · Job Materials")

AWKWARD_SNIPPETS = (
    'Customer says "it\'s making a weird noise" 🤔',
    "Gate code: #4471 — dog in yard 🐕, please call first",
    "Ä Ö Ü ß · ñ · 日本語テキスト · العربية",
    "<b>Bold</b> & <i>italic</i> &amp; entity; <script>alert('x')</script>",
    "Line one\nLine two\r\nLine three\ttabbed",
    "Trailing spaces are kept   ",
    "Back\\slash and /forward/ slash; semicolon; comma, quote'",
)
LONG_TEXT_UNIT = (
    "Per manufacturer spec, verify line voltage, amperage draw, static pressure and refrigerant charge "
    "before and after service; document readings on the invoice and photograph the data plate. "
)

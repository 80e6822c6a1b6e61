"""Generate the example team and customer book used by `salespool demo`.

Run ``python examples/make_data.py`` (Python 3.11+, standard library only; the
column names come from salespool's own vocabulary, src/salespool/core/vocabulary.py,
itself plain data). It rewrites ``customers.csv``, ``followups.csv``, ``deals.csv``
and ``reps.csv`` next to this script (or in ``--out``). Everything comes from one
seeded ``random.Random``, so every run on any machine writes byte-identical files.

The story in the data:

* alice and bob are veterans who drifted into order-following (跟单): their
  books are full of won / maintaining / deepening customers, and many of those
  customers have not been called for over a month;
* dave is still hunting (prospecting / negotiating), carol is a coach with a
  small book, erin and frank are rookies with no customers yet, grace manages;
* about 40 customers already sit in the public pool (empty owner).

Idleness is fixed on purpose: exactly ``IDLE_PER_OWNER`` owned customers have
their idleness clock (the later of owned_since-or-created_at and
last_contact_at) start on or before 2026-10-28, so ``recycle --days 30`` at
2026-11-29 takes them; every other owned customer's clock starts on or after
2026-11-02. A follow-up never comes after its customer's last_contact_at (the
last one is at exactly that moment), so replaying followups.csv with
``salespool log`` keeps the same customers idle.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

# The vocabulary of this checkout, not of whichever salespool is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from salespool.core import vocabulary

SEED = 2026
TZ = timezone(timedelta(hours=8))
FIRST_DAY = date(2026, 1, 5)
LAST_DAY = date(2026, 11, 25)
IDLE_FROM = date(2026, 2, 2)
IDLE_UNTIL = date(2026, 10, 28)  # idle clocks start on or before this day
ACTIVE_FROM = date(2026, 11, 2)  # all other owned clocks start on or after this day
POOL_CREATED_UNTIL = date(2026, 11, 20)

CUSTOMER_COLUMNS = list(vocabulary.CUSTOMER_FILE_COLUMNS)
# The import's follow-up columns but next_at, and the stage `demo` logs each one with.
FOLLOWUP_COLUMNS = [c for c in vocabulary.FOLLOWUP_COLUMNS if c != "next_at"] + ["stage"]
REP_COLUMNS = list(vocabulary.REP_COLUMNS)

REPS: list[tuple[str, str, str, str, str]] = [
    ("alice", "rep", "", "80", "2019-03-04"),
    ("bob", "rep", "", "80", "2018-06-11"),
    ("carol", "coach", "", "60", "2016-09-05"),
    ("dave", "rep", "", "60", "2025-04-07"),
    ("erin", "rookie", "carol", "30", "2026-11-24"),
    ("frank", "rookie", "carol", "30", "2026-11-16"),
    ("grace", "manager", "", "", "2015-02-02"),
]
BOOK_SIZE = {"alice": 50, "bob": 45, "carol": 20, "dave": 45}
POOL_SIZE = 40
IDLE_PER_OWNER = {"alice": 15, "bob": 13, "carol": 3, "dave": 9}
CHINESE_STAGE_ROWS = 20  # rows that spell their stage with the Chinese label
NO_CONTACT_ROWS = 30  # rows with an empty last_contact_at
NO_OWNED_SINCE_ROWS = 40  # owned rows with an empty owned_since
FOLLOW_UPS = 600

STAGES = ["prospecting", "negotiating", "won", "maintaining", "deepening", "lost"]
CHINESE_STAGE = {
    "prospecting": "寻找客户",
    "negotiating": "商务谈判",
    "won": "业绩合格",
    "maintaining": "维系客户",
    "deepening": "深耕客户",
    "lost": "流失",
}
# Stage weights, in STAGES order, by kind of owner.
STAGE_WEIGHTS = {
    "veteran": [4, 8, 26, 36, 20, 6],  # alice, bob: order-followers
    "coach": [15, 20, 25, 20, 12, 8],  # carol
    "hunter": [38, 34, 13, 7, 2, 6],  # dave
    "pool": [36, 24, 5, 5, 0, 30],
}
OWNER_KIND = {"alice": "veteran", "bob": "veteran", "carol": "coach", "dave": "hunter"}
# The way a customer usually got to its stage.
STAGE_PATHS = {
    "prospecting": ["prospecting"],
    "negotiating": ["prospecting", "negotiating"],
    "won": ["prospecting", "negotiating", "won"],
    "maintaining": ["prospecting", "negotiating", "won", "maintaining"],
    "deepening": ["prospecting", "negotiating", "won", "maintaining", "deepening"],
    "lost": ["prospecting", "negotiating", "lost"],
}
LEVEL_WEIGHTS = {  # A, B, C
    "prospecting": [10, 35, 55],
    "negotiating": [20, 45, 35],
    "won": [25, 50, 25],
    "maintaining": [40, 45, 15],
    "deepening": [75, 25, 0],
    "lost": [5, 30, 65],
}

# City as written in the file -> (Chinese city, landline area code), with weights.
CITIES: list[tuple[str, str, str, int]] = [
    ("上海", "上海", "021", 22),
    ("北京", "北京", "010", 18),
    ("深圳", "深圳", "0755", 14),
    ("杭州", "杭州", "0571", 14),
    ("广州", "广州", "020", 12),
    ("成都", "成都", "028", 10),
    ("Shanghai", "上海", "021", 6),
    ("Beijing", "北京", "010", 4),
]

ZH_BRANDS: list[tuple[str, str]] = [
    ("华瑞", "huarui"),
    ("云帆", "yunfan"),
    ("鼎信", "dingxin"),
    ("恒通", "hengtong"),
    ("金桥", "jinqiao"),
    ("星辰", "xingchen"),
    ("博远", "boyuan"),
    ("汇丰源", "huifengyuan"),
    ("新航", "xinhang"),
    ("天际", "tianji"),
    ("明德", "mingde"),
    ("嘉禾", "jiahe"),
    ("泰和", "taihe"),
    ("中盛", "zhongsheng"),
    ("蓝海", "lanhai"),
    ("晨光", "chenguang"),
    ("宏达", "hongda"),
    ("立信", "lixin"),
    ("润丰", "runfeng"),
    ("安捷", "anjie"),
    ("盛世", "shengshi"),
    ("同创", "tongchuang"),
    ("锦程", "jincheng"),
    ("远景", "yuanjing"),
    ("凯旋", "kaixuan"),
    ("正邦", "zhengbang"),
    ("优品", "youpin"),
    ("聚源", "juyuan"),
    ("瑞祥", "ruixiang"),
    ("东方红叶", "dongfanghongye"),
    ("青禾", "qinghe"),
    ("鑫源", "xinyuan"),
    ("百川", "baichuan"),
    ("华信", "huaxin"),
    ("海纳", "haina"),
    ("智汇", "zhihui"),
]
ZH_TRADES: list[tuple[str, str]] = [
    ("科技", "tech"),
    ("贸易", "trade"),
    ("物流", "logistics"),
    ("食品", "food"),
    ("电子", "elec"),
    ("机械设备", "machinery"),
    ("医疗器械", "medical"),
    ("信息技术", "it"),
    ("文化传媒", "media"),
    ("建材", "building"),
    ("化工", "chem"),
    ("服饰", "fashion"),
    ("餐饮管理", "catering"),
    ("网络科技", "net"),
    ("供应链管理", "scm"),
    ("包装材料", "pack"),
    ("环保科技", "eco"),
]
EN_BRANDS = [
    "Acme",
    "Blue River",
    "Northwind",
    "Pacific Rim",
    "Silver Oak",
    "Red Lantern",
    "Evergreen",
    "Summit",
    "Harborview",
    "Lotus",
    "Jade Dragon",
    "Orient Star",
    "Crescent",
    "Maple Leaf",
    "Falcon",
    "Pioneer",
    "Sunrise",
    "Bright Path",
    "Cedar Hill",
    "Granite",
    "Horizon",
    "Keystone",
    "Meridian",
    "Nova",
    "Oakridge",
    "Riverstone",
    "Sterling",
    "Trident",
    "Vertex",
    "Willow Creek",
]
EN_TRADES = [
    "Logistics",
    "Foods",
    "Trading",
    "Technologies",
    "Electronics",
    "Textiles",
    "Packaging",
    "Machinery",
    "Medical",
    "Supply",
    "Software",
    "Furniture",
    "Chemicals",
    "Imports",
]
EN_SUFFIXES = ["Ltd", "Co., Ltd.", "Inc.", "Group", "Limited", "", "", ""]
# Names that look like rich markup or need CSV quoting: (name, domain).
TRICKY_NAMES = [
    ("[bold]Acme Trading", "acmetrading.com"),
    ('"Quoted, Co"', "quoted.co"),
    ("Lin & Sons, Ltd. [HK]", "linsons.hk"),
]

ZH_SURNAMES: list[tuple[str, str]] = [
    ("张", "zhang"),
    ("王", "wang"),
    ("李", "li"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("罗", "luo"),
    ("高", "gao"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("欧阳", "ouyang"),
]
ZH_GIVEN: list[tuple[str, str]] = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("晓东", "xiaodong"),
    ("海燕", "haiyan"),
    ("志强", "zhiqiang"),
    ("建华", "jianhua"),
    ("雪", "xue"),
    ("鹏", "peng"),
    ("婷", "ting"),
    ("浩然", "haoran"),
    ("思远", "siyuan"),
    ("子涵", "zihan"),
    ("欣怡", "xinyi"),
    ("宇航", "yuhang"),
]
ZH_TITLES = ["总", "经理", "工"]
EN_FIRST = [
    "James",
    "Mary",
    "John",
    "Linda",
    "David",
    "Sarah",
    "Michael",
    "Emma",
    "Daniel",
    "Olivia",
    "Kevin",
    "Lily",
    "Tony",
    "Jason",
    "Cindy",
    "Peter",
    "Helen",
    "Eric",
    "Amy",
    "Victor",
]
EN_LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Carter",
    "Mitchell",
]
FREE_MAIL = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "foxmail.com"]
MOBILE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "155", "156", "158", "159",
    "176", "177", "180", "181", "183", "186", "187", "188", "189", "199",
]  # fmt: skip

KIND_WEIGHTS = {  # call, wechat, visit, email, meeting, other
    "prospecting": [40, 25, 5, 24, 1, 5],
    "negotiating": [25, 25, 20, 10, 18, 2],
    "won": [20, 20, 25, 10, 23, 2],
    "maintaining": [30, 35, 15, 14, 2, 4],
    "deepening": [20, 20, 30, 5, 24, 1],
    "lost": [50, 30, 0, 18, 0, 2],
}
KINDS = ["call", "wechat", "visit", "email", "meeting", "other"]
NOTES = {
    "prospecting": [
        "电话沟通，介绍公司产品",
        "加了微信，发送产品资料",
        "sent company brochure",
        "cold call, asked for the purchasing contact",
        "客户暂无需求，下月再联系",
        "left a voicemail",
        "展会上认识，约下周电话",
        "asked for their annual volume",
    ],
    "negotiating": [
        "电话沟通报价",
        "sent proposal",
        "上门拜访，演示样品",
        "discussed payment terms",
        "客户压价，申请特价",
        "meeting with the procurement team",
        "寄送样品",
        "revised quote, 5% off for 12 months",
        "技术方案交流",
    ],
    "won": [
        "确认交货时间",
        "delivery scheduled",
        "回访使用情况",
        "invoice sent",
        "安排安装培训",
        "首批货已签收",
    ],
    "maintaining": [
        "节日问候",
        "回访，客户满意",
        "checked stock, reorder expected next month",
        "微信沟通补货",
        "quarterly review call",
        "处理售后问题",
        "对账",
    ],
    "deepening": [
        "拜访客户高层",
        "discussed a referral to their partner",
        "年度采购计划沟通",
        "joint planning meeting",
        "客户推荐新客户",
        "新产品线试用",
    ],
    "lost": [
        "再次联系，客户仍无意向",
        "no reply to email",
        "客户已与其他供应商合作",
        "电话未接通",
    ],
}
ARRIVAL_NOTES = {  # the note of a follow-up that moves the customer to a stage
    "prospecting": ["初次电话联系，介绍产品", "first call, introduced our range"],
    "negotiating": ["客户有意向，约了面谈", "requested a formal quote", "发报价单"],
    "won": ["签订首单合同", "first order signed", "首笔货款到账"],
    "maintaining": ["第二次下单", "repeat order placed", "续签供货协议"],
    "deepening": ["签年度框架协议", "annual framework agreement signed", "追加采购"],
    "lost": ["客户选择了竞争对手", "budget cut, project cancelled", "联系不上，暂停跟进"],
}
# Notes that say how the contact was made; any other note takes a kind by stage.
NOTE_KIND = {
    "电话沟通，介绍公司产品": "call",
    "加了微信，发送产品资料": "wechat",
    "sent company brochure": "email",
    "cold call, asked for the purchasing contact": "call",
    "left a voicemail": "call",
    "展会上认识，约下周电话": "other",
    "电话沟通报价": "call",
    "sent proposal": "email",
    "上门拜访，演示样品": "visit",
    "meeting with the procurement team": "meeting",
    "寄送样品": "other",
    "invoice sent": "email",
    "安排安装培训": "visit",
    "节日问候": "wechat",
    "微信沟通补货": "wechat",
    "quarterly review call": "call",
    "拜访客户高层": "visit",
    "joint planning meeting": "meeting",
    "no reply to email": "email",
    "电话未接通": "call",
    "初次电话联系，介绍产品": "call",
    "first call, introduced our range": "call",
    "客户有意向，约了面谈": "call",
    "发报价单": "email",
    "签订首单合同": "meeting",
    "签年度框架协议": "meeting",
    "联系不上，暂停跟进": "call",
}


@dataclass
class Customer:
    """One row of customers.csv, with the moments kept as datetimes."""

    external_id: str
    name: str
    contact: str
    phone: str
    email: str
    city: str
    level: str
    owner: str
    stage: str  # canonical
    stage_label: str  # as written in the file
    created_at: datetime
    owned_since: datetime | None
    last_contact_at: datetime | None
    idle: bool

    def row(self) -> list[str]:
        """The cells of this customer in CUSTOMER_COLUMNS order."""
        return [
            self.external_id,
            self.name,
            self.contact,
            self.phone,
            self.email,
            self.city,
            self.level,
            self.owner,
            self.stage_label,
            iso(self.created_at),
            iso(self.owned_since),
            iso(self.last_contact_at),
            "",  # referred_by: nobody in the example book came by referral (yet)
        ]


@dataclass
class FollowUp:
    """One row of followups.csv."""

    customer: str
    rep: str
    kind: str
    note: str
    at: datetime
    stage: str

    def row(self) -> list[str]:
        """The cells of this follow-up in FOLLOWUP_COLUMNS order."""
        return [self.customer, self.rep, self.kind, self.note, iso(self.at), self.stage]


def iso(moment: datetime | None) -> str:
    """ISO 8601 with the +08:00 offset, or empty."""
    return moment.isoformat(timespec="seconds") if moment else ""


def opening(day: date) -> datetime:
    """The start of office hours on `day`."""
    return datetime.combine(day, time(9, 0), TZ)


def closing(day: date) -> datetime:
    """The end of office hours on `day`."""
    return datetime.combine(day, time(18, 30), TZ)


def work_moment(rng: random.Random, first: date, last: date) -> datetime:
    """A moment in office hours (on a 5-minute mark) on a day from `first` to `last`."""
    span = (last - first).days
    day = first + timedelta(days=rng.randint(0, span))
    if day.weekday() >= 5 and rng.random() < 0.8:  # weekends are quiet
        day = first + timedelta(days=rng.randint(0, span))
    minute = rng.randrange(9 * 60, 18 * 60 + 30, 5)
    return datetime.combine(day, time(minute // 60, minute % 60), TZ)


def between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A moment in [low, high], in office hours when the range allows it."""
    if high <= low:
        return low
    for _ in range(20):
        moment = work_moment(rng, low.date(), high.date())
        if low <= moment <= high:
            return moment
    minutes = int((high - low).total_seconds() // 60)
    return low + timedelta(minutes=rng.randint(0, minutes))


class Book:
    """Draws unique company names, phones and e-mail addresses."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: set[str] = {name for name, _domain in TRICKY_NAMES}
        self.english_bases: set[str] = set()  # "Blue River Foods" only once, whatever suffix
        self.phones: set[str] = set()
        self.emails: set[str] = set()

    def chinese_company(self, city_zh: str) -> tuple[str, str]:
        """A name such as 上海华瑞科技有限公司, and a web domain for it."""
        rng = self.rng
        while True:
            brand, brand_py = rng.choice(ZH_BRANDS)
            trade, trade_en = rng.choice(ZH_TRADES)
            suffix = "股份有限公司" if rng.random() < 0.12 else "有限公司"
            if rng.random() < 0.12:  # 华瑞科技（上海）有限公司
                name = f"{brand}{trade}（{city_zh}）{suffix}"
            else:
                name = f"{city_zh}{brand}{trade}{suffix}"
            if name not in self.names:
                self.names.add(name)
                tld = rng.choice([".com", ".cn", ".com.cn", ".net"])
                joiner = rng.choice(["", "-"])
                return name, f"{brand_py}{joiner}{trade_en}{tld}"

    def english_company(self) -> tuple[str, str]:
        """A name such as Blue River Foods Ltd, and a web domain for it."""
        rng = self.rng
        while True:
            brand = rng.choice(EN_BRANDS)
            trade = rng.choice(EN_TRADES)
            suffix = rng.choice(EN_SUFFIXES)
            name = f"{brand} {trade} {suffix}".strip()
            base = f"{brand} {trade}"
            if base not in self.english_bases and name not in self.names:
                self.english_bases.add(base)
                self.names.add(name)
                slug = "".join(ch for ch in base.lower() if ch.isalnum())
                return name, slug + rng.choice([".com", ".com", ".cn", ".net", ".co"])

    def contact(self, chinese: bool) -> tuple[str, str]:
        """A contact person's name and an ASCII local part for their e-mail."""
        rng = self.rng
        if chinese:
            surname, surname_py = rng.choice(ZH_SURNAMES)
            if rng.random() < 0.08:  # 张总, 李经理
                return surname + rng.choice(ZH_TITLES), surname_py
            given, given_py = rng.choice(ZH_GIVEN)
            if rng.random() < 0.15:  # Kevin Zhang
                first = rng.choice(EN_FIRST)
                return f"{first} {surname_py.title()}", f"{first.lower()}.{surname_py}"
            local = rng.choice([f"{given_py}.{surname_py}", f"{surname_py}{given_py}"])
            return surname + given, local
        first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", first]).lower()
        return f"{first} {last}", local

    def email(self, local: str, domain: str) -> str:
        """A unique lower-case ASCII address; sometimes on a free mail service."""
        rng = self.rng
        if rng.random() < 0.05:
            return ""
        if rng.random() < 0.2:
            domain = rng.choice(FREE_MAIL)
            if domain == "qq.com":
                local = str(rng.randint(10_000_000, 2_999_999_999))
        address = f"{local}@{domain}"
        number = 2
        while address in self.emails:
            address = f"{local}{number}@{domain}"
            number += 1
        self.emails.add(address)
        return address

    def phone(self, area_code: str) -> str:
        """A unique mobile or landline number in one of the common spellings."""
        rng = self.rng
        while True:
            style = rng.random()
            if style < 0.25:  # 021-6234 5678
                digits = str(rng.randint(5, 8)) + f"{rng.randrange(10**7):07d}"
                text = f"{area_code}-{digits[:4]} {digits[4:]}"
                key = area_code + digits
            else:
                digits = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
                key = digits
                # +86 138 1234 5678 or 13812345678
                text = f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}" if style < 0.5 else digits
            if key not in self.phones:
                self.phones.add(key)
                return text


def pick(rng: random.Random, options: list[str], weights: list[int]) -> str:
    """One of `options`, weighted."""
    return rng.choices(options, weights=weights, k=1)[0]


def make_customers(rng: random.Random) -> list[Customer]:
    """The 200 customers, in external_id order."""
    owners = [rep for rep, size in BOOK_SIZE.items() for _ in range(size)] + [""] * POOL_SIZE
    rng.shuffle(owners)
    total = len(owners)
    idle: set[int] = set()
    for rep, count in IDLE_PER_OWNER.items():
        idle.update(rng.sample([i for i, o in enumerate(owners) if o == rep], count))
    owned = [i for i, o in enumerate(owners) if o]
    no_owned_since = set(rng.sample(owned, NO_OWNED_SINCE_ROWS))
    no_contact = set(rng.sample(range(total), NO_CONTACT_ROWS))
    chinese_stage = set(rng.sample(range(total), CHINESE_STAGE_ROWS))
    tricky = dict(zip(rng.sample(range(total), len(TRICKY_NAMES)), TRICKY_NAMES, strict=True))
    book = Book(rng)
    city_names = [c[0] for c in CITIES]
    city_weights = [c[3] for c in CITIES]
    area = {c[0]: (c[1], c[2]) for c in CITIES}

    customers: list[Customer] = []
    for i, owner in enumerate(owners):
        city = pick(rng, city_names, city_weights)
        city_zh, area_code = area[city]
        if i in tricky:
            name, domain = tricky[i]
            chinese = False
        elif rng.random() < 0.65:
            name, domain = book.chinese_company(city_zh)
            chinese = True
        else:
            name, domain = book.english_company()
            chinese = False
        contact, local = book.contact(chinese if rng.random() < 0.85 else not chinese)
        email = book.email(local, domain)
        phone = book.phone(area_code)

        stage = pick(rng, STAGES, STAGE_WEIGHTS[OWNER_KIND.get(owner, "pool")])
        label = CHINESE_STAGE[stage] if i in chinese_stage else stage
        level = pick(rng, ["A", "B", "C"], LEVEL_WEIGHTS[stage])

        owned_since: datetime | None = None
        last_contact: datetime | None = None
        if owner:
            if i in idle:
                clock = work_moment(rng, IDLE_FROM, IDLE_UNTIL)
            else:
                clock = work_moment(rng, ACTIVE_FROM, LAST_DAY)
            if i not in no_contact:
                last_contact = clock
                created = between(rng, opening(FIRST_DAY), clock)
                if i not in no_owned_since:
                    owned_since = between(rng, created, clock)
            elif i in no_owned_since:  # created recently and never called yet
                created = clock
            else:  # handed over recently and never called yet
                owned_since = clock
                created = between(rng, opening(FIRST_DAY), clock)
        else:
            created = work_moment(rng, FIRST_DAY, POOL_CREATED_UNTIL)
            if i not in no_contact:
                last_contact = between(rng, created, closing(LAST_DAY))
        customers.append(
            Customer(
                external_id=f"C{i + 1:04d}",
                name=name,
                contact=contact,
                phone=phone,
                email=email,
                city=city,
                level=level,
                owner=owner,
                stage=stage,
                stage_label=label,
                created_at=created,
                owned_since=owned_since,
                last_contact_at=last_contact,
                idle=i in idle,
            )
        )
    return customers


def follow_up_counts(rng: random.Random, customers: list[Customer]) -> list[int]:
    """How many follow-ups each customer gets: FOLLOW_UPS in all."""
    ranges = {"alice": (1, 4), "bob": (1, 4), "carol": (2, 6), "dave": (3, 8)}
    counts: list[int] = []
    for customer in customers:
        if not customer.owner or customer.last_contact_at is None:
            counts.append(0)
        elif customer.idle:
            counts.append(rng.randint(1, 3))
        else:
            counts.append(rng.randint(*ranges[customer.owner]))
    busy = [i for i, c in enumerate(customers) if counts[i] and not c.idle]
    hunters = [i for i in busy if customers[i].owner in ("carol", "dave")]
    while sum(counts) < FOLLOW_UPS:
        counts[rng.choice(hunters or busy)] += 1
    while sum(counts) > FOLLOW_UPS:
        index = rng.choice([i for i in busy if counts[i] > 1])
        counts[index] -= 1
    return counts


def make_follow_ups(rng: random.Random, customers: list[Customer]) -> list[FollowUp]:
    """The owners' follow-ups, sorted by time; the last of each is at last_contact_at."""
    follow_ups: list[FollowUp] = []
    for customer, count in zip(customers, follow_up_counts(rng, customers), strict=True):
        if count == 0 or customer.last_contact_at is None:
            continue
        start = customer.owned_since or customer.created_at
        end = customer.last_contact_at
        moments = [*sorted(between(rng, start, end) for _ in range(count - 1)), end]
        path = STAGE_PATHS[customer.stage]
        if customer.stage == "lost" and rng.random() < 0.4:
            path = ["prospecting", "lost"]
        marks: dict[int, str] = {}
        phase = customer.stage
        if rng.random() < 0.65:
            steps = rng.randint(1, min(len(path), count))
            positions = sorted(rng.sample(range(count), steps))
            marks = dict(zip(positions, path[-steps:], strict=True))
            phase = path[max(len(path) - steps - 1, 0)]
        for index, at in enumerate(moments):
            stage = marks.get(index, "")
            if stage:
                phase = stage
                note = rng.choice(ARRIVAL_NOTES[stage])
            else:
                note = "" if rng.random() < 0.05 else rng.choice(NOTES[phase])
            kind = NOTE_KIND.get(note) or pick(rng, KINDS, KIND_WEIGHTS[phase])
            follow_ups.append(FollowUp(customer.external_id, customer.owner, kind, note, at, stage))
    follow_ups.sort(key=lambda f: (f.at, f.customer))
    return follow_ups


DEAL_COLUMNS = ["customer", *vocabulary.DEAL_FACTS]
DEALS_PER_STAGE = {"won": 1, "maintaining": 2, "deepening": 3}


def make_deals(rng: random.Random, customers: list[Customer]) -> list[list[str]]:
    """Deals of converted customers, none after last contact (so idleness is unchanged).

    A quarter go through the online shop: still credited to the owner.
    """
    deals: list[tuple[datetime, list[str]]] = []
    for customer in customers:
        count = DEALS_PER_STAGE.get(customer.stage, 0)
        if not customer.owner or customer.last_contact_at is None or count == 0:
            continue
        start = customer.owned_since or customer.created_at
        for _ in range(count):
            at = between(rng, start, customer.last_contact_at)
            yuan = rng.randrange(3_000, 120_000, 100)
            cents = rng.choice([0, 0, 0, 50, 88])
            channel = "online" if rng.random() < 0.25 else "direct"
            deals.append((at, [customer.external_id, f"{yuan}.{cents:02d}", channel, iso(at)]))
    deals.sort(key=lambda d: (d[0], d[1][0]))
    return [row for _at, row in deals]


# The month after the move to salespool (story.csv): the remedy, lived.
MOVED_AT = datetime(2026, 11, 29, 9, 0, tzinfo=TZ)  # import, then the first recycling
HANDED_OUT_AT = MOVED_AT + timedelta(minutes=5)  # the pool to the rookies
STORY_FROM = date(2026, 11, 30)
KEPT_FROM = date(2026, 12, 2)  # a customer called on or after this day stays on 2026-12-31
STORY_UNTIL = date(2026, 12, 30)
STORY_COLUMNS = ["at", "action", "customer", "rep", "kind", "stage", "note", "amount", "channel"]
STORY_FOLLOW_UPS = {"alice": (1, 3), "bob": (1, 3), "carol": (1, 4), "dave": (2, 5)}
ACTION_ORDER = {"assign": 0, "claim": 1, "log": 2, "deal": 3}


@dataclass
class Action:
    """One row of story.csv: something a rep did after the move, replayed in time order."""

    at: datetime
    action: str  # assign, claim, log or deal
    customer: str
    rep: str
    kind: str = ""
    stage: str = ""
    note: str = ""
    amount: str = ""
    channel: str = ""

    def row(self) -> list[str]:
        """The cells of this action in STORY_COLUMNS order."""
        return [
            iso(self.at),
            self.action,
            self.customer,
            self.rep,
            self.kind,
            self.stage,
            self.note,
            self.amount,
            self.channel,
        ]


def amount(rng: random.Random) -> str:
    """A deal's amount in yuan, as the files write it."""
    return f"{rng.randrange(3_000, 120_000, 100)}.{rng.choice([0, 0, 0, 50, 88]):02d}"


def at_on(day: date, hour: int, minute: int = 0) -> datetime:
    """`day` at hour:minute in the team's zone."""
    return datetime.combine(day, time(hour, minute), TZ)


def talk(rng: random.Random, customer: Customer, rep: str, at: datetime, phase: str) -> Action:
    """A follow-up on `customer` in `phase` with a note that fits it."""
    note = rng.choice(NOTES[phase])
    kind = NOTE_KIND.get(note) or pick(rng, KINDS, KIND_WEIGHTS[phase])
    return Action(at, "log", customer.external_id, rep, kind, "", note)


def veterans_month(rng: random.Random, customers: list[Customer]) -> list[Action]:
    """The veterans keep their books: alice and bob farm, dave and carol hunt.

    Nobody calls a `lost` customer, so those go idle and the rule takes them;
    every other customer they still own is called on or after KEPT_FROM.
    """
    actions: list[Action] = []
    for c in customers:
        if c.owner not in STORY_FOLLOW_UPS or c.idle or c.stage == "lost":
            continue
        count = rng.randint(*STORY_FOLLOW_UPS[c.owner])
        moments = sorted(
            [work_moment(rng, STORY_FROM, STORY_UNTIL) for _ in range(count - 1)]
            + [work_moment(rng, KEPT_FROM, STORY_UNTIL)]
        )
        phase = c.stage
        move = ""  # the stage the last follow-up moves it to, if any
        hunter = c.owner in ("carol", "dave")
        if hunter and phase == "prospecting" and rng.random() < 0.3:
            move = "negotiating"
        elif hunter and phase == "negotiating" and rng.random() < 0.2:
            move = "won"
        elif phase in ("won", "maintaining", "deepening") and rng.random() < 0.25:
            move = "maintaining" if phase == "won" else phase  # a repeat order
        for at in moments[:-1]:
            actions.append(talk(rng, c, c.owner, at, phase))
        last = moments[-1]
        if not move:
            actions.append(talk(rng, c, c.owner, last, phase))
            continue
        note = rng.choice(ARRIVAL_NOTES[move])
        kind = NOTE_KIND.get(note) or pick(rng, KINDS, KIND_WEIGHTS[move])
        stage = move if move != phase else ""
        actions.append(Action(last, "log", c.external_id, c.owner, kind, stage, note))
        if move in ("won", "maintaining", "deepening"):
            channel = "online" if rng.random() < 0.25 else "direct"
            actions.append(
                Action(last, "deal", c.external_id, c.owner, "", "", "", amount(rng), channel)
            )
    return actions


def rookies_month(rng: random.Random, customers: list[Customer]) -> list[Action]:
    """erin works every customer she is given, claims more, negotiates and wins; frank
    calls three of his ten late, never gets to an offer, and the rule takes the rest."""
    pool = [c for c in customers if (not c.owner or c.idle) and c.stage != "lost"]
    hunting = [c for c in pool if c.stage in ("prospecting", "negotiating")]
    lapsed = [c for c in pool if c.idle and c.owner in ("alice", "bob") and c not in hunting]
    erin_hunt = rng.sample(hunting, 6)
    erin_lapsed = rng.sample(lapsed, 4)
    rest = [c for c in hunting if c not in erin_hunt]
    # Prospects only: a call on a customer already in talks would count as negotiating.
    frank_hunt = rng.sample([c for c in rest if c.stage == "prospecting"], 5)
    frank_lapsed = rng.sample([c for c in lapsed if c not in erin_lapsed], 5)
    rest = [c for c in rest if c not in frank_hunt]
    erin_claims = rng.sample(rest, 3)
    actions: list[Action] = []
    for rep, given in (("erin", erin_hunt + erin_lapsed), ("frank", frank_hunt + frank_lapsed)):
        for c in sorted(given, key=lambda c: c.external_id):
            actions.append(Action(HANDED_OUT_AT, "assign", c.external_id, rep))

    # erin: first calls on day 6, an offer on day 14, her coach on a visit, a first
    # deal on day 27, and a lapsed customer of alice's or bob's ordering again.
    prospects = [c for c in erin_hunt if c.stage == "prospecting"] or erin_hunt
    offer, closing_deal = prospects[0], (prospects[1] if len(prospects) > 1 else erin_hunt[1])
    for index, c in enumerate(erin_hunt + erin_lapsed):
        phase = "prospecting" if c in erin_hunt else "maintaining"
        first = at_on(STORY_FROM, 10, 5 * index) if index < 4 else None
        days = sorted(work_moment(rng, date(2026, 12, 1), STORY_UNTIL) for _ in range(2))
        if first is not None:  # the first round: a call to introduce herself
            note = "初次电话联系，介绍产品" if phase == "prospecting" else "回访，客户满意"
            actions.append(Action(first, "log", c.external_id, "erin", "call", "", note))
        for at in days:
            actions.append(talk(rng, c, "erin", at, phase))
    actions.append(
        Action(
            at_on(date(2026, 12, 8), 14, 30),
            "log",
            offer.external_id,
            "erin",
            "call",
            "negotiating",
            "客户有意向，约了面谈",
        )
    )
    for c in (closing_deal, *[c for c in erin_hunt[2:4] if c is not offer]):
        at = work_moment(rng, date(2026, 12, 9), date(2026, 12, 14))
        actions.append(Action(at, "log", c.external_id, "erin", "email", "negotiating", "发报价单"))
    actions.append(
        Action(
            at_on(date(2026, 12, 15), 15, 0),
            "log",
            closing_deal.external_id,
            "erin",
            "visit",
            "",
            "和carol一起上门拜访，演示样品",
        )
    )
    signed = at_on(date(2026, 12, 21), 11, 0)
    actions.append(
        Action(signed, "log", closing_deal.external_id, "erin", "meeting", "", "签订首单合同")
    )
    actions.append(
        Action(signed, "deal", closing_deal.external_id, "erin", "", "", "", amount(rng), "direct")
    )
    reorder = at_on(date(2026, 12, 28), 16, 40)
    actions.append(
        Action(
            reorder,
            "log",
            erin_lapsed[0].external_id,
            "erin",
            "wechat",
            "",
            "老客户回来了，第二次下单",
        )
    )
    actions.append(
        Action(
            reorder, "deal", erin_lapsed[0].external_id, "erin", "", "", "", amount(rng), "online"
        )
    )
    claimed = at_on(date(2026, 12, 14), 10, 0)
    for index, c in enumerate(sorted(erin_claims, key=lambda c: c.external_id)):
        actions.append(Action(claimed, "claim", c.external_id, "erin"))
        actions.append(
            Action(
                claimed + timedelta(minutes=20 * (index + 1)),
                "log",
                c.external_id,
                "erin",
                "call",
                "",
                "初次电话联系，介绍产品",
            )
        )
        later = work_moment(rng, date(2026, 12, 16), STORY_UNTIL)
        actions.append(talk(rng, c, "erin", later, "prospecting"))

    # frank: a first call on day 17, two more customers later, no offer anywhere.
    called = frank_hunt[:3]
    firsts = [
        at_on(date(2026, 12, 3), 15, 20),
        at_on(date(2026, 12, 10), 11, 0),
        at_on(date(2026, 12, 17), 16, 10),
    ]
    for c, at in zip(called, firsts, strict=True):
        actions.append(
            Action(at, "log", c.external_id, "frank", "call", "", "初次电话联系，介绍产品")
        )
        again = between(rng, at + timedelta(days=1), at_on(STORY_UNTIL, 18))
        actions.append(
            Action(
                again,
                "log",
                c.external_id,
                "frank",
                "call",
                "",
                rng.choice(["客户暂无需求，下月再联系", "left a voicemail"]),
            )
        )
    return actions


def make_story(rng: random.Random, customers: list[Customer]) -> list[list[str]]:
    """What the team did in the month after the move, in time order."""
    actions = rookies_month(rng, customers) + veterans_month(rng, customers)
    actions.sort(key=lambda a: (a.at, ACTION_ORDER[a.action], a.customer))
    return [a.row() for a in actions]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write UTF-8 (no BOM) CSV with LF line ends, quoting only where needed."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    """Write customers.csv, followups.csv, deals.csv and reps.csv."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write the CSV files to (default: next to this script)",
    )
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    customers = make_customers(rng)
    follow_ups = make_follow_ups(rng, customers)
    write_csv(out / "customers.csv", CUSTOMER_COLUMNS, [c.row() for c in customers])
    write_csv(out / "followups.csv", FOLLOWUP_COLUMNS, [f.row() for f in follow_ups])
    write_csv(out / "reps.csv", REP_COLUMNS, [list(rep) for rep in REPS])
    # A separate generator so adding deals left the other files as they were.
    deals = make_deals(random.Random(SEED + 1), customers)
    write_csv(out / "deals.csv", DEAL_COLUMNS, deals)
    # The month after the move: a generator of its own again.
    story = make_story(random.Random(SEED + 2), customers)
    write_csv(out / "story.csv", STORY_COLUMNS, story)
    print(
        f"wrote {len(customers)} customers, {len(follow_ups)} follow-ups, "
        f"{len(deals)} deals and {len(REPS)} reps to {out}"
    )
    print(f"and {len(story)} actions of the month after the move to story.csv")


if __name__ == "__main__":
    main()

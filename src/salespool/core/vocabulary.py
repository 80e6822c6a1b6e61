"""The words files are written in: each import's columns, their other names, the export's.

Pure data and a few tiny functions, shared by the imports (core/importer.py,
followup_import.py, deal_import.py), the export (core/export.py) and the example
data (examples/make_data.py), so that what one writes the others read.

Aliases are spelled as `layout.header_key` spells a header (NFKC, lower case,
`_` for spaces and dashes): what other CRMs and Chinese spreadsheets call a
column. `--map` adds more per import.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

# What the CSV export puts a ' before (OWASP CSV injection); reading it back drops the '.
# Spreadsheets run a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralize(text: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with `'` (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def guarded(text: str) -> bool:
    """Whether a cell is one `neutralize` prefixed: a ' before a formula start."""
    return text[:1] == "'" and text[1:2] in FORMULA_STARTS and text[1:2] != ""


def _named(*groups: tuple[str, list[str]]) -> dict[str, str]:
    """{alias: column} from (column, aliases) pairs."""
    return {alias: column for column, aliases in groups for alias in aliases}


# --- customers ---------------------------------------------------------------------

# In the order the customer import reads them.
CUSTOMER_COLUMNS = (
    "name",
    "external_id",
    "contact",
    "phone",
    "email",
    "city",
    "level",
    "owner",
    "stage",
    "created_at",
    "owned_since",
    "last_contact_at",
    "referred_by",
)
# A customer file as salespool writes one (the export, less its id; the examples):
# external_id first.
CUSTOMER_FILE_COLUMNS = ("external_id", *(c for c in CUSTOMER_COLUMNS if c != "external_id"))
CUSTOMER_ALIASES: dict[str, str] = _named(
    (
        "name",
        [
            "客户名称",
            "公司名称",
            "客户名",
            "企业名称",
            "单位名称",
            "company",
            "company_name",
            "customer",
            "customer_name",
        ],
    ),
    ("external_id", ["客户编号", "编号", "客户id", "客户代码", "ext_id", "external_key"]),
    ("contact", ["联系人", "联系人姓名", "contact_name", "contact_person"]),
    (
        "phone",
        [
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "电话号码",
            "座机",
            "mobile",
            "tel",
            "telephone",
            "phone_number",
        ],
    ),
    ("email", ["邮箱", "电子邮箱", "邮件", "e_mail", "mail", "email_address"]),
    ("city", ["城市", "所在城市", "所在地"]),
    (
        "owner",
        [
            "负责人",
            "销售",
            "归属销售",
            "所属销售",
            "销售负责人",
            "跟进人",
            "rep",
            "sales_rep",
            "salesperson",
        ],
    ),
    ("stage", ["阶段", "客户阶段", "销售阶段"]),
    ("level", ["客户级别", "级别", "客户等级", "等级"]),
    ("created_at", ["创建时间", "创建日期", "录入时间"]),
    ("owned_since", ["领取时间", "分配时间"]),
    ("last_contact_at", ["最后跟进时间", "最近跟进时间", "最后联系时间"]),
    ("referred_by", ["介绍人", "推荐人", "referrer", "referred_by_customer"]),
)
# The customer columns a follow-up, deal or event export names its customer by.
CUSTOMER_REF = ("customer_id", "customer_external_id", "customer_name")

# --- follow-ups --------------------------------------------------------------------

FOLLOWUP_COLUMNS = ("customer", "rep", "kind", "note", "at", "next_at")
# What import-followups reads: the follow-up and, optionally, the customer's stage at it.
FOLLOWUP_IMPORT_COLUMNS = (*FOLLOWUP_COLUMNS, "stage")
FOLLOWUP_ALIASES: dict[str, str] = _named(
    (
        "customer",
        [
            "客户",
            "客户名称",
            "公司名称",
            "客户编号",
            "external_id",
            "customer_id",
            "customer_name",
            "name",
            "company",
        ],
    ),
    ("rep", ["跟进人", "销售", "负责人", "业务员", "owner", "sales_rep", "salesperson", "user"]),
    ("kind", ["跟进方式", "方式", "跟进类型", "类型", "type", "method"]),
    ("note", ["跟进内容", "内容", "备注", "跟进记录", "记录", "notes", "content", "comment"]),
    ("at", ["跟进时间", "时间", "跟进日期", "日期", "date", "time", "when"]),
    ("next_at", ["下次跟进时间", "下次跟进", "next", "next_followup"]),
    ("stage", ["阶段", "客户阶段", "销售阶段", "跟进阶段"]),
)

# What the follow-up kinds are called: the canonical names (models.FollowUpKind, in its
# order) and the labels people and other CRMs use, read by `log --kind` and
# `import-followups` alike. Keys are spelled as `kind_key` spells a label.
FOLLOWUP_KINDS = ("call", "wechat", "visit", "email", "meeting", "other")
KIND_ALIASES: dict[str, str] = {
    **{kind: kind for kind in FOLLOWUP_KINDS},
    **_named(
        # Traditional spellings too (電話, 拜訪, ...): CRMs in Taiwan and Hong Kong.
        ("call", ["电话", "打电话", "电话沟通", "電話", "phone", "phone_call", "tel"]),
        ("wechat", ["微信", "weixin", "wx"]),
        ("visit", ["拜访", "上门", "上门拜访", "面访", "拜訪"]),
        ("email", ["邮件", "电子邮件", "郵件", "電子郵件", "e-mail", "mail"]),
        ("meeting", ["会议", "视频会议", "开会", "會議", "meet"]),
        ("other", ["其他", "其它"]),
    ),
}

# The kinds as messages and help list them: the names, and the labels people type most.
KINDS_SHOWN = ", ".join(FOLLOWUP_KINDS) + " (or 电话, 微信, 拜访, 邮件, 会议)"


def kind_key(label: str) -> str:
    """A kind label as KIND_ALIASES spells it: NFKC (full-width to half-width), trimmed,
    lower case."""
    return unicodedata.normalize("NFKC", label).strip().lower()


def kind_of(label: str, extra: dict[str, str] | None = None) -> str | None:
    """The canonical kind a label names (电话 -> call), with `extra` ({kind_key: kind})
    first; None when it names none."""
    key = kind_key(label)
    if extra and key in extra:
        return extra[key]
    return KIND_ALIASES.get(key)


# --- deals -------------------------------------------------------------------------

# The customer columns a deal file may name its customer by, in the order they match.
DEAL_CUSTOMER_KEYS = ("external_id", "phone", "email", "name")
# What a deal is, in every deal file (import and export).
DEAL_FACTS = ("amount", "channel", "at")
DEAL_COLUMNS = ("deal_id", "customer", *DEAL_CUSTOMER_KEYS, *DEAL_FACTS, "rep")
DEAL_ALIASES: dict[str, str] = {
    # The customer import's names for the customer's own columns (客户编号, 手机, 邮箱,
    # 客户名称, ...), less the bare 编号 (in a deal file, as likely the deal's number).
    **{
        alias: column
        for alias, column in CUSTOMER_ALIASES.items()
        if column in DEAL_CUSTOMER_KEYS and alias != "编号"
    },
    # As `export deals` names them, so an export imports into another store.
    CUSTOMER_REF[1]: "external_id",
    CUSTOMER_REF[2]: "name",
    "客户": "customer",
    **_named(
        (
            "deal_id",
            [
                "订单号",
                "订单编号",
                "成交编号",
                "合同编号",
                "合同号",
                "单号",
                "order_id",
                "order_no",
                "deal_no",
                "deal_number",
            ],
        ),
        (
            "amount",
            [
                "成交金额",
                "金额",
                "订单金额",
                "合同金额",
                "交易金额",
                "销售额",
                "deal_amount",
                "total",
                "value",
            ],
        ),
        (
            "at",
            [
                "成交日期",
                "成交时间",
                "签约日期",
                "下单时间",
                "日期",
                "时间",
                "date",
                "deal_date",
                "closed_at",
                "time",
                "when",
            ],
        ),
        ("channel", ["渠道", "成交渠道", "销售渠道", "source"]),
        (
            "rep",
            [
                "销售",
                "负责人",
                "业务员",
                "销售员",
                "归属销售",
                "所属销售",
                "成交人",
                "owner",
                "sales_rep",
                "salesperson",
            ],
        ),
    ),
}

# --- reps --------------------------------------------------------------------------

# A team file (examples/reps.csv, read by `demo` and `import-reps`).
REP_COLUMNS = ("name", "role", "coach", "capacity", "hired_at")
REP_ALIASES: dict[str, str] = _named(
    ("name", ["姓名", "名字", "销售", "销售姓名", "rep", "rep_name"]),
    ("role", ["角色", "职位", "岗位", "title"]),
    ("coach", ["教练", "带教", "师傅", "导师", "mentor"]),
    ("capacity", ["容量", "客户上限", "上限", "max_customers"]),
    ("hired_at", ["入职日期", "入职时间", "入职", "hired", "start_date"]),
)
# What the roles are called in a team file (models.Role, in its order), as `kind_key` spells
# a label: the canonical names and the titles Chinese teams use.
REP_ROLES = ("rookie", "rep", "coach", "manager")
ROLE_ALIASES: dict[str, str] = {
    **{role: role for role in REP_ROLES},
    **_named(
        ("rookie", ["新人", "新员工", "新手", "实习生", "见习", "trainee", "junior"]),
        ("rep", ["销售", "销售代表", "业务员", "销售员", "老销售", "sales", "veteran"]),
        ("coach", ["教练", "导师", "师傅", "带教", "mentor"]),
        ("manager", ["经理", "主管", "销售经理", "销售主管", "lead"]),
    ),
}
ROLES_SHOWN = ", ".join(REP_ROLES) + " (or 新人, 销售, 教练, 经理)"

# --- exports -----------------------------------------------------------------------

# The import's columns (external_id first) plus id, so an export imports as the same book.
CUSTOMER_EXPORT = ("id", *CUSTOMER_FILE_COLUMNS)
FOLLOWUP_EXPORT = ("id", *CUSTOMER_REF, *(c for c in FOLLOWUP_COLUMNS if c != "customer"))
# A voided deal is exported too, marked: the export is the whole trail.
DEAL_EXPORT = ("id", *CUSTOMER_REF, "rep", *DEAL_FACTS, "voided_at", "void_reason")
EVENT_EXPORT = (
    "id",
    *CUSTOMER_REF,
    "at",
    "kind",
    "from_rep",
    "to_rep",
    "from_stage",
    "to_stage",
    "reason",
    "actor",
)


# The choices the import and export commands offer (light, so the CLI can name them).


class OnDuplicate(StrEnum):
    """What a row matching a customer already in the book does."""

    update = "update"  # fill in the customer's details (never its owner, unless --take-owner)
    skip = "skip"  # leave the customer as it is
    error = "error"  # refuse the row


class ExportKind(StrEnum):
    """What `export` writes: one of the book's tables."""

    customers = "customers"
    followups = "followups"
    deals = "deals"
    events = "events"


class ExportFormat(StrEnum):
    """How to write it: CSV, an Excel workbook, or JSON Lines (one object per line)."""

    csv = "csv"
    xlsx = "xlsx"
    json = "json"

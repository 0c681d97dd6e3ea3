"""Generated local harvest sources for bench/harvest.py: the same kind of catalog (Qingdao
departments, Chinese titles and descriptions, domains, openness, grades, frequencies,
keywords, dates, distributions) written as DCAT Turtle, a DCAT-US data.json, and the
Chinese catalog template as CSV and XLSX. Seeded: the same N gives the same files."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEPARTMENTS = [
    ("transport", "青岛市交通运输局"),
    ("civil-affairs", "青岛市民政局"),
    ("education", "青岛市教育局"),
    ("health", "青岛市卫生健康委员会"),
    ("ecology", "青岛市生态环境局"),
    ("agriculture", "青岛市农业农村局"),
    ("market", "青岛市市场监督管理局"),
    ("housing", "青岛市住房和城乡建设局"),
    ("ocean", "青岛市海洋发展局"),
    ("port", "山东港口青岛港集团"),
]
# (our domain label, EU data theme, DCAT-US theme)
DOMAINS = [
    ("交通运输", "TRAN", "Transport"),
    ("生态环境", "ENVI", "Environment"),
    ("医疗卫生", "HEAL", "Health"),
    ("教育文化", "EDUC", "Education, culture and sport"),
    ("工业农业", "AGRI", "Agriculture, fisheries, forestry and food"),
    ("财税金融", "ECON", "Economy and finance"),
    ("机构团体", "GOVE", "Government and public sector"),
    ("法律服务", "JUST", "Justice, legal system and public safety"),
    ("科技创新", "TECH", "Science and technology"),
    ("资源能源", "ENER", "Energy"),
]
SUBJECTS = [
    ("公交线路", "公交"),
    ("养老机构", "养老"),
    ("中小学校名录", "学校"),
    ("医院床位", "医院"),
    ("空气质量", "空气"),
    ("企业登记", "企业"),
    ("港口吞吐量", "港口"),
    ("农产品价格", "农产品"),
    ("公共停车泊位", "停车"),
    ("噪声监测", "噪声"),
    ("地表水水质", "水质"),
    ("社会救助对象", "救助"),
]
DISTRICTS = ["市南区", "市北区", "黄岛区", "崂山区", "李沧区", "城阳区", "即墨区", "胶州市"]
# (our label, EU frequency, ISO 8601 duration)
FREQUENCIES = [
    ("每日", "DAILY", "R/P1D"),
    ("每月", "MONTHLY", "R/P1M"),
    ("每季度", "QUARTERLY", "R/P3M"),
    ("每年", "ANNUAL", "R/P1Y"),
    ("实时", "CONT", "R/PT1S"),
    ("不定期", "IRREG", "irregular"),
]
PLEDGE = "实名认证并签署《公共数据安全承诺书》"
# (openness, grade, DCAT access right, data.json accessLevel, 开放条件)
OPENNESS = [
    ("无条件开放", "一般数据1级", "PUBLIC", "public", None),
    ("有条件开放", "一般数据2级", "RESTRICTED", "restricted public", "实名认证后申请"),
    ("有条件开放", "一般数据3级", "RESTRICTED", "restricted public", PLEDGE),
]  # fmt: skip
# (our code, media type); Turtle gives the media type as an IANA IRI, data.json as mediaType
FORMATS = [
    ("csv", "text/csv"),
    ("json", "application/json"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("xml", "application/xml"),
]


@dataclass(frozen=True)
class Entry:
    number: int
    code: str  # 资源代码
    title: str
    description: str
    department: tuple[str, str]
    domain: tuple[str, str, str]
    openness: tuple[str, str, str, str, str | None]
    frequency: tuple[str, str, str]
    keywords: list[str]
    issued: str
    modified: str
    formats: list[tuple[str, str]]

    def url(self, fmt: str) -> str:
        return f"https://data.qingdao.gov.cn/files/{self.code}.{fmt}"


def entries(count: int, seed: int = 11) -> Iterator[Entry]:
    rng = random.Random(seed)
    for i in range(count):
        subject, keyword = rng.choice(SUBJECTS)
        district = rng.choice(DISTRICTS)
        year = rng.randint(2016, 2024)
        issued = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        modified = f"{min(year + rng.randint(0, 2), 2025)}-{rng.randint(1, 12):02d}-15"
        yield Entry(
            number=i,
            code=f"3060{i:08d}",
            title=f"{district}{subject}数据（第{i}号）",
            description=(
                f"{district}{subject}的明细数据，按{rng.choice(['日', '月', '季度'])}汇总，"
                f"包括名称、地址、数量与统计口径说明，第{i}号。"
            ),
            department=rng.choice(DEPARTMENTS),
            domain=rng.choice(DOMAINS),
            openness=rng.choice(OPENNESS),
            frequency=rng.choice(FREQUENCIES),
            keywords=[keyword, district, subject],
            issued=issued,
            modified=max(issued, modified),
            formats=rng.sample(FORMATS, rng.randint(1, 2)),
        )


def _turtle_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a valid Turtle string literal too


def write_turtle(path: Path, count: int) -> None:
    """A DCAT-AP catalog in Turtle, written as text (rdflib's serializer would take minutes
    for 20k datasets and is not what we measure)."""
    base = "https://data.qingdao.gov.cn"
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
            "@prefix dct: <http://purl.org/dc/terms/> .\n"
            "@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
            "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .\n"
            "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
            "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
            "@prefix eu: <http://publications.europa.eu/resource/authority/> .\n\n"
            f"<{base}/catalog> a dcat:Catalog ;\n"
            '    dct:title "青岛市公共数据开放目录"@zh .\n\n'
        )
        for slug, name in DEPARTMENTS:
            out.write(
                f"<{base}/org/{slug}> a foaf:Organization ;\n"
                f"    foaf:name {_turtle_string(name)}@zh .\n\n"
            )
        for e in entries(count):
            iri = f"{base}/dataset/{e.code}"
            access, condition = e.openness[2], e.openness[4]
            lines = [
                f"<{base}/catalog> dcat:dataset <{iri}> .",
                f"<{iri}> a dcat:Dataset ;",
                f'    dct:identifier "{e.code}" ;',
                f"    dct:title {_turtle_string(e.title)}@zh ;",
                f"    dct:description {_turtle_string(e.description)}@zh ;",
                "    dcat:keyword "
                + ", ".join(f"{_turtle_string(k)}@zh" for k in e.keywords)
                + " ;",
                f"    dct:publisher <{base}/org/{e.department[0]}> ;",
                f"    dcat:theme eu:data-theme\\/{e.domain[1]} ;",
                f"    dct:accrualPeriodicity eu:frequency\\/{e.frequency[1]} ;",
                f'    dct:issued "{e.issued}"^^xsd:date ;',
                f'    dct:modified "{e.modified}"^^xsd:date ;',
                f"    dct:accessRights eu:access-right\\/{access} ;",
            ]
            if condition:
                lines.append(
                    f"    dct:rights [ a dct:RightsStatement ; "
                    f"rdfs:label {_turtle_string(condition)}@zh ] ;"
                )
            lines.append(f"    dcat:landingPage <{base}/dataset/{e.code}.html> ;")
            dists = [f"<{base}/dist/{e.code}-{fmt}>" for fmt, _ in e.formats]
            lines.append(f"    dcat:distribution {', '.join(dists)} .")
            for (fmt, media), dist in zip(e.formats, dists, strict=True):
                lines += [
                    f"{dist} a dcat:Distribution ;",
                    f"    dct:title {_turtle_string(f'{e.title}（{fmt.upper()}）')}@zh ;",
                    f"    dcat:downloadURL <{e.url(fmt)}> ;",
                    f"    dcat:mediaType <https://www.iana.org/assignments/media-types/{media}> .",
                ]
            out.write("\n".join(lines) + "\n\n")


def write_data_json(path: Path, count: int) -> None:
    """A DCAT-US 1.1 (Project Open Data) catalog."""
    datasets = []
    for e in entries(count):
        dataset = {
            "@type": "dcat:Dataset",
            "identifier": e.code,
            "title": e.title,
            "description": e.description,
            "keyword": e.keywords,
            "modified": e.modified,
            "issued": e.issued,
            "publisher": {"@type": "org:Organization", "name": e.department[1]},
            "contactPoint": {
                "@type": "vcard:Contact",
                "fn": "数据管理员",
                "hasEmail": f"mailto:data-{e.department[0]}@qingdao.gov.cn",
            },
            "accessLevel": e.openness[3],
            "theme": [e.domain[2]],
            "accrualPeriodicity": e.frequency[2],
            "landingPage": f"https://data.qingdao.gov.cn/dataset/{e.code}.html",
            "distribution": [
                {
                    "@type": "dcat:Distribution",
                    "title": f"{e.title}（{fmt.upper()}）",
                    "downloadURL": e.url(fmt),
                    "mediaType": media,
                }
                for fmt, media in e.formats
            ],
        }
        if e.openness[4]:
            dataset["rights"] = e.openness[4]
        datasets.append(dataset)
    catalog = {
        "@type": "dcat:Catalog",
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",
        "dataset": datasets,
    }
    path.write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")


TEMPLATE_HEADER = [
    "数据目录名称",
    "资源代码",
    "数据提供方",
    "所属领域",
    "开放属性",
    "开放条件",
    "数据分级",
    "更新频率",
    "数据格式",
    "发布日期",
    "更新日期",
    "关键字",
    "数据摘要",
    "下载地址",
]


def template_rows(count: int) -> Iterator[list[str]]:
    for e in entries(count):
        yield [
            e.title,
            e.code,
            e.department[1],
            e.domain[0],
            e.openness[0],
            e.openness[4] or "",
            e.openness[1],
            e.frequency[0],
            "、".join(fmt for fmt, _ in e.formats),
            e.issued,
            e.modified,
            "、".join(e.keywords),
            e.description,
            e.url(e.formats[0][0]),
        ]


def write_csv(path: Path, count: int) -> None:
    """The Chinese catalog template as CSV (UTF-8 with BOM, as Excel saves it)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(TEMPLATE_HEADER)
        writer.writerows(template_rows(count))


def write_xlsx(path: Path, count: int) -> None:
    """The Chinese catalog template as a workbook: a title row, then the 数据目录 table."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("数据目录")
    sheet.append(["青岛市公共数据目录（基准测试生成）"])
    sheet.append(TEMPLATE_HEADER)
    for row in template_rows(count):
        sheet.append(row)
    workbook.save(path)

"""The public catalog as DCAT-AP 2.1.1: an rdflib graph, Hydra-paged, for national and
European aggregators that harvest DCAT. (DCAT-US `data.json` is dcat_us.py's.)

No Flask here: the API, the CLI and tests build these from a session and the portal's base
URL. Only what the public may see is exported (dcat_public.py).

The mapping keeps every profile field. Where DCAT has a term it is used (EU authority tables
for access rights, frequencies and file types; vCard contacts; DQV for the quality score);
the rest (grade, openness, zones, classification codes, counts, data items) goes into our own
namespace `qdp:`. Which code becomes which DCAT value, and which field which qdp: property,
is harvesters/formats/dcat.py's, the mapping our DCAT harvester reads back by
(tests/interop/test_dcat_export.py says what does not come back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from rdflib import XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.term import Node
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvesters.formats.dcat import (
    DATASET_PROPERTIES,
    DQV,
    EU,
    HYDRA,
    IANA_MEDIA_TYPES,
    PORTAL,
    PORTAL_NS,
    VCARD,
    VOCAB_NS,
    data_theme_labels,
    written,
)
from schemas import message, vocab

from ..models import DataField, Dataset, Organization, Resource
from ..visibility import PUBLIC, Viewer
from .dcat_public import (
    AUTHORITY,
    MEDIA_TYPE,
    URL,
    authority,
    dataset_page,
    is_plain_url,
    published,
    with_children,
)
from .disclosure import Disclosure

QDP = PORTAL  # our own profile's fields: qdp:grade, qdp:openType, qdp:zone …
ZHO = URIRef(f"{EU}language/ZHO")

CATALOG_TITLE = message("青岛市公共数据开放平台", "Qingdao Public Data Open Platform")
CATALOG_DESCRIPTION = message(
    "青岛市公共数据开放平台汇聚全市各部门依法开放的公共数据目录，包括无条件开放、有条件开放"
    "以及目录公开的不予开放数据，并按领域、专区和数据分级组织。",
    "The catalog of public data that the City of Qingdao's departments open by law: data "
    "open to all, data open on approval, and the public catalog entries of closed data, "
    "organised by domain, zone and data grade.",
)
DEFAULT_PAGE_SIZE = 100

# Our codes → EU authority tables (harvesters/data/dcat.yaml, which reads each back).
ACCESS_RIGHTS = written("open_types", "access_right")
FREQUENCIES = written("update_frequencies", "frequency")
FILE_TYPES = written("formats", "file_type")
# EU data themes for the domains that have exactly one (the others only get our own theme).
EU_THEMES = {
    domain: (code, data_theme_labels()[code])
    for domain, code in written("domains", "data_theme").items()
}
TEL = re.compile(r"^\+?[0-9()-]+$")

CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "skos": str(SKOS),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "hydra": str(HYDRA),
    "dqv": str(DQV),
    "qdp": PORTAL_NS,
}


@dataclass(frozen=True)
class PageRequest:
    """One page of the catalog (api/dcat_params.py reads it from the query string)."""

    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    modified_since: datetime | None = None
    since_text: str | None = field(default=None, compare=False)  # as given, for page links


def new_graph() -> Graph:
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in CONTEXT.items():
        graph.bind(prefix, Namespace(namespace), override=True, replace=True)
    return graph


def catalog_graph(
    session: Session,
    base_url: str,
    request: PageRequest,
    collection_url: str,
    viewer: Viewer = PUBLIC,
) -> Graph:
    """One page of the catalog: the dcat:Catalog, the page's datasets and a
    hydra:PartialCollectionView whose links are `collection_url` with the page parameters.
    Resource URLs as `viewer` may see them (disclosure.py)."""
    builder = _Builder(new_graph(), base_url.rstrip("/"), viewer)
    query = published(request.modified_since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    datasets = session.scalars(
        with_children(query.order_by(Dataset.name))
        .offset((request.page - 1) * request.size)
        .limit(request.size)
    )
    catalog = builder.catalog(session)
    for dataset in datasets:
        builder.graph.add((catalog, DCAT.dataset, builder.dataset(dataset)))
    builder.paging(collection_url, request, total)
    return builder.graph


def dataset_graph(
    session: Session, base_url: str, name: str, viewer: Viewer = PUBLIC
) -> Graph | None:
    """One dataset, or None when the public may not see it (unknown, withdrawn, closed)."""
    query = with_children(published().where(Dataset.name == name))
    dataset = session.scalar(query)
    if dataset is None:
        return None
    builder = _Builder(new_graph(), base_url.rstrip("/"), viewer)
    builder.dataset(dataset)
    return builder.graph


def serialize(graph: Graph, syntax: str) -> bytes:
    """`turtle`, `json-ld` (compacted with our prefixes) or `xml` (RDF/XML), as UTF-8."""
    if syntax == "json-ld":
        text = graph.serialize(format="json-ld", context=CONTEXT, indent=2, auto_compact=True)
    elif syntax == "xml":
        text = graph.serialize(format="pretty-xml")
    else:
        text = graph.serialize(format=syntax)
    return text.encode("utf-8")


def dataset_iri(base_url: str, name: str) -> str:
    """The dataset's IRI: a fragment of its page, like its contact, distributions and so on
    (the page is a foaf:Document, the dataset is not)."""
    return f"{dataset_page(base_url, name)}#dataset"


class _Builder:
    """Adds catalog, datasets and the nodes they share (agents, themes) to one graph."""

    def __init__(self, graph: Graph, base: str, viewer: Viewer) -> None:
        self.graph = graph
        self.base = base
        self.disclosure = Disclosure(viewer, base)

    def add(self, subject: Node, predicate: URIRef, value: Any, lang: str | None = None) -> None:
        """Adds the triple unless `value` is empty; plain values become literals."""
        if value is None or value == "":
            return
        if not isinstance(value, Node):
            value = Literal(value, lang=lang) if lang else Literal(value)
        self.graph.add((subject, predicate, value))

    def typed(self, node: URIRef, *classes: URIRef) -> URIRef:
        for cls in classes:
            self.graph.add((node, RDF.type, cls))
        return node

    # the catalog and its pages

    def catalog(self, session: Session) -> URIRef:
        node = self.typed(URIRef(f"{self.base}/catalog"), DCAT.Catalog)
        for lang, text in CATALOG_TITLE.items():
            self.add(node, DCTERMS.title, text, lang)
        for lang, text in CATALOG_DESCRIPTION.items():
            self.add(node, DCTERMS.description, text, lang)
        platform = authority(session)
        if platform is not None:
            publisher = self.agent(platform)
        else:
            publisher = self.typed(URIRef(f"{self.base}/#authority"), FOAF.Agent, FOAF.Organization)
            for lang, text in AUTHORITY.items():
                self.add(publisher, FOAF.name, text, lang)
        self.add(node, DCTERMS.publisher, publisher)
        self.add(node, DCTERMS.language, self.typed(ZHO, DCTERMS.LinguisticSystem))
        self.add(node, FOAF.homepage, self.typed(URIRef(f"{self.base}/"), FOAF.Document))
        self.add(node, DCAT.themeTaxonomy, self.scheme("domains"))
        return node

    def paging(self, collection_url: str, request: PageRequest, total: int) -> None:
        last = max(1, -(-total // request.size))

        def link(number: int) -> URIRef:
            params: dict[str, Any] = {}
            if request.since_text:
                params["modified_since"] = request.since_text
            params["page_size"] = request.size
            params["page"] = number
            return URIRef(f"{collection_url}?{urlencode(params)}")

        view = self.typed(link(request.page), HYDRA.PartialCollectionView)
        self.add(view, HYDRA.totalItems, Literal(total, datatype=XSD.integer))
        self.add(view, HYDRA.first, link(1))
        self.add(view, HYDRA.last, link(last))
        if request.page < last:
            self.add(view, HYDRA.next, link(request.page + 1))
        if 1 < request.page <= last:
            self.add(view, HYDRA.previous, link(request.page - 1))

    # a dataset

    def dataset(self, ds: Dataset) -> URIRef:
        page = dataset_page(self.base, ds.name)
        node = self.typed(URIRef(dataset_iri(self.base, ds.name)), DCAT.Dataset)
        self.add(node, DCTERMS.identifier, ds.name)
        self.add(node, DCTERMS.title, ds.title, "zh")
        self.add(node, DCTERMS.title, ds.title_en, "en")
        self.add(node, DCTERMS.description, ds.description, "zh")
        for keyword in ds.keywords or []:
            self.add(node, DCAT.keyword, keyword, "zh")
        self.add(node, DCTERMS.publisher, self.agent(ds.publisher))
        self.themes(node, ds.domain)
        self.add(node, DCTERMS.issued, _date(ds.issued))
        self.add(node, DCTERMS.modified, _date(ds.modified))
        if ds.update_frequency in FREQUENCIES:
            frequency = URIRef(f"{EU}frequency/{FREQUENCIES[ds.update_frequency]}")
            self.add(node, DCTERMS.accrualPeriodicity, self.typed(frequency, DCTERMS.Frequency))
        self.add(node, DCAT.landingPage, self.typed(URIRef(page), FOAF.Document))
        self.add(node, DCTERMS.language, self.typed(ZHO, DCTERMS.LinguisticSystem))
        self.contact(node, page, ds)
        self.access(node, page, ds)
        license_node = self.license(ds.license)
        self.add(node, DCTERMS.license, license_node)
        for resource in ds.resources:
            upstream = self.disclosure.upstream(ds, resource)
            distribution = self.distribution(node, page, resource, upstream, license_node)
            self.add(node, DCAT.distribution, distribution)
        self.portal_fields(node, page, ds)
        return node

    def agent(self, org: Organization) -> URIRef:
        node = URIRef(f"{self.base}/organization/{quote(org.name)}")
        if (node, RDF.type, FOAF.Agent) in self.graph:
            return node
        self.typed(node, FOAF.Agent, FOAF.Organization)
        self.add(node, FOAF.name, org.title, "zh")
        self.add(node, FOAF.name, org.title_en, "en")
        self.add(node, DCTERMS.identifier, org.uscc)  # 统一社会信用代码
        self.add(node, DCTERMS.description, org.description, "zh")
        if org.contact_email:
            self.add(node, FOAF.mbox, URIRef(f"mailto:{org.contact_email}"))
        self.add(node, FOAF.phone, _tel(org.contact_phone))
        if org.website and URL.match(org.website):
            self.add(node, FOAF.homepage, self.typed(_iri(org.website), FOAF.Document))
        return node

    def scheme(self, vocabulary: str) -> URIRef:
        node = self.typed(URIRef(f"{VOCAB_NS}{vocabulary}"), SKOS.ConceptScheme)
        self.add(node, DCTERMS.title, vocab(vocabulary).zh, "zh")
        self.add(node, DCTERMS.title, vocab(vocabulary).en, "en")
        return node

    def themes(self, dataset: URIRef, domain: str) -> None:
        concept = self.typed(URIRef(f"{VOCAB_NS}domains/{domain}"), SKOS.Concept)
        if (concept, SKOS.inScheme, None) not in self.graph:
            self.add(concept, SKOS.prefLabel, vocab("domains").label(domain, "zh"), "zh")
            self.add(concept, SKOS.prefLabel, vocab("domains").label(domain, "en"), "en")
            self.add(concept, SKOS.notation, domain)
            self.add(concept, SKOS.inScheme, self.scheme("domains"))
        self.add(dataset, DCAT.theme, concept)
        if domain in EU_THEMES:
            code, label = EU_THEMES[domain]
            theme = self.typed(URIRef(f"{EU}data-theme/{code}"), SKOS.Concept)
            self.add(theme, SKOS.prefLabel, label, "en")
            self.add(dataset, DCAT.theme, theme)

    def contact(self, dataset: URIRef, page: str, ds: Dataset) -> None:
        if not ds.contact_email and not ds.contact_phone:
            return
        node = self.typed(URIRef(f"{page}#contact"), VCARD.Kind, VCARD.Organization)
        self.add(node, VCARD.fn, ds.publisher.title, "zh")
        if ds.contact_email:
            self.add(node, VCARD.hasEmail, URIRef(f"mailto:{ds.contact_email}"))
        self.add(node, VCARD.hasTelephone, _tel(ds.contact_phone))
        self.add(dataset, DCAT.contactPoint, node)

    def access(self, dataset: URIRef, page: str, ds: Dataset) -> None:
        rights = URIRef(f"{EU}access-right/{ACCESS_RIGHTS[ds.open_type]}")
        self.add(dataset, DCTERMS.accessRights, self.typed(rights, DCTERMS.RightsStatement))
        if ds.open_condition:  # the conditions of 有条件开放, readable by any DCAT client
            statement = self.typed(URIRef(f"{page}#rights"), DCTERMS.RightsStatement)
            self.add(statement, RDFS.label, ds.open_condition, "zh")
            self.add(dataset, DCTERMS.rights, statement)

    def license(self, text: str | None) -> Node | None:
        if not text:
            return None
        if is_plain_url(text):
            return self.typed(_iri(text.strip()), DCTERMS.LicenseDocument)
        # A licence named in words: a blank licence document with that name.
        node = BNode()
        self.graph.add((node, RDF.type, DCTERMS.LicenseDocument))
        self.add(node, RDFS.label, text, "zh")
        return node

    def distribution(
        self,
        dataset: URIRef,
        page: str,
        resource: Resource,
        upstream: str | None,
        license_node: Node | None,
    ) -> URIRef:
        node = self.typed(URIRef(f"{page}#resource-{quote(resource.id)}"), DCAT.Distribution)
        self.add(node, DCTERMS.title, resource.name, "zh")
        self.add(node, DCTERMS.description, resource.description, "zh")
        url = _iri(upstream) if upstream else None
        # DCAT-AP requires an access URL: without a URL of its own (or one the viewer may
        # see), the dataset's page.
        self.add(node, DCAT.accessURL, url or URIRef(page))
        if resource.kind == "file" and url is not None:
            self.add(node, DCAT.downloadURL, url)
        self.add(node, DCTERMS.format, self.file_type(resource.format))
        if resource.media_type and MEDIA_TYPE.match(resource.media_type):
            media_type = URIRef(IANA_MEDIA_TYPES + resource.media_type)
            self.add(node, DCAT.mediaType, self.typed(media_type, DCTERMS.MediaType))
        if resource.size is not None:
            # The canonical xsd:decimal form (with ".0"): what Turtle writes too.
            self.add(node, DCAT.byteSize, Literal(f"{resource.size}.0", datatype=XSD.decimal))
        self.add(node, DCTERMS.license, license_node)
        if resource.kind == "api" and url is not None:
            service = self.typed(URIRef(f"{node}-service"), DCAT.DataService)
            self.add(service, DCTERMS.title, resource.name, "zh")
            self.add(service, DCAT.endpointURL, url)
            self.add(service, DCAT.servesDataset, dataset)
            self.add(node, DCAT.accessService, service)
        # Ours: the order of the resources, their kind and row count.
        self.add(node, QDP.position, Literal(resource.position, datatype=XSD.integer))
        self.add(node, QDP.resourceKind, resource.kind)
        if resource.record_count is not None:
            self.add(node, QDP.recordCount, Literal(resource.record_count, datatype=XSD.integer))
        return node

    def file_type(self, code: str | None) -> Node | None:
        if not code:
            return None
        if code in FILE_TYPES:
            return self.typed(
                URIRef(f"{EU}file-type/{FILE_TYPES[code]}"), DCTERMS.MediaTypeOrExtent
            )
        # No EU file type (其他): a blank format node that says so in words, as DCAT allows.
        node = BNode()
        self.graph.add((node, RDF.type, DCTERMS.MediaTypeOrExtent))
        self.add(node, RDFS.label, vocab("formats").label(code, "zh"), "zh")
        self.add(node, RDFS.label, vocab("formats").label(code, "en"), "en")
        return node

    def portal_fields(self, node: URIRef, page: str, ds: Dataset) -> None:
        for prop in DATASET_PROPERTIES:
            self.add(node, QDP[prop.local], getattr(ds, prop.field))  # ints and booleans typed
        for zone in ds.zones:
            self.add(node, QDP.zone, zone.code)
        for item in ds.fields:  # 信息项
            self.data_field(node, page, item)
        # The quality score as a W3C Data Quality Vocabulary measurement.
        measurement = self.typed(URIRef(f"{page}#quality"), DQV.QualityMeasurement)
        self.add(measurement, DQV.isMeasurementOf, self.typed(QDP.qualityScore, DQV.Metric))
        self.add(measurement, DQV.value, Literal(ds.quality_score, datatype=XSD.integer))
        self.add(node, DQV.hasQualityMeasurement, measurement)

    def data_field(self, dataset: URIRef, page: str, item: DataField) -> None:
        node = self.typed(URIRef(f"{page}#field-{item.position}"), QDP.DataField)
        self.add(node, QDP.position, Literal(item.position, datatype=XSD.integer))
        self.add(node, QDP.name, item.name)
        self.add(node, DCTERMS.title, item.title, "zh")
        self.add(node, QDP.fieldType, item.type)
        if item.length is not None:
            self.add(node, QDP.length, Literal(item.length, datatype=XSD.integer))
        self.add(node, QDP.grade, item.grade)
        self.add(node, QDP.sensitive, bool(item.sensitive))
        self.add(node, DCTERMS.description, item.description, "zh")
        self.add(dataset, QDP.dataField, node)


def _date(value: date | None) -> Literal | None:
    return Literal(value.isoformat(), datatype=XSD.date) if value else None


def _tel(phone: str | None) -> Node | None:
    """tel: IRI for a plain number; a number with spaces stays text (no IRI may hold one)."""
    if not phone:
        return None
    return URIRef(f"tel:{phone}") if TEL.match(phone) else Literal(f"tel:{phone}")


def _iri(url: str) -> URIRef:
    # Characters no IRI may hold are escaped; everything else stays as the source wrote it.
    return URIRef(quote(url.strip(), safe="!#$%&'()*+,/:;=?@[]~-._"))

"""DCAT / DCAT-AP in RDF (any rdflib syntax) → plain dataset dicts in the data.json shape.

The mapping onto our profile lives in `dcat_json`: this module only reads the graph, so that
Turtle, RDF/XML, JSON-LD and N-Triples of one catalog give the very same dicts. Keys are those
of DCAT-US (title, description, identifier, keyword, publisher, contactPoint, theme,
accrualPeriodicity, issued, modified, landingPage, license, distribution …) plus `iri`,
`title_en`, `accessRights`, `rights` and `portal` (our own qdp: predicates by profile field).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.term import Node

from .formats.dcat import HYDRA, PORTAL, PORTAL_NS, VCARD, portal_field

IANA_MEDIA_TYPES = re.compile(r"^https?://www\.iana\.org/assignments/media-types/", re.I)
NAME_PREDICATES = (FOAF.name, SKOS.prefLabel, VCARD.fn, VCARD["organization-name"], RDFS.label)
LABEL_PREDICATES = (SKOS.prefLabel, RDFS.label, DCTERMS.title, DCTERMS.description, RDF.value)


def next_pages(graph: Graph) -> list[str]:
    """Hydra links to the next page (hydra:next, or hydra:nextPage of the older vocabulary)."""
    found = {str(o) for p in (HYDRA.next, HYDRA.nextPage) for o in graph.objects(None, p)}
    return sorted(found)


def read_datasets(pages: list[tuple[str, Graph]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, dataset dict) for every dcat:Dataset of the pages, page by page, in IRI
    order within a page (stable whatever the syntax): location is `page <dataset IRI>`."""
    merged = Graph()
    for _, page in pages:
        merged += page
    seen: set[Node] = set()
    for page_name, page in pages:
        nodes = {*page.subjects(RDF.type, DCAT.Dataset), *page.objects(None, DCAT.dataset)}
        for node in sorted(nodes - seen, key=lambda n: _sort_key(merged, n)):
            seen.add(node)
            yield f"{page_name} {_show(merged, node)}", _dataset(merged, node)


def _sort_key(graph: Graph, node: Node) -> tuple[int, str]:
    # Blank node ids change from parse to parse; their titles do not.
    if isinstance(node, BNode):
        return (1, _best(graph.objects(node, DCTERMS.title))[0] or "")
    return (0, str(node))


def _show(graph: Graph, node: Node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    return f"[{_best(graph.objects(node, DCTERMS.title))[0] or 'blank node'}]"


def _dataset(graph: Graph, node: Node) -> dict[str, Any]:
    title, title_en = _best(graph.objects(node, DCTERMS.title))
    publisher = graph.value(node, DCTERMS.publisher) or _catalog_publisher(graph, node)
    access = graph.value(node, DCTERMS.accessRights)
    return {
        "iri": str(node) if isinstance(node, URIRef) else None,
        "identifier": _first_text(graph.objects(node, DCTERMS.identifier)),
        "title": title,
        "title_en": title_en,
        "description": _best(graph.objects(node, DCTERMS.description))[0],
        "keyword": sorted({str(k).strip() for k in graph.objects(node, DCAT.keyword)}),
        "publisher": _agent(graph, publisher) if publisher is not None else None,
        "contactPoint": _contact(graph, node),
        "theme": _themes(graph, node),
        "accrualPeriodicity": _term(graph, graph.value(node, DCTERMS.accrualPeriodicity)),
        "issued": _first_text(graph.objects(node, DCTERMS.issued)),
        "modified": _first_text(graph.objects(node, DCTERMS.modified)),
        "accessRights": _term(graph, access),
        "rights": _label(graph, access) or _label(graph, graph.value(node, DCTERMS.rights)),
        "landingPage": _first_text(graph.objects(node, DCAT.landingPage)),
        "license": _license(graph, graph.value(node, DCTERMS.license)),
        "distribution": _distributions(graph, node),
        "portal": _portal(graph, node),
    }


def _catalog_publisher(graph: Graph, dataset: Node) -> Node | None:
    """DCAT-AP makes the publisher mandatory on the catalog only: a dataset inherits it."""
    for catalog in sorted(graph.subjects(DCAT.dataset, dataset), key=str):
        publisher = graph.value(catalog, DCTERMS.publisher)
        if publisher is not None:
            return publisher
    return None


def _best(literals: Iterable[Node]) -> tuple[str | None, str | None]:
    """(preferred text, English text): Chinese first, then English, then untagged, then any."""
    by_rank: dict[int, list[str]] = {}
    english: list[str] = []
    for item in literals:
        text = str(item).strip()
        if not text:
            continue
        lang = (item.language or "").lower() if isinstance(item, Literal) else ""
        rank = 0 if lang.startswith("zh") else 1 if lang.startswith("en") else 2 if not lang else 3
        by_rank.setdefault(rank, []).append(text)
        if lang.startswith("en"):
            english.append(text)
    best = min(by_rank.items())[1] if by_rank else []
    return (min(best) if best else None, min(english) if english else None)


def _first_text(values: Iterable[Node]) -> str | None:
    texts = sorted(str(v).strip() for v in values if str(v).strip())
    return texts[0] if texts else None


def _label(graph: Graph, node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, Literal):
        return str(node).strip() or None
    for predicate in LABEL_PREDICATES:
        text = _best(graph.objects(node, predicate))[0]
        if text:
            return text
    return None


def _term(graph: Graph, node: Node | None) -> str | None:
    """A controlled value: the IRI when there is one, else its label or literal text."""
    if node is None:
        return None
    return str(node) if isinstance(node, URIRef) else _label(graph, node)


def _themes(graph: Graph, node: Node) -> list[str]:
    """Each theme's IRI followed by its labels: the mapping takes the first it knows."""
    out: list[str] = []
    for theme in sorted(graph.objects(node, DCAT.theme), key=str):
        if isinstance(theme, URIRef):
            out.append(str(theme))
        labels = [graph.objects(theme, p) for p in (SKOS.prefLabel, RDFS.label)]
        out.extend(sorted({str(lit) for group in labels for lit in group}))
        if isinstance(theme, Literal):
            out.append(str(theme))
    return out


def _agent(graph: Graph, node: Node) -> dict[str, Any]:
    if isinstance(node, Literal):  # seen in the wild: dct:publisher "Some Office"
        return {"key": str(node), "name": str(node)}
    names = [lit for p in NAME_PREDICATES for lit in graph.objects(node, p)]
    name, name_en = _best(names)
    return {
        # A blank node's id changes with every parse; its name does not.
        "key": str(node) if isinstance(node, URIRef) else name,
        "name": name,
        "name_en": name_en,
        "mbox": _first_text(graph.objects(node, FOAF.mbox)),
        "homepage": _first_text(graph.objects(node, FOAF.homepage)),
        "phone": _first_text(graph.objects(node, FOAF.phone)),
    }


def _contact(graph: Graph, node: Node) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    for point in sorted(graph.objects(node, DCAT.contactPoint), key=str):
        for key, predicate in (("hasEmail", VCARD.hasEmail), ("hasTelephone", VCARD.hasTelephone)):
            value = graph.value(point, predicate)
            if value is not None and key not in contact:
                # vCard allows the value itself or a node holding it in vcard:hasValue.
                contact[key] = str(graph.value(value, VCARD.hasValue) or value)
        contact.setdefault("fn", _first_text(graph.objects(point, VCARD.fn)))
    return contact


def _license(graph: Graph, node: Node | None) -> str | None:
    if isinstance(node, BNode):
        return _label(graph, node) or _first_text(graph.objects(node, DCTERMS.identifier))
    return _term(graph, node)


def _distributions(graph: Graph, node: Node) -> list[dict[str, Any]]:
    """In our export's order (qdp:position) when it gives one, else in title order."""
    out = [
        (_position(graph, d), _distribution(graph, d))
        for d in graph.objects(node, DCAT.distribution)
    ]
    out.sort(
        key=lambda p: (p[0], p[1]["title"] or "", p[1]["downloadURL"] or p[1]["accessURL"] or "")
    )
    return [distribution for _, distribution in out]


def _position(graph: Graph, node: Node) -> tuple[int, int]:
    value = graph.value(node, PORTAL.position)
    try:
        return (0, int(str(value))) if value is not None else (1, 0)
    except ValueError:
        return (1, 0)


def _distribution(graph: Graph, node: Node) -> dict[str, Any]:
    media_type = _term(graph, graph.value(node, DCAT.mediaType))
    return {
        "title": _best(graph.objects(node, DCTERMS.title))[0],
        "description": _best(graph.objects(node, DCTERMS.description))[0],
        "downloadURL": _first_text(graph.objects(node, DCAT.downloadURL)),
        "accessURL": _first_text(graph.objects(node, DCAT.accessURL)),
        "format": _term(graph, graph.value(node, DCTERMS.format)),
        "mediaType": IANA_MEDIA_TYPES.sub("", media_type) if media_type else None,
        "byteSize": _first_text(graph.objects(node, DCAT.byteSize)),
        "accessService": graph.value(node, DCAT.accessService) is not None,
    }


def _portal(graph: Graph, node: Node) -> dict[str, list[str]]:
    """Our own export's predicates (qdp:openType …) by profile field name (open_type …)."""
    out: dict[str, list[str]] = {}
    for predicate, value in graph.predicate_objects(node):
        if str(predicate).startswith(PORTAL_NS):
            field = portal_field(str(predicate)[len(PORTAL_NS) :])
            out.setdefault(field, []).append(str(value).strip())
    return {field: sorted(values) for field, values in sorted(out.items())}

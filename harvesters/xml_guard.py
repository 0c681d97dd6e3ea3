"""XML documents with a DTD are refused before any parser sees them.

A DTD is what makes XML expensive or dangerous: nested `<!ENTITY>` definitions expand a
610-byte RDF/XML into millions of characters (rdflib's SAX handler then took over a
minute), and an external entity names a file or URL for the parser to read. RDF/XML and
the catalogs we harvest never need one. A DTD can only stand in the prolog, before the
root element, so the check is a scan for `<!DOCTYPE` or `<!ENTITY` anywhere in the bytes:
simpler than tracking where the prolog ends and stricter (a comment or CDATA naming
them is refused too, which no catalog misses). NUL bytes are dropped before the scan so
that UTF-16 and UTF-32 (the other encodings expat reads) cannot hide the markup; every
other encoding expat accepts is ASCII-compatible. This is what `defusedxml`'s
forbid_dtd does, without a parser of its own for rdflib to be wired to.
"""

from __future__ import annotations

import re

_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def has_dtd(data: bytes) -> bool:
    """Whether the XML document `data` declares a DTD or an entity."""
    return _DTD.search(data.replace(b"\x00", b"")) is not None

"""Security headers on every response, from one hook: what a browser may load, frame and
send along. The pages load only the portal's own files (no inline script or style, so the
policy needs no nonce); everything else (JSON, RDF, files) may load nothing at all.
"""

from __future__ import annotations

from flask import Flask, Response

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
HSTS = "max-age=31536000"  # a year; subdomains are the city's to decide, not ours


def init_security_headers(app: Flask, *, https: bool) -> None:
    """`https`: the portal is served over HTTPS only (secure cookies), so browsers are
    told to keep to it (they ignore the header on plain HTTP)."""

    def secure(response: Response) -> Response:
        headers = response.headers
        html = response.mimetype == "text/html"
        headers.setdefault("Content-Security-Policy", PAGE_POLICY if html else DATA_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # A page may set a stricter one (the reset form's URL carries its token).
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    app.after_request(secure)

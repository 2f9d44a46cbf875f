"""/docs: the OpenAPI document as a page, everything it loads served by the app itself."""

from __future__ import annotations

import re

from tests.e2e.helpers import Api, problem_type


def test_the_docs_page_loads_only_from_the_app(api: Api) -> None:
    page = api.get("/docs", token=None)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '"/openapi.json"' in html
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded and all(url.startswith("/docs/assets/") for url in loaded), loaded
    assert "http://" not in html and "https://" not in html  # no CDN, nothing remote
    for url in loaded:
        asset = api.get(url, token=None)
        assert asset.status_code == 200, url
        assert asset.mimetype in ("text/css", "text/javascript", "application/javascript")
        assert len(asset.data) > 1000
        assert "max-age=86400" in asset.headers["Cache-Control"]
    assert api.get("/openapi.json", token=None).status_code == 200


def test_only_the_pages_files_are_served(api: Api) -> None:
    for name in ("index.html", "swagger-ui.js.map", "..%2F__init__.py", "x" * 65, "nothing.js"):
        answer = api.get(f"/docs/assets/{name}", token=None)
        assert answer.status_code == 404, name
        assert problem_type(answer) == "not-found"


def test_the_portal_page_runs_only_its_own_files(api: Api) -> None:
    page = api.get("/portal", token=None)
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "https://" not in html and "http://" not in html
    loaded = [url for url in re.findall(r'(?:src|href)="([^"#]+)"', html)
              if not url.startswith("data:")]
    assert sorted(loaded) == ["/portal/assets/portal.css", "/portal/assets/portal.js"]
    for url in loaded:
        asset = api.get(url, token=None)
        assert asset.status_code == 200
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    script = api.get("/portal/assets/portal.js", token=None).get_data(as_text=True)
    assert "innerHTML" not in script  # API text is inserted as text only
    for name in ("portal.html", "../pages.py", "x.js"):
        assert api.get(f"/portal/assets/{name}", token=None).status_code == 404


def test_a_browsers_own_request_for_an_icon_is_answered_with_none(api: Api) -> None:
    answer = api.get("/favicon.ico", token=None)
    assert answer.status_code == 204 and answer.data == b""
    assert "max-age=86400" in answer.headers["Cache-Control"]

"""The API's documentation pages work on a machine that reaches nothing but the app itself.

Every request to an address other than the live app's is aborted and recorded; the pages
must render all the same, and must not have asked for anything outside.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from browser_steps import SCREENSHOTS, screenshot


def _block_everything_not_local(page, base_url: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Abort every request that does not go to the app; return the list of those asked for."""
    local = urlsplit(base_url).netloc
    outside: list[str] = []

    def route(route, request):  # type: ignore[no-untyped-def]
        address = urlsplit(request.url)
        if address.scheme in ("data", "blob") or address.netloc == local:
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    page.route("**/*", route)
    return outside


def test_swagger_ui_renders_every_operation_without_any_outside_request(new_page, live_app):
    page = new_page()
    outside = _block_everything_not_local(page, live_app.base_url)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path")

    assert "Installment decision engine" in page.inner_text(".swagger-ui .info .title")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/v1/decisions" in path for path in paths)
    assert any("/v1/reviews/" in path for path in paths)
    # The Authorize button appears only when the schema declares how clients authenticate.
    assert page.locator("button.authorize").count() == 1
    screenshot(page, "api-docs-swagger-ui")
    assert outside == []
    assert failed == []


def test_redoc_renders_without_any_outside_request(new_page, live_app):
    page = new_page()
    outside = _block_everything_not_local(page, live_app.base_url)

    page.goto("/redoc")
    page.wait_for_selector("h1")
    page.locator("h2", has_text="Decide an instalment application").wait_for()

    assert "Installment decision engine" in page.inner_text("h1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The first screen only: the whole reference is many screens long.
    page.screenshot(path=str(SCREENSHOTS / "api-docs-redoc.png"))
    assert outside == []

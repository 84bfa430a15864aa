"""live.js in a real browser: a page that follows a stream of changes re-fetches at most about once
per ``data-live-gap``, however fast the changes come — the projector and the chair's poll page while
votes pour in — and still ends showing the latest state; a part without a gap (the chair's console)
follows every change as before.

The stream is played by the test: ``EventSource`` is replaced before the page's scripts run, so the
test fires an event every 100 ms for two seconds; the fetches go to routes the test answers and counts.
htmx and live.js are the files the demo server serves.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Route

from tests.browser.conftest import DemoServer

pytestmark = pytest.mark.browser

FAKE_EVENT_SOURCE = """
window.__sources = [];
window.EventSource = function (url) { this.url = url; this.listeners = {}; window.__sources.push(this); };
window.EventSource.prototype.addEventListener = function (name, f) {
  (this.listeners[name] = this.listeners[name] || []).push(f);
};
window.EventSource.prototype.close = function () {};
window.__fire = function (name, id) {
  window.__sources.forEach(function (s) {
    (s.listeners[name] || []).forEach(function (f) { f({lastEventId: String(id), data: "{}"}); });
  });
};
"""


def part(element_id: str, text: str, gap: str) -> str:
    gap_attr = f' data-live-gap="{gap}"' if gap else ""
    return (f'<div id="{element_id}" data-live="/live/test/{element_id}" data-live-get="/gap-test/{element_id}"'
            f' data-live-on="cast" data-live-since="0"{gap_attr}>{text}</div>')


def test_a_part_with_a_gap_refetches_about_once_per_gap_and_ends_current(browser: Browser,
                                                                        demo_server: DemoServer) -> None:
    context = browser.new_context(base_url=demo_server.url)
    context.add_init_script(FAKE_EVENT_SOURCE)
    page = context.new_page()
    fetched = {"projector": 0, "console": 0}
    projector_fetched_at: list[float] = []

    def answer(route: Route) -> None:
        element_id = route.request.url.rsplit("/", 1)[1]
        fetched[element_id] += 1
        if element_id == "projector":
            projector_fetched_at.append(time.monotonic())
        gap = "1000" if element_id == "projector" else ""
        route.fulfill(status=200, content_type="text/html; charset=utf-8",
                      body=f"<html><body>{part(element_id, f'已投 {fetched[element_id]} 次', gap)}</body></html>")

    page.route("**/gap-test/*", answer)
    page.route("**/gap-test", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8",
        body=("<!doctype html><html><head>"
              '<script src="/static/vendor/htmx/htmx-2.0.11.min.js"></script>'
              '<script src="/static/js/live.js"></script></head><body>'
              f"{part('projector', '已投 0 次', '1000')}{part('console', '已投 0 次', '')}</body></html>")))
    page.goto("/gap-test")
    page.wait_for_function("() => window.__sources.length === 2")

    for version in range(1, 21):  # 20 changes, one every 100 ms
        page.evaluate("v => window.__fire('cast', v)", version)
        last_change = time.monotonic()
        time.sleep(0.1)
    page.wait_for_timeout(1500)  # the last gap runs out

    # The console followed every change; the projector fetched about once a second, the last fetch
    # after the last change, so it shows the current state too.
    assert fetched["console"] >= 15
    assert 2 <= fetched["projector"] <= 4
    assert projector_fetched_at[-1] > last_change
    assert page.locator("#projector").inner_text() == f"已投 {fetched['projector']} 次"
    context.close()

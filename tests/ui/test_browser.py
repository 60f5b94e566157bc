"""The search page in a real headless Chromium, against a real `semsearch ui` over data/."""

from __future__ import annotations

import contextlib
import json
import re
from urllib.parse import parse_qs, urlparse

QUESTION = "how do I rotate the logs?"
EXPECTED = "docs/ops/logging.md"


def first_path(page) -> str:
    return page.locator("#results li.card .path").first.inner_text()


def wait_for_first(page, path: str) -> None:
    page.wait_for_function(
        "p => { const e = document.querySelector('#results li.card .path'); return e && e.textContent === p; }",
        arg=path,
    )


def test_typing_a_question_puts_the_expected_file_first(ui_url, page, screenshots):
    page.goto(ui_url)
    assert page.evaluate("document.activeElement.id") == "q"  # the box has the focus on arrival
    page.locator("#q").press_sequentially(QUESTION, delay=15)
    wait_for_first(page, EXPECTED)
    card = page.locator("#results li.card").first
    assert "Rotating the logs" in card.locator(".heading").inner_text()
    assert re.fullmatch(r"lines \d+–\d+", card.locator(".lines").inner_text())
    assert float(card.locator(".score").inner_text()) > 0
    marked = [m.lower() for m in card.locator(".snippet mark").all_inner_texts()]
    assert any(m.startswith("rotat") for m in marked), marked  # the query's words are highlighted
    assert re.fullmatch(r"/similar/\d+", card.locator("a.similar").get_attribute("href"))  # drawn by the script too
    # the URL holds the query, so the search can be bookmarked
    assert parse_qs(urlparse(page.url).query)["q"] == [QUESTION]
    page.screenshot(path=str(screenshots / "search.png"))


def test_a_bookmarked_search_url_shows_its_results(ui_url, page):
    page.goto(ui_url + "?q=" + "sourdough+starter")
    assert page.locator("#q").input_value() == "sourdough starter"
    assert first_path(page) == "notes/sourdough.md"


def test_a_late_answer_to_an_older_query_is_dropped(ui_url, page):
    held = []

    def hold_first_query(route):
        if parse_qs(urlparse(route.request.url).query).get("q") == ["sourdough"]:
            held.append(route)  # answered later, after the newer query's results are shown
        else:
            route.continue_()

    page.route("**/api/search?*", hold_first_query)
    page.goto(ui_url)
    page.locator("#q").fill("sourdough")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the search page never asked about 'sourdough'"
    page.locator("#q").fill(QUESTION)
    wait_for_first(page, EXPECTED)
    stale = {"query": "sourdough", "milliseconds": 1, "results": [{"path": "STALE.md", "lines": "line 1", "url": "/",
             "score": 1.0, "heading": "", "snippet": [["stale", False]]}]}  # fmt: skip
    with contextlib.suppress(Exception):  # the page may have given up on that request already: also fine
        held[0].fulfill(status=200, content_type="application/json", body=json.dumps(stale))
    page.wait_for_timeout(400)
    assert first_path(page) == EXPECTED
    assert "STALE" not in page.locator("#results").inner_text()


def test_enter_opens_the_file_view_with_the_matched_lines_highlighted(ui_url, page, screenshots):
    page.goto(ui_url)
    page.locator("#q").press_sequentially(QUESTION, delay=15)
    wait_for_first(page, EXPECTED)
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"/file/\d+\?"))
    assert page.locator("h1.file-path").inner_text() == EXPECTED
    highlighted = page.locator(".line.hit")
    assert highlighted.count() >= 3
    numbers = [int(n) for n in highlighted.evaluate_all("els => els.map(e => e.querySelector('.ln').dataset.n)")]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # one run of lines
    assert "logrotate" in " ".join(highlighted.all_inner_texts())
    chunk = parse_qs(urlparse(page.url).query)["chunk"][0]
    assert f"lines {numbers[0]}–{numbers[-1]}" in page.locator(".focus").inner_text()
    # scrolled into view
    box = page.locator("#match").bounding_box()
    assert 0 <= box["y"] < page.viewport_size["height"]
    # the other chunks of this file that matched, listed beside it, the opened one marked
    matches = page.locator("#matches li")
    assert matches.count() >= 2
    assert f"chunk={chunk}&" in page.locator("#matches li.current a").get_attribute("href")
    page.screenshot(path=str(screenshots / "file-view.png"))


def test_arrow_keys_choose_a_result_and_slash_focuses_the_box(ui_url, page):
    page.goto(ui_url)
    page.locator("#q").press_sequentially("backups", delay=15)
    page.wait_for_function(  # the answer to the whole word, not to a prefix typed on the way
        "() => { const a = document.querySelector('#results li.card:nth-child(3) a');"
        " return a !== null && a.getAttribute('href').includes('q=backups'); }"
    )
    second = page.locator("#results li.card").nth(1).locator("a.hit").get_attribute("href")
    page.locator("#q").press("ArrowDown")
    assert page.locator("#results li.card").nth(1).get_attribute("class") == "card selected"
    page.locator("#q").press("ArrowDown")
    page.locator("#q").press("ArrowUp")
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"/file/"))
    assert page.url == ui_url.rstrip("/") + second  # the second card: down, down, up
    page.go_back()
    page.locator("h1, header .brand").first.click()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"


def test_the_path_filter_narrows_the_results(ui_url, page):
    page.goto(ui_url)
    page.locator("#q").press_sequentially("the database is locked", delay=10)
    page.wait_for_selector("#results li.card")
    everywhere = page.locator("#results .path").all_inner_texts()
    assert any(not p.startswith("troubleshooting/") for p in everywhere), everywhere
    page.locator("#path").fill("troubleshooting/")
    page.wait_for_function(
        "() => { const ps = [...document.querySelectorAll('#results .path')].map(e => e.textContent);"
        " return ps.length > 0 && ps.every(p => p.startsWith('troubleshooting/')); }"
    )
    narrowed = page.locator("#results .path").all_inner_texts()
    assert narrowed[0] == "troubleshooting/database-locked.txt"
    assert parse_qs(urlparse(page.url).query)["path"] == ["troubleshooting/"]
    page.locator("#path").fill("*.pdf")
    page.wait_for_function(
        "() => { const ps = [...document.querySelectorAll('#results .path')].map(e => e.textContent);"
        " return ps.length > 0 && ps.every(p => p.endsWith('.pdf')); }"
    )
    assert "page " in page.locator("#results .lines").first.inner_text()
    page.locator("#path").fill("no-such-folder/")
    page.wait_for_function("() => document.querySelector('#summary').textContent.startsWith('No results (')")
    assert page.locator("#results li.card").count() == 0


def test_the_mode_changes_the_ranking_and_is_kept_in_the_url(ui_url, page):
    page.goto(ui_url)
    page.locator("#q").press_sequentially("E1234", delay=10)  # a code no page holds: only meaning can match
    page.wait_for_selector("#results li.card")
    page.locator("#mode").select_option("keyword")
    page.wait_for_function("() => document.querySelector('#summary').textContent.startsWith('No results (')")
    assert parse_qs(urlparse(page.url).query)["mode"] == ["keyword"]
    page.locator("#mode").select_option("hybrid")
    page.wait_for_selector("#results li.card")
    assert parse_qs(urlparse(page.url).query)["mode"] == ["hybrid"]


def test_a_pdf_result_shows_its_page_text_with_the_page_number(ui_url, page):
    page.goto(ui_url + "?q=disaster+recovery+restore&path=*.pdf")
    first = page.locator("#results li.card").first
    where = first.locator(".lines").inner_text()
    number = int(re.match(r"page (\d+)", where).group(1))
    first.locator("a.hit").click()
    page.wait_for_url(re.compile(r"/file/"))
    assert page.locator(".pages").inner_text().startswith(f"Page {number}")
    assert page.locator(".line.hit").count() >= 1


def test_works_with_javascript_off(chromium, ui_url):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(ui_url)
        page.locator("#q").fill(QUESTION)
        page.locator("#q").press("Enter")  # a plain form GET
        page.wait_for_url(re.compile(r"\?q="))
        assert first_path(page) == EXPECTED
        page.locator("#results li.card a").first.click()
        page.wait_for_url(re.compile(r"/file/"))
        assert page.locator(".line.hit").count() >= 3
    finally:
        context.close()


def test_readable_on_a_phone(chromium, ui_url, screenshots):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(ui_url + "?q=rotate+the+logs")
        assert first_path(page) == EXPECTED
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the screen
        page.screenshot(path=str(screenshots / "phone-search.png"))
        page.locator("#results li.card a").first.click()
        page.wait_for_url(re.compile(r"/file/"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator(".line.hit").first.is_visible()
    finally:
        context.close()


def test_status_view_shows_the_index_and_a_map_whose_points_open_chunks(ui_url, page, screenshots):
    page.goto(ui_url + "status")
    names, values = page.locator("dl.facts dt").all_inner_texts(), page.locator("dl.facts dd").all_inner_texts()
    facts = dict(zip(names, values, strict=True))
    assert int(facts["Files"]) >= 30 and int(facts["Chunks"]) >= 90
    assert facts["Model"] == "all-minilm"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", facts["Last update"])
    points = page.locator("#corpus-map a.pt")
    assert points.count() == int(facts["Chunks"])
    legend = page.locator("ul.legend li").all_inner_texts()
    assert any(item.startswith("docs/ ") for item in legend) and any(item.startswith("pdf/ ") for item in legend)
    colors = set(page.locator("#corpus-map circle").evaluate_all("els => els.map(e => e.getAttribute('fill'))"))
    assert len(colors) == len(legend)  # one color per legend entry, and each means one folder
    sourdough = page.locator('#corpus-map a.pt[data-label^="notes/sourdough.md"]').first
    sourdough.hover()
    assert page.locator("#map-caption").inner_text().startswith("notes/sourdough.md")
    page.screenshot(path=str(screenshots / "status.png"), full_page=True)
    sourdough.click()
    page.wait_for_url(re.compile(r"/file/\d+\?chunk=\d+"))
    assert page.locator("h1.file-path").inner_text() == "notes/sourdough.md"
    assert page.locator(".line.hit").count() >= 1

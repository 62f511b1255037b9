"""save_html in a real browser: Debian's Chromium, headless, driven by Selenium.

The page is opened from a file as a user would open it. Checked: it loads without an
error, the graph is visible, zoom changes the picture's scale, stepping backward moves the
highlight and changes the numbers shown, hovering shows a box's numbers, and no request
leaves the page (Chrome's own network log, not only the page's policy, says so).

Needs the ``browser`` extra (Selenium) and the ``chromium`` and ``chromium-driver`` Debian
packages, which ``.ci/run`` installs; without them these tests are skipped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tinygrad_nn import Value, nn
from tinygrad_nn.viz import save_html

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install 'tinygrad-nn[browser]'")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
           "chromium-driver)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,900"):
        options.add_argument(flag)
    # Every request Chrome's network stack sees, blocked or not, lands in this log.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(browser: Any, path: Path) -> None:
    browser.get_log("performance")  # forget the previous page's requests
    browser.get(path.as_uri())
    assert browser.execute_script("return document.body.dataset.ready") == "1"


def requests_made(browser: Any) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def text(browser: Any, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


@pytest.fixture
def mlp_page(tmp_path: Path) -> Path:
    model = nn.MLP(2, [3, 1], activation="tanh", engine="scalar", seed=0)
    out = model([0.5, -1.0])
    out.backward()
    return save_html(out, tmp_path / "mlp.html", title="One sample through an MLP")


def test_the_page_loads_shows_the_graph_and_asks_for_nothing(browser, mlp_page):
    open_page(browser, mlp_page)
    assert browser.title == "One sample through an MLP"
    svg = browser.find_element(By.CSS_SELECTOR, "#viewport svg")
    assert svg.is_displayed() and svg.size["width"] > 100 and svg.size["height"] > 100
    boxes = browser.find_elements(By.CSS_SELECTOR, "#viewport g.node")
    assert len(boxes) > 20 and all(box.is_displayed() for box in boxes[:5])
    assert requests_made(browser) == [mlp_page.as_uri()]  # the page itself, nothing else
    assert browser.execute_script(
        "return performance.getEntriesByType('resource').length") == 0
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_stepping_moves_the_highlight_and_changes_the_numbers(browser, mlp_page):
    open_page(browser, mlp_page)
    assert text(browser, "step-count").startswith("step 0 of ")

    def current() -> list[str]:
        return [g.get_attribute("data-name") for g in
                browser.find_elements(By.CSS_SELECTOR, "#viewport g.node.current")]

    assert current() == []
    seen = []
    for _ in range(3):
        browser.find_element(By.ID, "step-next").click()
        seen.append((current(), text(browser, "step-text"), text(browser, "step-table")))
    first, second, third = seen
    op, value = sorted(first[0])  # the root's box and its op's ellipse
    assert (op, value) == ("op" + value[1:], value)
    assert first[0] != second[0] != third[0]
    assert "gradient 1 from above" in first[1]
    assert first[2] != second[2] != third[2]  # the formulas change with the node
    assert "\N{MULTIPLICATION SIGN}" in second[2] and "=" in second[2]
    receiving = browser.find_elements(By.CSS_SELECTOR, "#viewport g.node.receiving")
    assert receiving  # the inputs that get a share are marked too
    browser.find_element(By.ID, "step-back").click()
    assert current() == second[0]
    browser.find_element(By.ID, "step-reset").click()
    assert current() == [] and browser.execute_script("return document.body.dataset.step") == "-1"


def test_hover_shows_a_box_and_zoom_scales_the_picture(browser, tmp_path):
    w = Value(-3.0, label="w")
    y = (w * 2.0 + 1.0).relu()
    y.backward()
    open_page(browser, save_html(y, tmp_path / "small.html"))
    box = next(g for g in browser.find_elements(By.CSS_SELECTOR, "#viewport g.node")
               if g.text.startswith("w"))
    ActionChains(browser).move_to_element(box).perform()
    details = text(browser, "details-body")
    assert "w" in details and "-3.0" in details
    svg = browser.find_element(By.CSS_SELECTOR, "#viewport svg")
    before = svg.rect["width"]
    browser.find_element(By.ID, "zoom-in").click()
    assert svg.rect["width"] == pytest.approx(before * 1.25, rel=0.01)

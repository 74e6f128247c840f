"""The compliance report as a reader sees it: opened in headless Chromium through selenium.

The report of a violated variant must render without console errors, show the violation
path (a visible list with a non-zero size, and numbered markers in the SVG), and leave a
screenshot as a test artifact (in ``$PETRIFLOW_ARTIFACTS``, else the test's tmp_path).
Without Chromium and chromedriver the test skips, unless ``PETRIFLOW_REQUIRE_BROWSER=1``
(CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from petriflow.cli import run
from tests.corpus import REPO
from tests.verify.test_picture import VIOLATED, VIOLATED_PROPERTY

CHROMEDRIVER = "/usr/bin/chromedriver"


def _browser_or_skip() -> None:
    missing = []
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        missing.append("chromium")
    if not Path(CHROMEDRIVER).is_file():
        missing.append(CHROMEDRIVER)
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = (f"the browser test needs {', '.join(missing)} (apt-get install chromium "
                   "chromium-driver; pip install selenium)")
        if os.environ.get("PETRIFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def driver():
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield drv
    finally:
        drv.quit()


def test_violation_report_renders_in_a_browser(driver, tmp_path, monkeypatch, capsys):
    from selenium.webdriver.common.by import By

    monkeypatch.chdir(REPO)
    report = tmp_path / "report.html"
    assert run(["report", VIOLATED, "-o", str(report)]) == 1
    driver.get(report.as_uri())
    assert "Compliance report" in driver.title

    article = driver.find_element(By.CSS_SELECTOR,
                                  f'article.result.violated[data-property="{VIOLATED_PROPERTY}"]')
    path = article.find_element(By.CSS_SELECTOR, "ol.path")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", path)
    assert path.is_displayed()
    assert path.size["width"] > 0 and path.size["height"] > 0
    steps = path.find_elements(By.TAG_NAME, "li")
    assert len(steps) >= 5
    assert steps[-1].get_attribute("class") == "breaking"
    assert "Pay through the ERP" in steps[-1].text

    markers = article.find_elements(By.CSS_SELECTOR, "svg g.step-marker")
    numbers = sorted(int(m.get_attribute("data-step")) for m in markers)
    assert numbers == list(range(1, len(steps) + 1))
    picture = article.find_element(By.CSS_SELECTOR, "svg")
    assert picture.size["width"] > 0 and picture.size["height"] > 0
    breaking = article.find_element(By.CSS_SELECTOR, "svg g.step-marker.breaking")
    assert breaking.get_attribute("data-step") == str(len(steps))

    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe

    folder = Path(os.environ.get("PETRIFLOW_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report_violated.png"
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", article)
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    with capsys.disabled():
        print(f"\nbrowser test screenshot: {shot}")

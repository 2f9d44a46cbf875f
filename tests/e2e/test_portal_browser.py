"""The partner portal in a real headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium; nothing is downloaded). Screenshots of each step go to var/screenshots/."""

from __future__ import annotations

import csv
import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from adapters.clock import utc_now
from adapters.settings import Settings
from api.bootstrap import build_services
from api.demo import DEMO_PARTNER_ID, load_demo
from api.http.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path("var/screenshots")

if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium and chromium-driver (.ci/run installs them)")
    pytest.skip("chromium and chromium-driver are not installed", allow_module_level=True)

os.environ["SE_OFFLINE"] = "true"  # Selenium must never fetch a browser or a driver
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = pytest.mark.browser


class Site:
    """The app over a demo store, served on a loopback port."""

    def __init__(self, tmp_path: Path) -> None:
        self.services = build_services(Settings(
            database_url=f"sqlite:///{tmp_path}/portal.db", follow_interval=0,
            min_position_timeout=1.0))
        assert load_demo(self.services.app)
        self.services.projections.catch_up()
        app = create_app({"TESTING": True, "FOLLOW": False}, services=self.services)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        _, self.partner = self.services.keys.create("partner", DEMO_PARTNER_ID, utc_now())
        _, self.internal = self.services.keys.create("internal", None, utc_now())

    def api(self, path: str, token: str | None = None) -> Any:
        client = create_app({"TESTING": True, "FOLLOW": False},
                            services=self.services).test_client()
        return client.get(path, headers={"Authorization": f"Bearer {token or self.partner}"})

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(10)
        self.services.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    running = Site(tmp_path_factory.mktemp("portal"))
    yield running
    running.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,2400"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait(driver: WebDriver, condition: Any, timeout: float = 15) -> Any:
    return WebDriverWait(driver, timeout).until(condition)


def text(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def sign_in(driver: WebDriver, site: Site, token: str) -> None:
    # forget the last key on a page of the same origin that runs no script, so no sign-in
    # still in flight can store it again
    driver.get(f"{site.url}/portal/assets/portal.css")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{site.url}/portal")
    field = wait(driver, lambda d: d.find_element(By.ID, "token") if d.find_element(
        By.ID, "token").is_displayed() else None)
    field.clear()
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()


def signed_in(driver: WebDriver, site: Site) -> None:
    sign_in(driver, site, site.partner)
    wait(driver, lambda d: d.find_element(By.ID, "portal").is_displayed())
    wait(driver, lambda d: "Tier" in text(d, "standing") and d.find_elements(
        By.CSS_SELECTOR, "#statement tbody tr") and d.find_elements(By.CSS_SELECTOR,
                                                                   "#chart svg rect"))


def no_console_errors(driver: WebDriver) -> None:
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors


def test_a_wrong_key_is_refused(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "pl_not-a-key")
    wait(browser, lambda d: text(d, "sign-in-error"))
    assert "refused" in text(browser, "sign-in-error")
    assert not browser.find_element(By.ID, "portal").is_displayed()
    browser.save_screenshot(str(SCREENSHOTS / "portal-refused.png"))
    sign_in(browser, site, site.internal)  # a staff key is no partner's
    wait(browser, lambda d: "partner keys" in text(d, "sign-in-error"))
    browser.get_log("browser")  # the refusals above are logged as failed requests


def test_standing_and_balances_show_the_apis_figures(browser: WebDriver, site: Site) -> None:
    signed_in(browser, site)
    standing = site.api(f"/partners/{DEMO_PARTNER_ID}/standing").get_json()
    shown = text(browser, "standing")
    assert f"{standing['sourced_revenue']['total']['amount']} USD" in shown
    assert standing["tier"] in shown and f"#{standing['rank']}" in shown
    progress = browser.find_element(By.CSS_SELECTOR, "[role=progressbar]")
    expected = (100 * float(standing["next_tier"]["trailing_revenue"]["amount"])
                / float(standing["next_tier"]["threshold"]["amount"]))
    assert abs(int(progress.get_attribute("aria-valuenow")) - expected) <= 1
    [buckets] = site.api(f"/partners/{DEMO_PARTNER_ID}/balances").get_json()["balances"]
    balances = text(browser, "balances")
    for name in ("earned", "pending", "available", "paid"):
        assert f"{buckets[name]} USD" in balances
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart svg rect")) >= 4
    browser.save_screenshot(str(SCREENSHOTS / "portal-standing-and-balances.png"))
    no_console_errors(browser)


def test_a_deal_registered_in_the_page_is_listed(browser: WebDriver, site: Site) -> None:
    signed_in(browser, site)
    browser.find_element(By.ID, "deal-name").send_keys("Initech")
    browser.find_element(By.ID, "deal-domain").send_keys("initech.example")
    browser.find_element(By.ID, "deal-value").send_keys("4200.00")
    browser.find_element(By.CSS_SELECTOR, "#deal-form button").click()
    wait(browser, lambda d: "initech.example" in text(d, "deals"))
    assert "registered" in text(browser, "notice")
    deals = site.api(f"/partners/{DEMO_PARTNER_ID}/deals").get_json()["items"]
    assert any(d["customer"]["domain"] == "initech.example" and
               d["estimated_value"]["amount"] == "4200.00" for d in deals)
    # the same domain again: the API's refusal is shown, nothing is listed twice
    browser.find_element(By.ID, "deal-name").send_keys("Initech")
    browser.find_element(By.ID, "deal-domain").send_keys("initech.example")
    browser.find_element(By.ID, "deal-value").send_keys("1.00")
    browser.find_element(By.CSS_SELECTOR, "#deal-form button").click()
    wait(browser, lambda d: text(d, "deal-error"))
    assert text(browser, "deals").count("initech.example") == 1
    browser.save_screenshot(str(SCREENSHOTS / "portal-deals.png"))
    browser.get_log("browser")  # the refused registration is a logged 409


def test_the_statement_downloads_as_the_apis_csv_and_explains_a_line(
        browser: WebDriver, site: Site, downloads: Path) -> None:
    signed_in(browser, site)
    browser.find_element(By.ID, "statement-csv").click()
    target = downloads / f"statement-{DEMO_PARTNER_ID}.csv"
    deadline = time.monotonic() + 15
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), list(downloads.iterdir())
    downloaded = list(csv.DictReader(io.StringIO(target.read_text())))
    api_csv = site.api(f"/partners/{DEMO_PARTNER_ID}/statement?format=csv").get_data(
        as_text=True)
    assert downloaded == list(csv.DictReader(io.StringIO(api_csv)))
    items = site.api(f"/partners/{DEMO_PARTNER_ID}/statement?limit=500").get_json()["items"]
    assert [row["entry_id"] for row in downloaded] == [item["entry_id"] for item in items]
    rows = browser.find_elements(By.CSS_SELECTOR, "#statement tbody tr")
    assert len(rows) == min(20, len(items))
    Select(browser.find_element(By.ID, "kind")).select_by_value("payout")
    wait(browser, lambda d: "Nothing yet" in text(d, "statement"))
    Select(browser.find_element(By.ID, "kind")).select_by_value("accrual")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#statement tbody tr"))
    browser.find_element(By.CSS_SELECTOR, "#statement tbody tr button").click()
    wait(browser, lambda d: d.find_element(By.ID, "explain").is_displayed()
         and "half-even" in text(d, "explain-body"))
    assert browser.switch_to.active_element.get_attribute("id") == "explain"
    browser.save_screenshot(str(SCREENSHOTS / "portal-statement-explain.png"))
    no_console_errors(browser)


def test_the_page_is_usable_by_keyboard_and_on_a_phone(browser: WebDriver, site: Site) -> None:
    signed_in(browser, site)
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input, select')]"
        ".filter(e => !document.querySelector(`label[for='${e.id}']`)).map(e => e.id)")
    assert unlabelled == []
    browser.get(f"{site.url}/portal")  # signed in again from this tab's storage
    wait(browser, lambda d: "Northwind" in text(d, "leaderboard"))
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.text == "Skip to content"
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.text == "Sign out"
    assert "Northwind" in text(browser, "leaderboard")
    assert "mine" in browser.find_element(By.CSS_SELECTOR, "#leaderboard tbody tr"
                                          ).get_attribute("class")
    browser.set_window_size(390, 2400)
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390 + 1, width  # no sideways scrolling of the page itself
    browser.save_screenshot(str(SCREENSHOTS / "portal-phone.png"))
    browser.set_window_size(1280, 2400)
    browser.find_element(By.ID, "sign-out").click()
    wait(browser, lambda d: d.find_element(By.ID, "sign-in").is_displayed())
    assert browser.execute_script("return sessionStorage.length") == 0
    no_console_errors(browser)

"""The web console at /console.

- Its files: each is served under /console with its content type and the page's security
  headers, and none refers to anything outside the server (no CDN, no external request).
- End to end in headless Chromium (Debian's chromium and chromium-driver) and headless Firefox
  (Debian's firefox-esr and geckodriver from crates.io), driven by selenium, as a person uses it: create a table with an index (and see DynamoDB's validation error
  verbatim first), add and edit an item, run a Query and a PartiQL statement and see their
  results, read the stream, open the capacity charts, delete the table; then the same console
  against a server with access keys, where it asks for a key and signs every call in the browser.

Screenshots of each page go to target/console-screenshots/ (the test artifacts), named for the
browser. scripts/test installs the browsers; where Firefox cannot be installed it says why and
sets BINDERDB_NO_FIREFOX to that reason, and only then are the Firefox runs skipped. Set
BINDERDB_SKIP_BROWSER=1 to skip every browser test (the file checks still run).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests

import support

CONSOLE_DIR = support.REPO_ROOT / "crates" / "server" / "console"
SCREENSHOTS = support.REPO_ROOT / "target" / "console-screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FIREFOX = "/usr/bin/firefox-esr"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1366,900",
]
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The one URL-looking text allowed in the files: SVG's XML namespace, a name, never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
WAIT_S = 20


# ---------------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------------

def console_files() -> list[Path]:
    return sorted(p for p in CONSOLE_DIR.iterdir() if p.is_file())


def test_every_console_file_is_served_with_its_content_type(memory_server):
    base = memory_server.endpoint
    files = console_files()
    assert {p.name for p in files} >= {"index.html", "app.js", "style.css"}
    for path in files:
        resp = requests.get(f"{base}/console/{path.name}", timeout=10)
        assert resp.status_code == 200, path.name
        assert resp.headers["Content-Type"] == CONTENT_TYPES[path.suffix], path.name
        assert resp.content == path.read_bytes(), f"{path.name} served differs from the file"
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "connect-src 'self'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    index = (CONSOLE_DIR / "index.html").read_bytes()
    for path in ("/console", "/console/"):
        resp = requests.get(base + path, timeout=10)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert resp.content == index
    head = requests.head(f"{base}/console/app.js", timeout=10)
    assert head.status_code == 200 and head.headers["Content-Type"] == CONTENT_TYPES[".js"]
    for missing in ("/console/nope.js", "/console/../Cargo.toml", "/consoles"):
        assert requests.get(base + missing, timeout=10).status_code == 404, missing


def test_no_console_file_refers_to_anything_outside_the_server():
    for path in console_files():
        text = path.read_text(encoding="utf-8")
        urls = [u for u in re.findall(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'`)<>]*", text) if u != SVG_NAMESPACE]
        assert not urls, f"{path.name} names external URLs: {urls}"
        # Protocol-relative references and stylesheet imports would reach out too.
        assert not re.search(r"""(src|href|action)\s*=\s*["']//""", text), path.name
        assert "@import" not in text, path.name
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            assert ref.startswith(("data:", "/console/")), f"{path.name}: url({ref})"
        # Every module or asset a file refers to is one of the console's own files.
        for ref in re.findall(r"""(?:from\s+|import\s*\(\s*)["']\./([\w.]+)["']""", text):
            assert (CONSOLE_DIR / ref).is_file(), f"{path.name} imports missing {ref}"
        for ref in re.findall(r"""(?:src|href)=["']/console/([\w.]+)["']""", text):
            assert (CONSOLE_DIR / ref).is_file(), f"{path.name} refers to missing {ref}"


# ---------------------------------------------------------------------------------------------
# The browser
# ---------------------------------------------------------------------------------------------

def _missing_browser(name: str, paths: list[str], install_hint: str):
    """Fails (or skips, where scripts/test said the browser cannot be installed here) when a
    browser or its driver is missing."""
    missing = [p for p in paths if not p or not Path(p).exists()]
    if not missing:
        return
    reason = os.environ.get(f"BINDERDB_NO_{name.upper()}")
    if reason:
        pytest.skip(f"{name} cannot be installed here: {reason}")
    pytest.fail(f"{name}: {', '.join(m or 'its driver' for m in missing)} not found: {install_hint}")


def geckodriver_path() -> str | None:
    """Where `cargo install geckodriver` put the driver (scripts/test does it), or PATH's."""
    for candidate in (os.environ.get("GECKODRIVER"), shutil.which("geckodriver"),
                      str(Path.home() / ".cargo" / "bin" / "geckodriver")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def chromium_driver():
    _missing_browser("chromium", [CHROMIUM, CHROMEDRIVER],
                     "install Debian's chromium and chromium-driver (scripts/test does), or set BINDERDB_SKIP_BROWSER=1")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="binderdb-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options), profile


def firefox_driver():
    gecko = geckodriver_path()
    _missing_browser("firefox", [FIREFOX, gecko],
                     "install Debian's firefox-esr and `cargo install geckodriver --locked` (scripts/test does), "
                     "or set BINDERDB_SKIP_BROWSER=1")
    from selenium import webdriver
    from selenium.webdriver.firefox.service import Service

    options = webdriver.FirefoxOptions()
    options.binary_location = FIREFOX
    options.add_argument("-headless")
    profile = tempfile.mkdtemp(prefix="binderdb-firefox-")
    options.add_argument("-profile")
    options.add_argument(profile)
    # No update checks, telemetry or other traffic of Firefox's own.
    for pref, value in {"app.update.enabled": False, "datareporting.policy.dataSubmissionEnabled": False,
                        "toolkit.telemetry.enabled": False, "network.captive-portal-service.enabled": False,
                        "browser.safebrowsing.malware.enabled": False, "browser.safebrowsing.phishing.enabled": False,
                        "network.connectivity-service.enabled": False}.items():
        options.set_preference(pref, value)
    driver = webdriver.Firefox(service=Service(gecko, log_output=os.devnull), options=options)
    driver.set_window_size(1366, 900)
    return driver, profile


BROWSERS = {"chromium": chromium_driver, "firefox": firefox_driver}


def browser_or_skip(name: str = "chromium"):
    if os.environ.get("BINDERDB_SKIP_BROWSER") == "1":
        pytest.skip("BINDERDB_SKIP_BROWSER=1: the browser tests are skipped")
    # Selenium must use the system driver and never look for one on the network.
    os.environ["SE_OFFLINE"] = "true"
    driver, profile = BROWSERS[name]()
    driver.set_page_load_timeout(30)
    driver.binderdb_browser = name
    return driver, profile


class Page:
    """The console in one browser tab, with the waits a person's eyes do."""

    def __init__(self, driver, endpoint: str, prefix: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.endpoint = driver, endpoint
        self.prefix = f"{getattr(driver, 'binderdb_browser', 'browser')}-{prefix}"
        self.By, self.wait = By, WebDriverWait(driver, WAIT_S)
        self.shots = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def go(self, fragment: str):
        self.driver.get(f"{self.endpoint}/console{fragment}")

    def find(self, css: str, timeout: float = WAIT_S):
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(ec.visibility_of_element_located((self.By.CSS_SELECTOR, css)))

    def all(self, css: str):
        return self.driver.find_elements(self.By.CSS_SELECTOR, css)

    def field(self, label: str, within=None):
        scope = within or self.driver
        return scope.find_element(self.By.CSS_SELECTOR, f'[aria-label="{label}"]')

    def type(self, label: str, text: str, within=None):
        el = self.field(label, within)
        el.clear()
        el.send_keys(text)
        return el

    def select(self, label: str, value: str, within=None):
        from selenium.webdriver.support.ui import Select

        from selenium.common.exceptions import NoSuchElementException

        choice = Select(self.field(label, within))
        try:
            choice.select_by_value(value)
        except NoSuchElementException:
            choice.select_by_visible_text(value)

    def button(self, text: str, within=None):
        scope = within or self.driver
        xpath = f'.//button[normalize-space(.)="{text}"]'
        self.wait.until(lambda d: any(b.is_displayed() and b.is_enabled() for b in scope.find_elements(self.By.XPATH, xpath)))
        return next(b for b in scope.find_elements(self.By.XPATH, xpath) if b.is_displayed())

    def click(self, text: str, within=None):
        self.button(text, within).click()

    def until_text(self, css: str, text: str, timeout: float = WAIT_S) -> str:
        """Waits until an element matching `css` contains `text`; returns that element's text."""
        from selenium.webdriver.support.ui import WebDriverWait

        found = {}

        def check(_):
            for el in self.driver.find_elements(self.By.CSS_SELECTOR, css):
                try:
                    t = el.text
                except Exception:  # replaced while reading: look again
                    continue
                if text in t:
                    found["t"] = t
                    return True
            return False

        try:
            WebDriverWait(self.driver, timeout).until(check)
        except Exception as e:
            self.shot("failure")
            raise AssertionError(f"no {css} containing {text!r}; page:\n{self.driver.find_element(self.By.TAG_NAME, 'main').text}\n"
                                 f"browser log: {self.console_log()}") from e
        return found["t"]

    def dialog(self):
        return self.find("dialog[open]")

    def no_dialog(self):
        self.wait.until(lambda d: not d.find_elements(self.By.CSS_SELECTOR, "dialog[open]"))

    def shot(self, name: str) -> Path:
        self.shots += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.shots:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def console_log(self) -> list[str]:
        try:
            return [e["message"] for e in self.driver.get_log("browser")]
        except Exception:
            return []


@pytest.fixture(params=list(BROWSERS))
def browser(request):
    """Each browser test runs in Chromium and in Firefox."""
    driver, profile = browser_or_skip(request.param)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def expected_error(call) -> tuple[str, str]:
    """The error code and message the server answers `call` with, as boto3 sees them."""
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    e = err.value.response["Error"]
    return e["Code"], e["Message"]


def test_console_end_to_end(memory_server, browser):
    client = support.make_client(memory_server.endpoint)
    table = "console_orders"
    page = Page(browser, memory_server.endpoint, "console")

    # The tables page of an empty region.
    page.go("#/tables")
    page.until_text("main", "No tables in this region yet.")

    # A create that DynamoDB refuses shows its error verbatim: a table name of two characters.
    code, message = expected_error(lambda: client.create_table(
        TableName="ab", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST"))
    page.click("Create table")
    page.find('input[aria-label="Table name"]')
    page.type("Table name", "ab")
    page.click("Create table")
    shown = page.until_text(".error-box", message)
    assert code in shown, shown
    page.shot("create-table-error")

    # Now a real one: partition and sort key, a global index, a stream, TTL and a tag.
    page.type("Table name", table)
    page.type("Sort key", "sk")
    page.click("Add global index")
    page.type("Index name", "by_status")
    page.type("Index partition key", "status")
    page.click("Add local index")
    page.type("Local index name", "by_price")
    page.type("Local index sort key", "price")
    page.select("Local index sort key type", "N")
    page.select("Stream", "NEW_AND_OLD_IMAGES")
    page.type("TTL attribute", "expires")
    page.click("Add tag")
    page.type("Tag key", "team")
    page.type("Tag value", "console")
    page.shot("create-table-form")
    page.click("Create table")

    # The table's overview: keys, the index and its status, stream, TTL, tags.
    page.until_text("main h1", table)
    page.until_text("table[aria-label=Indexes]", "by_status")
    page.until_text("table[aria-label=Indexes]", "ACTIVE")
    page.until_text("main", "NEW_AND_OLD_IMAGES")
    page.until_text("main", "expires")
    page.until_text("table[aria-label=Tags]", "console")
    page.shot("table-overview")
    described = client.describe_table(TableName=table)["Table"]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["by_status"]
    assert [i["IndexName"] for i in described["LocalSecondaryIndexes"]] == ["by_price"]
    assert {"AttributeName": "price", "AttributeType": "N"} in described["AttributeDefinitions"]
    assert described["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["AttributeName"] == "expires"

    # Items: create one in plain JSON (the number keeps all its digits), then edit it.
    page.go(f"#/tables/{table}/items")
    page.until_text("main", "Scan: page 1, 0 items")
    page.select("View", "table")
    page.click("Create item")
    editor = page.dialog()
    text = page.field("Item JSON", editor)
    text.clear()
    text.send_keys('{"pk": "p1", "sk": "s1", "status": "open", "price": 12.345678901234567890123456789}')
    page.shot("item-editor")
    page.click("Save", editor)
    page.no_dialog()
    page.until_text("table[aria-label=Items]", "12.345678901234567890123456789")
    item = client.get_item(TableName=table, Key={"pk": {"S": "p1"}, "sk": {"S": "s1"}})["Item"]
    assert item["price"] == {"N": "12.345678901234567890123456789"}

    page.click("Edit", page.find("table[aria-label=Items]"))
    editor = page.dialog()
    page.select("Notation", "ddb", editor)
    text = page.field("Item JSON", editor)
    assert '"N": "12.345678901234567890123456789"' in text.get_attribute("value")
    text.clear()
    text.send_keys('{"pk": {"S": "p1"}, "sk": {"S": "s1"}, "status": {"S": "shipped"}, "price": {"N": "99"}}')
    page.click("Save", editor)
    page.no_dialog()
    page.until_text("table[aria-label=Items]", "shipped")
    item = client.get_item(TableName=table, Key={"pk": {"S": "p1"}, "sk": {"S": "s1"}})["Item"]
    assert item["status"] == {"S": "shipped"} and item["price"] == {"N": "99"}

    # More items, written by another client, for the queries.
    for sk, status in [("s2", "open"), ("s3", "open"), ("t1", "open")]:
        client.put_item(TableName=table, Item={"pk": {"S": "p1"}, "sk": {"S": sk}, "status": {"S": status}})
    client.put_item(TableName=table, Item={"pk": {"S": "p2"}, "sk": {"S": "s1"}, "status": {"S": "open"}})

    # Query the table: partition p1, sort key begins with "s", descending.
    page.select("Operation", "Query")
    page.type("Partition key pk", "p1")
    page.select("Sort key sk condition", "begins_with")
    page.type("Sort key sk", "s")
    page.select("Direction", "false")
    page.click("Run")
    page.until_text("main", "Query: page 1, 3 items (3 scanned)")
    rows = page.all("table[aria-label=Items] tbody tr")
    sort_keys = [r.find_elements(page.By.CSS_SELECTOR, "td.value")[1].get_attribute("title") for r in rows]
    assert sort_keys == ["s3", "s2", "s1"]
    page.shot("query-table")

    # Query the index with a filter: status = open, not p2.
    page.select("Table or index", "by_status")
    page.type("Partition key status", "open")
    page.type("Filter expression", "pk <> :p")
    page.type("Expression attribute values", '{":p": "p2"}')
    page.click("Run")
    page.until_text("main", "Query: page 1, 3 items (4 scanned)")
    page.shot("query-index")

    # Scan in pages of two.
    page.select("Operation", "Scan")
    page.select("Table or index", "")
    page.type("Filter expression", "")
    page.type("Expression attribute values", "")
    page.type("Page size", "2")
    page.click("Run")
    page.until_text("main", "Scan: page 1, 2 items")
    page.click("Next page ▶")
    page.until_text("main", "Scan: page 2, 2 items")
    page.click("Next page ▶")
    page.until_text("main", "Scan: page 3, 1 items")

    # The local index, by price, keyboard only: "/" focuses the first field, Ctrl+Enter runs.
    from selenium.webdriver.common.keys import Keys

    page.select("Operation", "Query")
    page.select("Table or index", "by_price")
    page.type("Page size", "25")
    page.type("Partition key pk", "p1")
    page.select("Sort key price condition", ">=")
    page.type("Sort key price", "50")
    page.field("Filter expression").send_keys(Keys.CONTROL, Keys.ENTER)
    page.until_text("main", "Query: page 1, 1 items (1 scanned)")

    # "?" lists the shortcuts; PartiQL is reached with "g p": the edited item comes back.
    page.find("main h1").click()
    page.driver.switch_to.active_element.send_keys("?")
    page.until_text("#shortcuts", "PartiQL editor")
    page.click("Close", page.find("#shortcuts"))
    page.no_dialog()
    page.driver.switch_to.active_element.send_keys("g", "p")
    page.until_text("main h1", "PartiQL")
    statement = page.find("#statement")
    statement.clear()
    statement.send_keys(f"SELECT * FROM \"{table}\" WHERE pk = 'p1' AND sk = 's1'")
    statement.send_keys(Keys.CONTROL, Keys.ENTER)
    page.until_text("main", "1 items")
    page.until_text("table[aria-label=Items]", "shipped")
    page.shot("partiql")
    # A statement DynamoDB refuses: its error, verbatim.
    code, message = expected_error(lambda: client.execute_statement(Statement='SELECT * FROM "no_such_table"'))
    statement.clear()
    statement.send_keys('SELECT * FROM "no_such_table"')
    page.click("Run")
    assert code in page.until_text(".error-box", message)

    # The stream: shards and lineage, and the records of the shard holding p1's writes.
    page.go(f"#/tables/{table}/streams")
    page.until_text("main", "Shards and lineage")
    found = False
    for i in range(len(page.all("button[data-shard]"))):
        page.all("button[data-shard]")[i].click()
        text = page.until_text("main", "Latest records of")
        if "shipped" in page.find("main").text:
            found = True
            break
    assert found, "no shard shows the MODIFY record of p1"
    page.until_text("table[aria-label=Records]", "MODIFY")
    page.until_text("table[aria-label=Records]", "INSERT")
    page.shot("streams")

    # Capacity: the consumed-write chart has points, and the bill lists the table and index.
    page.go(f"#/tables/{table}/capacity")
    chart = page.find("#chart-write")
    assert float(chart.get_attribute("data-max")) > 0, "no write consumption charted"
    assert chart.find_elements(page.By.CSS_SELECTOR, "svg polyline")
    page.until_text("table[aria-label=Bill]", "by_status")
    page.shot("capacity-table")
    page.go("#/capacity")
    page.until_text("table[aria-label=Bill]", table)
    page.find("#chart-read")
    page.shot("capacity-all")

    # Delete the table from the list, typing its name to confirm.
    page.go("#/tables")
    page.until_text("table[aria-label=Tables]", table)
    page.shot("tables")
    page.click("Delete")
    dialog = page.dialog()
    page.type("Confirmation", table, dialog)
    page.click("Delete", dialog)
    page.until_text("main", "No tables in this region yet.")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_table(TableName=table)
    # Script errors and anything the page's Content-Security-Policy refused (the 400s of the
    # refused calls above are logged too, and are expected).
    errors = [m for m in page.console_log() if "Uncaught" in m or "Content Security Policy" in m]
    assert not errors, errors


KEY_ID, SECRET = "AKIDCONSOLETEST", "console/secret+KEY"


@pytest.fixture
def keyed_server():
    server = support.Server(in_memory=True, extra_args=["--access-key", f"{KEY_ID}:{SECRET}"]).start()
    yield server
    assert server.stop() == 0


def test_console_signs_its_calls_when_the_server_has_keys(keyed_server, browser):
    signed = boto3.session.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name="eu-west-1")
    config = support.client_config().merge(botocore.config.Config(region_name="eu-west-1"))
    client = signed.client("dynamodb", endpoint_url=keyed_server.endpoint, config=config)
    support.create_pk_table(client, "signed_table")
    # The assets load without a signature; the data does not.
    assert requests.get(keyed_server.endpoint + "/console", timeout=10).status_code == 200
    unsigned = requests.post(keyed_server.endpoint + "/", data="{}", timeout=10, headers={
        "X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"})
    assert unsigned.json()["__type"].endswith("MissingAuthenticationTokenException")

    page = Page(browser, keyed_server.endpoint, "signed")
    page.go("#/tables")
    dialog = page.find("#signin")
    page.shot("signin")
    form = page.find("#signin-form")
    form.find_element(page.By.NAME, "id").send_keys(KEY_ID)
    form.find_element(page.By.NAME, "secret").send_keys("not the secret")
    region = form.find_element(page.By.NAME, "region")
    region.clear()
    region.send_keys("eu-west-1")
    page.click("Sign in", dialog)
    # A wrong secret: the server's answer, as it gave it.
    shown = page.until_text("#signin-error", "InvalidSignatureException")
    assert "The request signature we calculated does not match" in shown, shown
    secret = form.find_element(page.By.NAME, "secret")
    secret.clear()
    secret.send_keys(SECRET)
    page.click("Sign in", dialog)
    page.no_dialog()
    page.until_text("table[aria-label=Tables]", "signed_table")
    page.until_text("#who", KEY_ID)

    # A write from the console is signed too, in the region chosen at sign-in.
    page.go("#/tables/signed_table/items")
    page.until_text("main", "Scan: page 1, 0 items")
    page.select("View", "plain")
    page.click("Create item")
    editor = page.dialog()
    text = page.field("Item JSON", editor)
    text.clear()
    text.send_keys('{"pk": "from-browser", "n": 1, "tags": ["a", "b"], "m": {"x": null, "y": true}}')
    page.click("Save", editor)
    page.no_dialog()
    page.until_text("main", "Scan: page 1, 1 items")
    page.until_text("main", "from-browser")
    page.shot("signed-items")
    item = client.get_item(TableName="signed_table", Key={"pk": {"S": "from-browser"}}, ConsistentRead=True)["Item"]
    assert item == {"pk": {"S": "from-browser"}, "n": {"N": "1"}, "tags": {"L": [{"S": "a"}, {"S": "b"}]},
                    "m": {"M": {"x": {"NULL": True}, "y": {"BOOL": True}}}}

    # Signing out forgets the key: the next page asks again.
    page.click("Sign out")
    page.find("#signin")


def test_console_shows_an_online_index_backfill(browser):
    # A slow backfill (100 table items a second, in chunks of 512) of 600 items, so the new
    # index is seen CREATING and Backfilling before it turns ACTIVE.
    server = support.Server(in_memory=True, extra_args=["--backfill-items-per-second", "100"]).start()
    try:
        client = support.make_client(server.endpoint)
        support.create_pk_table(client, "backfilled")
        for start in range(0, 600, 25):
            client.batch_write_item(RequestItems={"backfilled": [
                {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "color": {"S": ["red", "blue"][i % 2]}}}}
                for i in range(start, start + 25)]})
        page = Page(browser, server.endpoint, "backfill")
        page.go("#/tables/backfilled")
        page.until_text("main", "No secondary indexes.")
        page.click("Create global index")
        dialog = page.dialog()
        page.type("Index name", "by_color", dialog)
        page.type("Partition key", "color", dialog)
        page.click("Create index", dialog)
        page.no_dialog()
        page.until_text("table[aria-label=Indexes]", "Backfilling")
        page.find("table[aria-label=Indexes] [role=progressbar]")
        assert "CREATING" in page.find("table[aria-label=Indexes]").text
        page.shot("backfilling")
        # The page follows the index until it is ACTIVE, with its item count.
        page.until_text("table[aria-label=Indexes]", "ACTIVE", timeout=60)
        assert not page.all("table[aria-label=Indexes] [role=progressbar]")
        page.until_text("table[aria-label=Indexes]", "600")
        page.shot("backfilled")
    finally:
        assert server.stop() == 0


def test_console_shows_how_far_a_backfill_got(browser):
    # 600 items and a backfill paced at one item a second: it reads its first chunk (512 items)
    # and then waits 512 s before the next, so the page shows 85% (512 of 600) for as long as
    # the test looks, however slow the machine. The figures come from /metrics.
    server = support.Server(in_memory=True, extra_args=["--backfill-items-per-second", "1"]).start()
    try:
        client = support.make_client(server.endpoint)
        support.create_pk_table(client, "slowfill")
        for start in range(0, 600, 25):
            client.batch_write_item(RequestItems={"slowfill": [
                {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "color": {"S": ["red", "blue"][i % 2]}}}}
                for i in range(start, start + 25)]})
        page = Page(browser, server.endpoint, "backfill-progress")
        page.go("#/tables/slowfill")
        page.until_text("main", "No secondary indexes.")
        page.click("Create global index")
        dialog = page.dialog()
        page.type("Index name", "by_color", dialog)
        page.type("Partition key", "color", dialog)
        page.click("Create index", dialog)
        page.no_dialog()
        shown = page.until_text("table[aria-label=Indexes]", "85%", timeout=60)
        assert "512 of 600 items" in shown, shown
        bar = page.find("table[aria-label=Indexes] progress")
        assert bar.get_attribute("value") == "85" and bar.get_attribute("role") == "progressbar"
        assert client.describe_table(TableName="slowfill")["Table"]["GlobalSecondaryIndexes"][0]["Backfilling"] is True
        page.shot("backfill-percent")
    finally:
        assert server.stop() == 0


def test_console_creates_multi_attribute_index_keys_and_local_indexes(browser):
    server = support.Server(in_memory=True).start()
    try:
        client = support.make_client(server.endpoint)
        page = Page(browser, server.endpoint, "multikey")
        page.go("#/create")
        page.find('input[aria-label="Table name"]')
        page.type("Table name", "games")
        page.type("Sort key", "sk")
        page.click("Add global index")
        page.type("Index name", "by_match")
        # Five partition-key attributes: DynamoDB allows four, and says so.
        page.type("Index partition key", "tournament")
        for n, name in zip(range(2, 6), ["region", "round", "court", "day"]):
            page.click("Add partition key attribute")
            page.type(f"Index partition key {n}", name)
        page.select("Index partition key 3 type", "N")
        attrs = [{"AttributeName": a, "AttributeType": t} for a, t in
                 [("pk", "S"), ("sk", "S"), ("tournament", "S"), ("region", "S"), ("round", "N"), ("court", "S"), ("day", "S")]]
        code, message = expected_error(lambda: client.create_table(
            TableName="games", AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "by_match", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": a, "KeyType": "HASH"} for a in ["tournament", "region", "round", "court", "day"]]}]))
        page.click("Create table")
        shown = page.until_text(".error-box", message)
        assert code in shown, shown
        page.shot("too-many-hash-attributes")

        # Four and two, with a sort key of two attributes of other types, and a local index.
        page.find('button[aria-label="Remove index partition key 5"]').click()
        page.type("Index sort key", "score")
        page.select("Index sort key type", "N")
        page.click("Add sort key attribute")
        page.type("Index sort key 2", "player")
        page.select("Index sort key 2 type", "B")
        page.click("Add local index")
        page.type("Local index name", "by_time")
        page.type("Local index sort key", "time")
        page.select("Local index sort key type", "N")
        preview = page.driver.find_element(page.By.CSS_SELECTOR, "[aria-label='Request preview']").get_attribute("textContent")
        assert '"player"' in preview, preview
        page.shot("multi-attribute-form")
        page.click("Create table")
        page.until_text("main h1", "games")
        page.until_text("table[aria-label=Indexes]", "tournament + region + round + court / score + player")
        page.shot("multi-attribute-overview")
        table = client.describe_table(TableName="games")["Table"]
        [gsi] = table["GlobalSecondaryIndexes"]
        assert gsi["KeySchema"] == [{"AttributeName": a, "KeyType": "HASH"} for a in ["tournament", "region", "round", "court"]] + [
            {"AttributeName": a, "KeyType": "RANGE"} for a in ["score", "player"]]
        [lsi] = table["LocalSecondaryIndexes"]
        assert lsi["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "time", "KeyType": "RANGE"}]
        defined = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
        assert defined == {"pk": "S", "sk": "S", "tournament": "S", "region": "S", "round": "N", "court": "S",
                           "score": "N", "player": "B", "time": "N"}

        # The table page's own index form takes several attributes too.
        page.click("Create global index")
        dialog = page.dialog()
        page.type("Index name", "by_day", dialog)
        page.type("Partition key", "day", dialog)
        page.click("Add partition key attribute", dialog)
        page.type("Partition key 2", "court", dialog)
        page.click("Create index", dialog)
        page.no_dialog()
        page.until_text("table[aria-label=Indexes]", "day + court")
        by_day = [i for i in client.describe_table(TableName="games")["Table"]["GlobalSecondaryIndexes"] if i["IndexName"] == "by_day"]
        assert by_day[0]["KeySchema"] == [{"AttributeName": "day", "KeyType": "HASH"}, {"AttributeName": "court", "KeyType": "HASH"}]
    finally:
        assert server.stop() == 0


# What the console's modules compute, checked in the browser that runs them.
MODULE_CHECKS = """
const done = arguments[arguments.length - 1];
const [cap, dj, sig] = await Promise.all([
  import("/console/capacity.js"), import("/console/ddbjson.js"), import("/console/sigv4.js")]);
const out = {};
// Two /metrics samples 5 s apart: GetItem took 3 more requests and 0.006 s more in all.
const metrics = (count, sum) => cap.parsePrometheus([
  "# HELP SuccessfulRequestLatency_seconds Latency of successful requests, seconds.",
  "# TYPE SuccessfulRequestLatency_seconds histogram",
  `SuccessfulRequestLatency_seconds_bucket{TableName="t",Operation="GetItem",le="0.01"} ${count}`,
  `SuccessfulRequestLatency_seconds_sum{TableName="t",Operation="GetItem"} ${sum}`,
  `SuccessfulRequestLatency_seconds_count{TableName="t",Operation="GetItem"} ${count}`,
  `SuccessfulRequestLatency_seconds_sum{TableName="other",Operation="GetItem"} 9`,
  `SuccessfulRequestLatency_seconds_count{TableName="other",Operation="GetItem"} 9`,
].join("\\n"));
out.latency = cap.latencyPoints([{ t: 100, series: metrics(10, 0.02) }, { t: 105, series: metrics(13, 0.026) }], "t", "us-east-1");
const plain = dj.parseExact('{"n": 12345678901234567890123456789012345678, "f": -1.5E-130, "l": [true, null, "x"]}');
out.item = dj.itemFromPlain(plain);
out.printed = dj.stringifyExact(dj.itemToPlain(out.item), 0);
out.sets = dj.itemHasSetsOrBinary({ a: { L: [{ M: { b: { SS: ["x"] } } }] } });
try { dj.parseExact('{"a": 1,}'); out.trailing = "accepted"; } catch (e) { out.trailing = e.name; }
out.signed = await sig.sign({ accessKeyId: "AKID", secretAccessKey: "SECRET/key", region: "eu-west-1",
  host: "127.0.0.1:8000", path: "/", body: '{"TableName": "t"}',
  headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.DescribeTable" },
  now: new Date(Date.UTC(2026, 11, 6, 5, 15, 0)) });
done(out);
"""


def test_console_modules_compute_what_they_should(memory_server, browser):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    browser.get(memory_server.endpoint + "/console")
    browser.set_script_timeout(20)
    out = browser.execute_async_script(f"(async () => {{ {MODULE_CHECKS} }})().catch((e) => arguments[arguments.length - 1]({{error: String(e)}}));")
    assert "error" not in out, out
    # 0.006 s over 3 requests: 2 ms each, at the second sample's time; the other table ignored.
    [series] = out["latency"]
    assert series["name"] == "GetItem"
    [[t, ms]] = series["points"]
    assert t == 105 and abs(ms - 2.0) < 1e-9
    assert out["item"] == {"n": {"N": "12345678901234567890123456789012345678"}, "f": {"N": "-1.5E-130"},
                           "l": {"L": [{"BOOL": True}, {"NULL": True}, {"S": "x"}]}}
    assert out["printed"] == '{"n":12345678901234567890123456789012345678,"f":-1.5E-130,"l":[true,null,"x"]}'
    assert out["sets"] is True
    assert out["trailing"] == "SyntaxError"
    # The browser's signature is botocore's for the same request.
    stamp = "20261206T051500Z"
    assert out["signed"]["x-amz-date"] == stamp
    request = botocore.awsrequest.AWSRequest(method="POST", url="http://127.0.0.1:8000/", data=b'{"TableName": "t"}', headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.DescribeTable", "X-Amz-Date": stamp})
    request.context["timestamp"] = stamp
    auth = botocore.auth.SigV4Auth(botocore.credentials.Credentials("AKID", "SECRET/key"), "dynamodb", "eu-west-1")
    signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    assert out["signed"]["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKID/20261206/eu-west-1/dynamodb/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={signature}")

"""What the browser tests of ``mt-access serve`` share: the app served on a free loopback port,
Debian's Chromium driven by Playwright, and :class:`Visit`, which checks every page reached.

Adding a scenario: import the fixtures ``browser``, ``browser_register``, ``live`` and
``open_visit`` into the test module (and list them in its ``__all__``); a test takes
``open_visit`` and ``live`` (the app served over a fresh copy of the generated register,
:class:`LiveApp`), opens one person's browser context with ``open_visit("who")``
(:class:`Visit`), logs in with :meth:`Visit.login`, then goes through pages with
:meth:`Visit.goto`, or :meth:`Visit.submit` / :meth:`Visit.arrived` after a click or a form
sent. Each page reached is then:

* checked with axe-core (the script shipped by axe-playwright-python): any violation of
  impact ``serious`` or ``critical`` is recorded with its rule id and targets;
* screenshotted (full page, JPEG) into ``$MT_ACCESS_ARTEFACTS`` (else pytest's temporary folder),
  the path printed;
* searched for ids used twice;
* and every console message about the Content-Security-Policy, on any page, is recorded.

:meth:`Visit.check` (called by ``open_visit`` at the end of each test) fails listing them
all. Without Chromium or Playwright the tests are skipped, unless
``MT_ACCESS_REQUIRE_CHROMIUM=1`` (CI) makes them fail. Generated data only.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chromium_support import REQUIRED, artefacts_dir, chromium_path

pytest.importorskip("flask")
pytest.importorskip("flask_wtf")
pytest.importorskip("argon2")
if not REQUIRED:  # CI: a missing Python module fails at import, as a collection error
    pytest.importorskip("playwright")
    pytest.importorskip("axe_playwright_python")

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mt_access.loading import load_policy
from mt_access.register import Register
from mt_access.store.sqlite import SQLiteStore
from mt_access.transitions import Event
from mt_access.web.pages import PAGE_SIZE
from mt_access.web.request_pages import STALE_MESSAGE
from web_support import PASSWORD, TODAY, USERS, Clock, build_register, make_app

__all__ = [
    "CHROMIUM_FLAGS",
    "PAGE_SIZE",
    "PASSWORD",
    "SPARE_PLACES",
    "STALE_MESSAGE",
    "USERS",
    "LiveApp",
    "OpenVisit",
    "Visit",
    "artefacts_dir",
    "browser",
    "browser_register",
    "build_browser_register",
    "chromium_path",
    "click",
    "downloaded",
    "events",
    "listed_requests",
    "live",
    "open_visit",
    "serve",
    "unanswered_proposals",
    "visits",
]

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
"""axe-core impacts that fail a test."""
TIMEOUT_MS = 15_000
"""Playwright's wait for one navigation or element (generous: the machine is shared)."""
VIEWPORT = {"width": 1280, "height": 900}


# ------------------------------------------------------------------------------------------
# The app on a loopback port


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its line per request on stderr."""

    def log_request(self, *_args: Any) -> None:
        pass


class LiveApp:
    """The app served by werkzeug (threaded) on a free 127.0.0.1 port, in a thread."""

    def __init__(self, path: Path, clock: Clock, **config: Any) -> None:
        self.path = path
        self.clock = clock
        self.app = make_app(path, clock, **config)
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveApp:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def serve(template: Path, folder: Path) -> Iterator[LiveApp]:
    """A fresh copy of the generated register ``template``, served (a fixture's body)."""
    path = folder / "registre.sqlite"
    shutil.copy(template, path)
    with LiveApp(path, Clock()) as live:
        yield live


SPARE_PLACES = {"MG002": 8, "MG003": 6}
"""GPs given more places in March, so that a scenario can propose to them (the generated
register's March run fills every GP)."""


def build_browser_register(path: Path) -> None:
    """The generated register of the scenarios: :func:`web_support.build_register` (an
    account of each role, :data:`USERS`) and GPs with places left (:data:`SPARE_PLACES`)."""
    build_register(path)
    with SQLiteStore(path, create=False) as store:
        register = Register(store, load_policy("voironnais"))
        for physician_id, capacity in SPARE_PLACES.items():
            register.change_capacity(physician_id, TODAY, capacity)


@pytest.fixture(scope="session")
def browser_register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated register (:func:`build_browser_register`), built once per session."""
    path = tmp_path_factory.mktemp("web-navigateur") / "modele.sqlite"
    build_browser_register(path)
    return path


@pytest.fixture
def live(browser_register: Path, tmp_path: Path) -> Iterator[LiveApp]:
    """A fresh copy of :func:`browser_register`, served for one test."""
    yield from serve(browser_register, tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium through Playwright."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


# ------------------------------------------------------------------------------------------
# Visiting pages


class Visit:
    """One person's browser context on the live app; every page reached is checked (axe,
    screenshot) and every CSP console message recorded. See the module's docstring."""

    def __init__(
        self, browser: Browser, live: LiveApp, folder: Path, name: str, *, script: bool = True
    ) -> None:
        self.live = live
        self.folder = folder
        self.name = name
        self.context: BrowserContext = browser.new_context(
            viewport=VIEWPORT, locale="fr-FR", java_script_enabled=script
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.add_init_script(_COUNT_SWAPS)
        self.script = script
        self.accessibility: list[str] = []
        self.csp: list[str] = []
        self.pages_checked: list[str] = []
        self.screenshots: list[Path] = []
        self.page = self.new_page()

    # -- pages and tabs

    def new_page(self) -> Page:
        """A new tab whose console is listened to."""
        page = self.context.new_page()
        page.on("console", lambda message: self._console(page, message))
        return page

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp.append(f"{_path(page.url)} : {text}")

    def goto(self, path: str, label: str, *, page: Page | None = None, status: int = 200) -> Page:
        """Open ``path``, check its HTTP status, then check the page (:meth:`arrived`)."""
        tab = page or self.page
        response = tab.goto(self.live.url + path)
        assert response is not None, path
        assert response.status == status, f"{path}: HTTP {response.status}, {status} attendu"
        return self.arrived(label, page=tab)

    def arrived(self, label: str, *, page: Page | None = None) -> Page:
        """The page now shown (after a click or a form sent): axe-core and a screenshot."""
        tab = page or self.page
        tab.wait_for_load_state("load")
        self._axe(tab, label)
        shot = (
            self.folder / f"{_slug(self.name)}-{len(self.screenshots) + 1:02d}-{_slug(label)}.jpg"
        )
        # JPEG: a full page in a quarter of PNG's time (0.5 s against 1.9 s on a busy machine)
        tab.screenshot(path=str(shot), full_page=True, type="jpeg", quality=80)
        self.screenshots.append(shot)
        print(f"capture d'écran : {shot}")
        self.pages_checked.append(f"{label} ({_path(tab.url)})")
        return tab

    def _axe(self, tab: Page, label: str) -> None:
        shown: tuple[str, str, list[str]] = tab.evaluate(_SHOWN)
        key = (_path(shown[0]), shown[1])
        duplicates = sorted({i for i in shown[2] if shown[2].count(i) > 1})
        if duplicates:  # a label or aria-describedby then points to the wrong field
            self.accessibility.append(
                f"{label} ({_path(tab.url)}): identifiants en double : {', '.join(duplicates)}"
            )
        if key in _AXE_DONE:
            return
        if not self.script:
            # axe-core needs the page's timers, stopped without JavaScript; the same routes
            # and templates serve these pages with JavaScript, where axe checks them
            self.pages_checked.append(f"{label} : sans axe-core (JavaScript désactivé)")
            return
        _AXE_DONE.add(key)
        tab.evaluate(AXE_SCRIPT)
        results: dict[str, Any] = tab.evaluate("axe.run(document, {resultTypes: ['violations']})")
        for violation in results["violations"]:
            if violation.get("impact") not in BLOCKING_IMPACTS:
                continue
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
            self.accessibility.append(
                f"{label} ({_path(tab.url)}): {violation['id']} [{violation['impact']}] "
                f"{violation['help']} ; cibles : {', '.join(targets[:10])}"
            )

    # -- actions shared by the scenarios

    def login(self, login: str, password: str = PASSWORD) -> Page:
        """Log in through the login page (checked); ends on the dashboard (checked)."""
        self.goto("/connexion", "connexion")
        self.page.get_by_label("Identifiant").fill(login)
        self.page.get_by_label("Mot de passe").fill(password)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Se connecter").click()
        assert _path(self.page.url) == "/", self.page.url
        return self.arrived(f"tableau de bord ({login})")

    def submit(self, form: Callable[[Page], Any], label: str, *, page: Page | None = None) -> Page:
        """Click (``form(page)`` clicks the button), wait for the next page, check it."""
        tab = page or self.page
        with tab.expect_navigation():
            form(tab)
        return self.arrived(label, page=tab)

    def swap(self, action: Callable[[Page], Any], label: str, *, page: Page | None = None) -> Page:
        """Click (``action(page)``) something htmx handles, wait for its answer to be swapped
        in place (no navigation), check the page as :meth:`arrived` does."""
        tab = page or self.page
        before = tab.evaluate(_SWAPS)
        action(tab)
        tab.wait_for_function(_SWAPPED_SINCE, arg=before)
        return self.arrived(label, page=tab)

    def marked(self, page: Page | None = None) -> Page:
        """Mark the document shown: :meth:`still_marked` then tells whether it was reloaded."""
        tab = page or self.page
        tab.evaluate("() => { window.mtNotReloaded = true; }")
        return tab

    def still_marked(self, page: Page | None = None) -> bool:
        """The document marked by :meth:`marked` is still the one shown (no navigation)."""
        return bool((page or self.page).evaluate("() => window.mtNotReloaded === true"))

    def messages(self, page: Page | None = None) -> list[str]:
        """The flashed messages shown."""
        tab = page or self.page
        return [m.strip() for m in tab.locator(".message").all_inner_texts()]

    # -- end of test

    def check(self) -> None:
        """Fail with every serious/critical axe violation and every CSP message seen."""
        print(f"{self.name} : {len(self.pages_checked)} page(s) vérifiée(s) :")
        for checked in self.pages_checked:
            print(f"  - {checked}")
        problems = [f"accessibilité : {a}" for a in self.accessibility]
        problems += [f"CSP : {c}" for c in self.csp]
        assert not problems, "\n".join(problems)

    def close(self) -> None:
        self.context.close()


_SHOWN = """() => [
    location.href,
    document.getElementsByTagName('*').length + ' ' + document.body.innerText,
    [...document.querySelectorAll('[id]')].map(element => element.id),
]"""
"""What identifies the page shown (its URL and its text) and its elements' ids."""

_COUNT_SWAPS = """document.addEventListener('htmx:afterSettle', () => {
    window.mtSwaps = (window.mtSwaps || 0) + 1;
});"""
"""Counts htmx's swaps settled in each document (a script Playwright adds before the page's
own: not subject to the page's CSP, and not on the page served)."""
_SWAPS = "() => window.mtSwaps || 0"
_SWAPPED_SINCE = """before => (window.mtSwaps || 0) > before
    && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"""
"""htmx swapped an answer since ``before`` swaps and nothing is in flight any more."""

_AXE_DONE: set[tuple[str, str]] = set()
"""Pages already checked by axe-core in this session (same URL, same number of
elements, same text): the login page
and the dashboard are reached by every scenario; axe takes 1-3 s a page on a busy machine."""


def _path(url: str) -> str:
    """The path of a URL on the live app (query string kept: ids and codes only)."""
    return re.sub(r"^https?://[^/]+", "", url) or "/"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40] or "page"


# ------------------------------------------------------------------------------------------
# The fixture of the scenarios


OpenVisit = Callable[[str], Visit]
"""``open_visit(who)``: a new browser context (:class:`Visit`) named after the test and
``who``."""


@pytest.fixture
def open_visit(
    browser: Browser, live: LiveApp, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OpenVisit]:
    """Opens one person's browser context; at the end of the test, every page each reached
    is checked (axe-core, CSP)."""
    yield from visits(browser, live, tmp_path, request)


def visits(
    browser: Browser, live: LiveApp, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OpenVisit]:
    """The body of :func:`open_visit`, for a fixture opening visits on another served
    register than :func:`live`'s (e.g. one with another policy)."""
    folder = artefacts_dir(tmp_path, "web")
    opened: list[Visit] = []

    def open_one(who: str) -> Visit:
        name = f"{request.node.name.removeprefix('test_')[:40]}-{who}"
        made = Visit(browser, live, folder, name)
        opened.append(made)
        return made

    yield open_one
    for made in opened:
        made.close()
    failures: list[str] = []
    for made in opened:  # every person's problems, not only the first one's
        try:
            made.check()
        except AssertionError as exc:
            failures.append(f"{made.name} :\n{exc}")
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------------------------------------
# Helpers on the pages of the coordinator's workspace (add those of new pages here)


def events(live: LiveApp, rid: str) -> list[Event]:
    """The events of a request's history, read from the served register."""
    with SQLiteStore(live.path, create=False) as store:
        found = store.get_file(rid)
        assert found is not None
        return [t.event for t in found.history]


def unanswered_proposals(page: Page) -> dict[str, int]:
    """The dashboard's « Propositions sans réponse des médecins »: GP id → count."""
    rows = page.locator("h3:has-text('Propositions sans réponse') + table tbody tr")
    found: dict[str, int] = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        head = row.locator("th").inner_text()
        pid = re.search(r"\(([^()]+)\)\s*$", head)
        assert pid is not None, head
        found[pid.group(1)] = int(row.locator("td").first.inner_text())
    return found


def listed_requests(page: Page) -> list[tuple[str, str]]:
    """The list's rows: (request id, state shown)."""
    rows = page.locator("table tbody tr:has(th[scope=row])")
    return [
        (
            rows.nth(i).locator("th").inner_text().strip(),
            rows.nth(i).locator("td").first.inner_text(),
        )
        for i in range(rows.count())
    ]


def downloaded(page: Page, action: Callable[[Page], Any]) -> tuple[str, bytes]:
    """What ``action(page)`` (a click on a download link or button) downloads, through
    Playwright's download API: the file name the server suggests and the bytes."""
    with page.expect_download() as caught:
        action(page)
    download = caught.value
    failure = download.failure()
    assert failure is None, failure
    return download.suggested_filename, Path(download.path()).read_bytes()


def click(name: str | re.Pattern[str], *, role: str = "button") -> Callable[[Page], None]:
    """What :meth:`Visit.submit` calls: click the button (or link...) of this exact name
    (or whose name matches this pattern)."""

    def click(page: Page) -> None:
        page.get_by_role(role, name=name, exact=True).click()  # type: ignore[arg-type]

    return click

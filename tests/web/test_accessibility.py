"""Accessibility in a real browser: axe-core on every page at two sizes, and what axe cannot
see — the focus indicator at each keyboard stop, the error summary, the preview's live region,
the active cue on phones and contrasts drawn by CSS.

axe-core is vendored under ``tests/web/vendor/`` (version and SHA-256 in its README) and added
to each page as an init script, which the pages' Content-Security-Policy does not block.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Page, expect

from quietly.core.records import Role
from tests.conftest import Tenant
from tests.web.conftest import needs_chromium, sign_in

pytestmark = needs_chromium

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
FOCUS_CONTRAST = 3.0  # WCAG 1.4.11: a focus indicator against what is next to it
TEXT_CONTRAST = 4.5
BORDER_CONTRAST = 3.0

# What draws the focus of the active element: the element, or the label beside a control
# that is visually hidden (the day, effect and segmented choices); then the colours around it,
# composited from the page down, so semi-transparent backgrounds count.
BACKDROP_JS = """function backdrop(node) {
  const layers = [];
  for (; node; node = node.parentElement) {
    layers.unshift(getComputedStyle(node).backgroundColor);
  }
  let under = [255, 255, 255];
  for (const layer of layers) {
    const [r, g, b, a = 1] = layer.match(/[\\d.]+/g).map(Number);
    under = [r, g, b].map((c, i) => c * a + under[i] * (1 - a));
  }
  return `rgb(${under.map(Math.round).join(", ")})`;
}"""
FOCUS_STYLE_JS = """() => {
  const el = document.activeElement;
  const ring = getComputedStyle(el).opacity === "0" && el.labels && el.labels.length
    ? el.labels[0] : el;
  const style = getComputedStyle(ring);
  """ + BACKDROP_JS + """
  return {
    id: el.id || (el.textContent || "").trim().slice(0, 40) || el.tagName,
    tag: el.tagName, type: el.type || "",
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
    outlineColor: style.outlineColor, boxShadow: style.boxShadow,
    background: backdrop(ring.parentElement),
  };
}"""


def _rgb(css: str) -> tuple[float, float, float]:
    r, g, b = (float(n) for n in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def _luminance(css: str) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two CSS ``rgb()``/``rgba()`` colours (alpha ignored)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(("a", "b", "ratio"), [
    ("rgb(255, 255, 255)", "rgb(0, 0, 0)", 21.0),
    ("rgb(0, 0, 0)", "rgb(255, 255, 255)", 21.0),
    ("rgb(118, 118, 118)", "rgb(255, 255, 255)", 4.54),
    ("rgba(26, 73, 168, 1)", "rgb(26, 73, 168)", 1.0),
])
def test_contrast_ratio(a: str, b: str, ratio: float) -> None:
    assert round(contrast(a, b), 2) == ratio


_colours = st.tuples(*[st.integers(0, 255)] * 3).map(lambda c: "rgb({}, {}, {})".format(*c))


@given(_colours, _colours)
def test_contrast_is_symmetric_and_between_1_and_21(a: str, b: str) -> None:
    assert (contrast(a, b) == contrast(b, a), 1 <= contrast(a, b) <= 21.0 + 1e-9,
            contrast(a, a)) == (True, True, 1.0)


def _use_axe(page: Page) -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256, \
        "tests/web/vendor/axe.min.js differs from the version recorded in its README"
    page.add_init_script(path=str(AXE))


def _axe_violations(page: Page) -> list[str]:
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", WCAG_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[node['target'] for node in v['nodes']][:5]}" for v in result["violations"]]


def _seed(tenant: Tenant) -> dict[str, int]:
    """One window of each kind: a one-time one running now, a weekly one, a cron one; and a
    one-time one later this week (so the timeline also shows a bar that is not active)."""
    now = datetime.now(UTC)
    soon = now + timedelta(days=3)
    later = tenant.editor.post("/api/v1/windows", json={
        "name": "Later this week", "targets": ["service:postgres"],
        "schedule": {"kind": "once", "start": soon.isoformat(),
                     "end": (soon + timedelta(hours=1)).isoformat()}})
    assert later.status_code == 201, later.text
    bodies = {
        "once": {"name": "Database failover", "targets": ["service:postgres"],
                 "description": "Writes pause for a minute.", "publish_to_status_page": True,
                 "schedule": {"kind": "once", "start": (now - timedelta(minutes=5)).isoformat(),
                              "end": (now + timedelta(hours=2)).isoformat()}},
        "weekly": {"name": "Weekly patching", "targets": ["service:web", "monitor:42"],
                   "match": [[{"label": "env", "op": "=", "value": "prod"}]],
                   "publish_to_status_page": True,
                   "schedule": {"kind": "recurring", "timezone": "Europe/Berlin",
                                "rrule": "FREQ=WEEKLY;BYDAY=SU", "start_time": "02:00",
                                "duration": "PT2H", "starts_on": "2031-01-05"}},
        "cron": {"name": "Nightly backups", "targets": ["service:backup"],
                 "schedule": {"kind": "recurring", "timezone": "UTC", "cron": "0 1 * * *",
                              "duration": "PT1H", "starts_on": "2031-01-01"}},
    }
    ids = {}
    for kind, body in bodies.items():
        response = tenant.editor.post("/api/v1/windows", json=body)
        assert response.status_code == 201, response.text
        ids[kind] = response.json()["id"]
    return ids


def _settled(page: Page) -> None:
    """Wait for what scripts draw (the preview, the localised times) before checking."""
    page.wait_for_load_state("load")
    if page.locator("#preview").count():
        expect(page.locator("#preview [data-preview-human], #preview [data-preview-errors]")
               ).to_have_count(1)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_axe_finds_no_violation_on_any_page(page: Page, tenant: Tenant, shoot: Any,
                                            size: str) -> None:
    ids = _seed(tenant)
    page.set_viewport_size(VIEWPORTS[size])
    _use_axe(page)
    found: dict[str, list[str]] = {}

    def check(name: str, url: str | None = None) -> None:
        if url is not None:
            page.goto(tenant.base_url + url)
        _settled(page)
        found[name] = _axe_violations(page)
        shoot(page, f"a11y-{size}-{name}")

    check("sign-in", "/sign-in")
    sign_in(page, tenant)
    check("timeline")
    check("windows", "/windows")
    check("new-window", "/windows/new")
    page.get_by_role("button", name="Create window").click()  # no name, no targets
    expect(page.locator("#error-summary")).to_be_focused()
    check("new-window-errors")
    for kind, window_id in ids.items():
        check(f"window-{kind}", f"/windows/{window_id}")
    check("edit-window", f"/windows/{ids['weekly']}/edit")
    check("maintenance-now", "/maintenance")
    page.get_by_role("button", name="Start maintenance").click()  # no targets
    expect(page.locator("#error-summary")).to_be_focused()
    check("maintenance-now-errors")
    check("status-page", f"/status/{tenant.slug}")
    assert {name: v for name, v in found.items() if v} == {}


def _focus_problems(stop: dict[str, Any]) -> list[str]:
    problems = []
    if stop["outlineStyle"] in ("none", "hidden") or stop["outlineWidth"] < 2:
        problems.append(f"no outline ({stop['outlineStyle']} {stop['outlineWidth']}px)")
    elif (ratio := contrast(stop["outlineColor"], stop["background"])) < FOCUS_CONTRAST:
        problems.append(f"outline {stop['outlineColor']} on {stop['background']}: {ratio:.2f}:1")
    return problems


def _walk_to(page: Page, last: str, shoot: Any, shots: dict[str, str]) -> list[dict[str, Any]]:
    """Tab from the top of the page to the button named ``last``; each stop's focus style."""
    stops: list[dict[str, Any]] = []
    for _ in range(120):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_STYLE_JS)
        stops.append(stop)
        shot = shots.pop(stop["id"], None)
        if shot:
            shoot(page, shot)
        if stop["tag"] == "BUTTON" and stop["id"] == last:
            return stops
    raise AssertionError(f"never reached {last!r}: {[s['id'] for s in stops]}")


def test_keyboard_walk_of_the_new_window_form(page: Page, tenant: Tenant, shoot: Any) -> None:
    sign_in(page, tenant)
    page.goto(tenant.base_url + "/windows/new")
    _settled(page)
    # The form opens on a one-time window; walk the recurring fields (the longer walk).
    page.evaluate("document.querySelector('#kind-recurring').checked = true")
    shots = {"New window": "a11y-focus-nav-link", "name": "a11y-focus-text-input",
             "kind-recurring": "a11y-focus-radio", "day-sun": "a11y-focus-day",
             "start_time": "a11y-focus-time", "effect-mute": "a11y-focus-effect",
             "Create window": "a11y-focus-submit"}
    stops = _walk_to(page, "Create window", shoot, shots)
    assert shots == {}, f"never focused: {shots}"
    assert len({s["id"] for s in stops}) >= 30  # every control of the form is reachable
    bad = {s["id"]: p for s in stops if (p := _focus_problems(s))}
    assert bad == {}

    page.locator("#targets").fill("not a target")  # and no name: two problems
    page.get_by_role("button", name="Create window").focus()
    page.keyboard.press("Enter")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("There are 2 problems")
    focused = page.evaluate(FOCUS_STYLE_JS)
    assert _focus_problems(focused) == []
    shoot(page, "a11y-focus-error-summary")
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_contain_text("Name:")
    expect(links.nth(1)).to_contain_text("Targets:")
    for href in links.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert page.locator(href).count() == 1, href  # each link points at its field

    page.keyboard.press("Tab")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#name")).to_be_focused()
    expect(page.locator("#name")).to_have_attribute("aria-describedby", "err-name")


@pytest.mark.parametrize(("group", "first", "break_it"), [
    # A weekly window without a day.
    ("days_of_week", "day-mon", "document.querySelector('#kind-recurring').checked = true;"
     " document.querySelectorAll('[name=days_of_week]').forEach(b => { b.checked = false; })"),
    # No effect the API knows (the checkboxes cannot send one; a tampered form can).
    ("effects", "effect-mute", "document.querySelector('#effect-mute').value = 'bogus'"),
])
def test_checkbox_errors_are_tied_to_each_checkbox(page: Page, tenant: Tenant, group: str,
                                                   first: str, break_it: str) -> None:
    sign_in(page, tenant)
    page.goto(tenant.base_url + "/windows/new")
    page.get_by_label("Name", exact=True).fill("Checkbox errors")
    page.locator("#targets").fill("service:web")
    page.evaluate(break_it)
    page.get_by_role("button", name="Create window").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator(f"#err-{group}")).to_be_visible()
    boxes = page.locator(f"input[name={group}]")
    expect(boxes).not_to_have_count(0)
    for box in boxes.all():
        expect(box).to_have_attribute("aria-invalid", "true")
        expect(box).to_have_attribute("aria-describedby", f"err-{group}")
    link = page.locator("#error-summary").locator(f"a[href='#{first}']")
    link.click()
    expect(page.locator(f"#{first}")).to_be_focused()


def test_preview_announces_only_its_summary_after_a_pause(page: Page, tenant: Tenant) -> None:
    sign_in(page, tenant)
    page.goto(tenant.base_url + "/windows/new")
    _settled(page)
    preview = page.locator("#preview")
    expect(preview).not_to_have_attribute("aria-live", re.compile(".*"))
    region = page.locator("[data-preview-status]")
    expect(region).to_have_attribute("role", "status")
    page.evaluate("""() => {
      window.announced = [];
      const region = document.querySelector("[data-preview-status]");
      new MutationObserver(() => window.announced.push(region.textContent))
        .observe(region, {childList: true, characterData: true, subtree: true});
    }""")
    zone = page.get_by_label("Time zone")
    zone.fill("")
    zone.press_sequentially("Europe/Ber", delay=120)  # a normal typing pace
    expect(region).to_contain_text("unknown time zone", ignore_case=True)
    expect(preview.locator("[role=alert]")).to_have_count(0)
    announced = page.evaluate("window.announced")
    # Ten keystrokes, one announcement once typing paused (two if a keystroke lagged).
    assert 1 <= len(announced) <= 2, announced
    assert "\n" not in announced[-1]
    zone.press_sequentially("lin")
    zone.blur()  # leaving the field announces without waiting
    # The form opens on a one-time window in the workspace's zone.
    expect(region).to_contain_text(re.compile(r"^Once, .+ \(Europe/Berlin\)$"))


def test_active_bar_has_a_cue_beyond_colour_and_a_visible_focus(page: Page, tenant: Tenant,
                                                                shoot: Any) -> None:
    _seed(tenant)
    page.set_viewport_size(VIEWPORTS["phone"])
    sign_in(page, tenant, Role.VIEWER)
    active = page.locator(".tl-bar.active")
    expect(active).to_have_count(1)
    row = page.locator(".tl-row", has=active)
    expect(row.locator(".tl-label .badge.state-active")).to_be_visible()  # ACTIVE on phones
    plain = page.locator(".tl-bar:not(.active)").first
    style = "(el) => getComputedStyle(el).backgroundImage"
    assert "gradient" in active.evaluate(style)  # stripes, not only a colour
    assert plain.evaluate(style) == "none"

    unfocused = active.evaluate("el => getComputedStyle(el).boxShadow")
    row.locator(".tl-label").focus()
    page.keyboard.press("Tab")
    expect(active).to_be_focused()
    focused = page.evaluate(FOCUS_STYLE_JS)
    assert _focus_problems(focused) == []
    assert focused["boxShadow"] != unfocused  # the glow gives way to the focus ring
    shoot(page, "a11y-focus-active-bar-phone")


def _css(page: Page, selector: str, prop: str, pseudo: str | None = None) -> str:
    return str(page.evaluate(
        "([s, p, pseudo]) => getComputedStyle(document.querySelector(s), pseudo)"
        ".getPropertyValue(p)", [selector, prop, pseudo]))


def test_contrasts_axe_cannot_measure(page: Page, tenant: Tenant) -> None:
    _seed(tenant)
    sign_in(page, tenant)
    expect(page.locator(".tl-now")).to_have_count(1)
    # The label is drawn over today's column: its tint over the card.
    today = page.locator(".tl-gridline.today").evaluate(
        f"el => {{ {BACKDROP_JS}; return backdrop(el); }}")
    now_label = _css(page, ".tl-now", "color", "::before")
    page.goto(tenant.base_url + "/windows/new")
    checks = {
        "now label (text)": (contrast(now_label, today), TEXT_CONTRAST),
        "text input border": (contrast(_css(page, "#name", "border-top-color"),
                                       "rgb(255, 255, 255)"), BORDER_CONTRAST),
        "select border": (contrast(_css(page, "#rule", "border-top-color"),
                                   "rgb(255, 255, 255)"), BORDER_CONTRAST),
        "day chip border": (contrast(_css(page, "label[for=day-mon]", "border-top-color"),
                                     "rgb(255, 255, 255)"), BORDER_CONTRAST),
        "segmented border": (contrast(_css(page, ".segmented-input", "border-top-color"),
                                      "rgb(255, 255, 255)"), BORDER_CONTRAST),
    }
    assert {name: round(ratio, 2) for name, (ratio, floor) in checks.items()
            if ratio < floor} == {}

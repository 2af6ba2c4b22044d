"""Accessibility the issue asks for: a label on every input, contrast that
meets WCAG AA, keyboard-usable filter toggles and narrow screens (the last
two in a real browser: test_browser.py)."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from web.tests.pages import HTMX, log, record_path, text

CSS = Path(__file__).resolve().parent.parent / "static" / "web" / "app.css"


class _Controls(HTMLParser):
    """Form controls, the ids that a <label for> names, and whether each
    control sits inside a <label>."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit", "button"):
            self.controls.append({**attrs, "_tag": tag, "_wrapped": self.in_label > 0})

    def handle_endtag(self, tag):
        if tag == "label":
            self.in_label -= 1


def unlabelled(page: str) -> list[str]:
    parser = _Controls()
    parser.feed(page)
    return [
        f"<{c['_tag']} name={c.get('name')!r} id={c.get('id')!r}>"
        for c in parser.controls
        if not (c["_wrapped"] or c.get("aria-label") or c.get("id") in parser.label_for)
    ]


PAGES = [
    "/", "/organizations/", "/contacts/", "/deals/", "/search?q=carol", "/organizations/new", "/contacts/new", "/deals/new",
    "/deals/{deal}/", "/contacts/{carol}/", "/organizations/{org}/", "/deals/{deal}/edit", "/contacts/{carol}/edit",
]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_input_on_the_page_has_a_label(as_alice, alice, world, path):
    log(alice, "email", "2024-02-01 10:00", "Hello", "sent", contact_ids=[world["carol"]])
    alice.post("events", {"subject": "Review", "start_at": "2030-01-01T10:00:00Z", "end_at": "2030-01-01T11:00:00Z", "deal_id": world["deal"]})
    page = text(as_alice.get(path.format(**world)))
    assert "<input" in page or "<select" in page
    assert unlabelled(page) == []


def test_the_login_page_labels_its_inputs(client):
    assert unlabelled(text(client.get("/login/"))) == []


def test_the_label_check_finds_an_unlabelled_input():
    assert unlabelled('<label for="a">A</label><input id="a"><input name="b">') == ["<input name='b' id=None>"]


# --- contrast (WCAG 2.x relative luminance) ----------------------------------------------


def _luminance(hex_colour: str) -> float:
    hex_colour = hex_colour.lstrip("#")
    if len(hex_colour) == 3:
        hex_colour = "".join(c * 2 for c in hex_colour)
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _palette() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS.read_text()).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", root))


# (text, background) pairs the stylesheet puts together.
PAIRS = [
    ("ink", "bg"), ("ink", "card"), ("muted", "card"), ("muted", "bg"), ("muted", "neutral-bg"), ("ink", "neutral-bg"),
    ("accent", "card"), ("accent-ink", "accent"), ("good", "good-bg"), ("bad", "bad-bg"), ("info", "info-bg"),
    ("overdue", "overdue-bg"), ("ink", "overdue-bg"), ("ink", "info-bg"),
]  # fmt: skip


@pytest.mark.parametrize("fg, bg", PAIRS)
def test_text_colours_meet_wcag_aa_contrast(fg, bg):
    palette = _palette()
    assert contrast(palette[fg], palette[bg]) >= 4.5, f"{fg} on {bg}"


def test_top_bar_links_meet_wcag_aa_contrast():
    palette = _palette()
    topbar_link = re.search(r"\.topbar a \{ color: (#[0-9a-fA-F]{6})", CSS.read_text()).group(1)
    assert contrast(topbar_link, palette["ink"]) >= 4.5
    assert contrast("#ffffff", palette["ink"]) >= 4.5


def test_the_contrast_check_rejects_a_faint_colour():
    assert contrast("#777777", "#ffffff") < 4.5 <= contrast("#595959", "#ffffff")


def test_kind_filter_toggles_are_real_labelled_checkboxes(as_alice, world):
    page = text(as_alice.get(record_path("deal", world["deal"], "activity"), **HTMX))
    toggles = re.findall(r'<label><input type="checkbox" name="kinds" value="(\w+)"[^>]*> <span>([^<]+)</span></label>', page)
    assert ("email", "Email") in toggles and len(toggles) == 11  # focusable, Space toggles them, a change posts the filter
    assert 'hx-trigger="change"' in page

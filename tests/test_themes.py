"""Themes: the installed list and its labels, names that can never become paths, the setting and the
resident's cookie choosing the stylesheet, and each theme's colours measured against WCAG contrast.

The contrast check reads the custom properties from core's yishi.css and each theme's theme.css (the
theme's win, as in the browser), resolves ``var()`` and computes the WCAG 2 ratio for every pair of text
and background colour the stylesheet puts together — so a colour changed badly fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from core.app import create_app
from core.errors import ConfigError
from core.org.tables import Council
from core.residents.tables import RosterEntry
from core.residents.tokens import make_token
from core.settings import PROJECT_ROOT, Settings
from core.themes import COOKIE, THEMES_DIR, installed_themes, theme_named
from tests.conftest import http_client
from tests.factories import make_council

CORE_CSS = PROJECT_ROOT / "core" / "static" / "css" / "yishi.css"
HOSTILE_NAMES = ["../default", "..", "/etc", "/etc/passwd", str(THEMES_DIR / "large"), "large/../dangjian",
                 "default/", "LARGE", "large\x00", "%2e%2e", "..\\default", " large", "", "../core"]

# -------------------------------------------------------------------------------------------------
# The installed themes and their names
# -------------------------------------------------------------------------------------------------


def test_the_three_themes_are_installed_with_chinese_labels() -> None:
    themes = installed_themes()
    assert list(themes)[:1] == ["default"]  # the switcher starts with core's own look
    assert {name: t.label for name, t in themes.items()} == {
        "default": "标准", "dangjian": "党建红", "large": "大字高对比"}
    assert all(t.description for t in themes.values())
    assert themes["default"].stylesheet is None  # core's look: nothing on top of yishi.css
    assert themes["large"].stylesheet == "/static/themes/large/css/theme.css"
    assert themes["dangjian"].stylesheet == "/static/themes/dangjian/css/theme.css"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_that_is_not_an_installed_theme_is_no_theme(name: str) -> None:
    assert theme_named(name) is None


@pytest.mark.parametrize("name", ["../core", "../themes/large", "/etc", str(THEMES_DIR / "large"), "Large"])
def test_the_setting_refuses_a_path_for_a_theme(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(data_dir=tmp_path, theme=name)
    message = str(info.value)
    assert "YISHI_THEME" in message and "default, dangjian, large" in message


def test_a_theme_toml_mistake_names_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "county").mkdir()
    (tmp_path / "county" / "theme.toml").write_text('label = "县里的"\ncolour = "red"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        installed_themes(tmp_path)
    assert str(tmp_path / "county" / "theme.toml") in str(info.value) and "colour" in str(info.value)

    other = tmp_path / "other"
    (other / "plain").mkdir(parents=True)
    (other / "__pycache__").mkdir()
    (other / "Not A Theme").mkdir()
    assert [(t.name, t.label) for t in installed_themes(other).values()] == [("plain", "plain")]


# -------------------------------------------------------------------------------------------------
# The setting and the cookie choose the stylesheet
# -------------------------------------------------------------------------------------------------


def stylesheets(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


@pytest.mark.parametrize(("theme", "expected"), [
    ("default", ["/static/css/yishi.css"]),
    ("large", ["/static/css/yishi.css", "/static/themes/large/css/theme.css"]),
    ("dangjian", ["/static/css/yishi.css", "/static/themes/dangjian/css/theme.css"]),
])
async def test_the_setting_selects_the_stylesheet(theme: str, expected: list[str], tmp_path: Path) -> None:
    app = create_app(Settings.from_env(data_dir=tmp_path, theme=theme))
    async with http_client(app) as client:
        page = await client.get("/login")
        assert page.status_code == 200 and stylesheets(page.text) == expected
        for href in expected:
            css = await client.get(href)
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        # a forged cookie (no installed theme) changes nothing
        client.cookies.set(COOKIE, "../../core")
        assert stylesheets((await client.get("/login")).text) == expected


async def test_only_a_themes_static_folder_is_served(tmp_path: Path) -> None:
    app = create_app(Settings.from_env(data_dir=tmp_path))
    async with http_client(app) as client:
        assert (await client.get("/static/themes/large/css/theme.css")).status_code == 200
        for path in ("/static/themes/large/theme.toml", "/static/themes/large/%2e%2e/theme.toml",
                     "/static/themes/large/..%2ftheme.toml", "/static/themes/nothing/css/theme.css",
                     "/static/themes/large/%2e%2e/%2e%2e/dangjian/theme.toml"):
            r = await client.get(path)
            assert r.status_code == 404, (path, r.status_code)


async def resident_link(settings: Settings) -> str:
    """A personal link of a resident of the test estate (its first page asks the identity check)."""
    council: Council = await make_council()
    entry = await RosterEntry.objects().create(unit=council.unit, name="朱秀英", building="3栋", unit_no="2",
                                               room="1502", kind="owner", household="3-2-1502",
                                               phone_last4="4460")
    return f"/r/{make_token(settings.secret(), entry.id, entry.token_generation)}"


def switcher(html: str) -> dict[str, tuple[str, bool]]:
    """The switcher's links: label → (href, is it the current one)."""
    nav = re.search(r'<nav class="theme-switcher".*?</nav>', html, re.S)
    assert nav, "no theme switcher on the page"
    links = re.findall(r'<a href="([^"]+)"[^>]*?(aria-current="true")?\s*>([^<]+)</a>', nav.group(0))
    return {label: (href.replace("&amp;", "&"), bool(current)) for href, current, label in links}


async def test_a_resident_switches_theme_on_their_page(client: httpx.AsyncClient, settings: Settings) -> None:
    link = await resident_link(settings)
    page = await client.get(link)
    assert page.status_code == 200 and "请先核对身份" in page.text
    choices = switcher(page.text)
    assert list(choices) == ["标准", "党建红", "大字高对比"]
    assert choices["标准"][1] and not choices["大字高对比"][1]
    assert stylesheets(page.text) == ["/static/css/yishi.css"]

    r = await client.get(choices["大字高对比"][0])
    assert r.status_code == 303 and r.headers["location"] == link  # back to the page it was clicked on
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=large;") and "samesite=lax" in cookie and "path=/" in cookie
    assert "httponly" in cookie and "max-age=31536000" in cookie
    assert r.headers["cache-control"] == "no-store"

    page = await client.get(link)
    assert stylesheets(page.text) == ["/static/css/yishi.css", "/static/themes/large/css/theme.css"]
    assert switcher(page.text)["大字高对比"][1] and not switcher(page.text)["标准"][1]
    assert (await client.get("/static/themes/large/css/theme.css")).status_code == 200

    r = await client.get(switcher(page.text)["党建红"][0])
    assert client.cookies.get(COOKIE) == "dangjian"
    assert stylesheets((await client.get(link)).text)[-1] == "/static/themes/dangjian/css/theme.css"

    # back to the deployment's own theme: the cookie goes, the page is core's look again
    r = await client.get(switcher((await client.get(link)).text)["标准"][0])
    assert r.status_code == 303 and client.cookies.get(COOKIE) is None
    assert stylesheets((await client.get(link)).text) == ["/static/css/yishi.css"]


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "nothing"])
async def test_an_invalid_choice_is_ignored(client: httpx.AsyncClient, settings: Settings, name: str) -> None:
    link = await resident_link(settings)
    client.cookies.set(COOKIE, "large")
    r = await client.get("/theme", params={"name": name, "next": link})
    assert r.status_code == 303 and r.headers["location"] == link
    assert "set-cookie" not in r.headers  # the earlier, valid choice stays
    if name == name.strip() and name.isprintable():  # (a cookie header trims spaces: " large" is large)
        client.cookies.set(COOKIE, name)  # and a forged cookie is ignored on the page
        assert stylesheets((await client.get(link)).text) == ["/static/css/yishi.css"]


@pytest.mark.parametrize("target", ["//evil.example/r/x", "https://evil.example/", "/\\evil.example", "", "r/x"])
async def test_the_switch_never_leaves_the_site(client: httpx.AsyncClient, target: str) -> None:
    r = await client.get("/theme", params={"name": "large", "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


# -------------------------------------------------------------------------------------------------
# Each theme's colours and sizes
# -------------------------------------------------------------------------------------------------

#: (text, background) custom properties that the stylesheet puts together.
TEXT_PAIRS = [
    ("--fg", "--bg"), ("--fg", "--panel"), ("--fg", "--input-bg"), ("--muted", "--bg"), ("--muted", "--panel"),
    ("--accent", "--bg"), ("--accent", "--panel"), ("--accent-fg", "--accent"), ("--header-fg", "--header-bg"),
    ("--danger", "--panel"), ("--danger", "--danger-bg"), ("--fail", "--fail-bg"), ("--pass", "--panel"),
    ("--pass", "--pass-bg"), ("--on-pass", "--pass"), ("--fg", "--current"), ("--fg", "--in-session"),
    ("--fg", "--pass-bg"), ("--fg", "--chip"), ("--fg", "--selected"), ("--fg", "--overdue"), ("--fg", "--quote-bg"),
    *[("--t-fg", f"--t-{state}") for state in ("other", "raised", "accepted", "merged", "declined", "scheduled",
                                                "decided", "assigned", "done", "rated", "answered")],
]
#: What each theme promises for text: WCAG AA (4.5:1), the large-print theme AAA (7:1). A county's own
#: theme folder is checked at AA too.
TEXT_MINIMUM = {"large": 7.0}
#: Pairs known to fall short, kept visible here until their colour is fixed (none now: the 已受理 chip
#: was darkened to #0E7490, 5.4:1, after axe-core flagged it).
KNOWN_SHORT: set[tuple[str, str, str]] = set()
#: The focus ring against the page (WCAG non-text contrast, 3:1), for the themes built with it in mind.
FOCUS_CHECKED = ("large", "dangjian")

COMMENT = re.compile(r"/\*.*?\*/", re.S)
ROOT = re.compile(r":root\s*\{(.*?)\}", re.S)
DECLARATION = re.compile(r"(--[\w-]+)\s*:\s*([^;]+);")
VAR = re.compile(r"var\((--[\w-]+)\)")


def root_variables(path: Path) -> dict[str, str]:
    css = COMMENT.sub("", path.read_text(encoding="utf-8"))
    return {name: value.strip() for block in ROOT.findall(css) for name, value in DECLARATION.findall(block)}


def theme_variables(name: str) -> dict[str, str]:
    """The custom properties a page in this theme sees: core's, then the theme's, var() resolved."""
    values = root_variables(CORE_CSS)
    own = THEMES_DIR / name / "static" / "css" / "theme.css"
    if own.is_file():
        values.update(root_variables(own))

    def resolve(value: str, seen: tuple[str, ...] = ()) -> str:
        def one(match: re.Match[str]) -> str:
            ref = match.group(1)
            assert ref not in seen and ref in values, f"{name}: var({ref}) is undefined or circular"
            return resolve(values[ref], (*seen, ref))

        return VAR.sub(one, value)

    return {key: resolve(value) for key, value in values.items()}


def rgb(value: str) -> tuple[float, float, float]:
    match = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value.strip())
    assert match, f"{value!r}: write theme colours as #rgb or #rrggbb so they can be checked"
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return tuple(int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def luminance(value: str) -> float:
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb(value))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey
    assert contrast("#fff", "#fff") == 1.0


@pytest.mark.parametrize("name", list(installed_themes()))
def test_each_themes_text_meets_its_contrast(name: str) -> None:
    values = theme_variables(name)
    minimum = TEXT_MINIMUM.get(name, 4.5)
    short = []
    for fg, bg in TEXT_PAIRS:
        ratio = contrast(values[fg], values[bg])
        if (name, fg, bg) in KNOWN_SHORT:
            assert ratio < minimum, f"{name}: {fg} on {bg} is fine now ({ratio:.2f}): remove it from KNOWN_SHORT"
        elif ratio < minimum:
            short.append(f"{fg} {values[fg]} on {bg} {values[bg]}: {ratio:.2f}:1")
    assert not short, f"{name}: below {minimum}:1 — " + "; ".join(short)
    if name in FOCUS_CHECKED:
        for bg in ("--bg", "--panel"):
            assert contrast(values["--focus"], values[bg]) >= 3, f"{name}: the focus ring is faint on {bg}"


def px(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)px", value)
    assert match, f"{value!r} is not a px size"
    return float(match.group(1))


def test_large_print_is_large() -> None:
    values = theme_variables("large")
    assert px(values["--font-size"]) >= 20 and px(values["--touch"]) >= 48 and px(values["--focus-width"]) >= 4
    css = (THEMES_DIR / "large" / "static" / "css" / "theme.css").read_text(encoding="utf-8")
    assert re.search(r"::placeholder\s*\{[^}]*color:\s*var\(--muted\)", css), "placeholders stay light grey"


def test_dangjian_has_a_deep_red_header_with_white_text_and_gold() -> None:
    values = theme_variables("dangjian")
    r, g, b = rgb(values["--header-bg"])
    assert r > 0.6 and g < 0.2 and b < 0.2, f"{values['--header-bg']} is not a deep red"
    assert values["--header-fg"].lower() in ("#fff", "#ffffff")
    assert contrast(values["--header-fg"], values["--header-bg"]) >= 4.5
    r, g, b = rgb(values["--current-mark"])
    assert r > g > b and r > 0.7 and b < 0.35, f"{values['--current-mark']} is not gold"


def test_every_variable_used_is_defined_and_themes_set_only_cores() -> None:
    core = root_variables(CORE_CSS)
    used = set(VAR.findall(COMMENT.sub("", CORE_CSS.read_text(encoding="utf-8"))))
    assert used <= set(core), f"yishi.css uses undefined variables: {sorted(used - set(core))}"
    for theme in installed_themes().values():
        css = theme.path / "static" / "css" / "theme.css"
        if css.is_file():
            unknown = set(root_variables(css)) - set(core)
            assert not unknown, f"{css}: core has no {sorted(unknown)} (a typo?)"
            used = set(VAR.findall(COMMENT.sub("", css.read_text(encoding="utf-8"))))
            assert used <= set(core), f"{css}: uses undefined {sorted(used - set(core))}"


def test_core_css_takes_every_colour_from_a_variable() -> None:
    """A colour written into a rule of yishi.css would look the same in every theme: name it in :root."""
    css = ROOT.sub("", COMMENT.sub("", CORE_CSS.read_text(encoding="utf-8")))
    literal = re.findall(r"[^;{}]*(?:#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\()[^;{}]*", css)
    assert not literal, f"colours outside :root in yishi.css: {[s.strip() for s in literal]}"

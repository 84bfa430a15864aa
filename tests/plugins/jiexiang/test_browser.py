"""In a real browser: the 巷导 on a tablet hands the signing link to the shop owner, who signs the
调解协议书 on her phone; the agreement takes effect and the tablet shows it.

A demo server of its own (`yishi demo` with only sanfang and jiexiang enabled), so this test depends
on no other plugin's demo data and changes nothing another browser test reads.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from tests.browser.conftest import launched_chromium, running_server
from tests.plugins.jiexiang.conftest import REGISTRY

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def jx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("jiexiang-demo")
    registry = data_dir / "plugin_registry.toml"
    registry.write_text(textwrap.dedent(REGISTRY), encoding="utf-8")
    with running_server(data_dir, env={"YISHI_PLUGIN_REGISTRY": str(registry)}) as server:
        yield server.url


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with launched_chromium() as b:
        yield b


def test_the_shop_owner_signs_on_her_phone_and_the_agreement_takes_effect(jx_server: str, chromium) -> None:
    tablet = chromium.new_page(viewport={"width": 1024, "height": 768}, base_url=jx_server)
    tablet.goto("/login")
    tablet.fill("#username", "zhangjp")
    tablet.fill("#password", "yishi-demo")
    tablet.click("button[type=submit]")
    tablet.click("text=街巷议事会")
    tablet.click("text=四牌楼商圈街巷议事会 · 纠纷调解")
    tablet.click("text=步行街服装店纸箱堆放堵塞楼道口")
    assert tablet.locator("#rec-state").inner_text() == "待签字"
    assert "已签字" in tablet.locator("#rec-parties li[data-party=a]").inner_text()
    assert tablet.locator("text=修改协议书").count() == 0  # 甲方 signed: the agreement is locked
    link = tablet.locator(".rec-sign-url").first.get_attribute("href")  # 乙方 钱丽: the only one left

    phone = chromium.new_page(viewport={"width": 360, "height": 640})
    phone.goto(link)
    assert "您是本协议的乙方" in phone.locator("main").inner_text()
    assert "纸箱当天清走" in phone.locator("#jx-terms").inner_text()
    phone.fill("input[name=name]", "钱 莉")
    phone.check("input[name=confirm]")
    phone.click("text=同意并签字")
    assert "签名须与乙方的姓名一致" in phone.locator("main").inner_text()
    phone.fill("input[name=name]", "钱丽")
    phone.check("input[name=confirm]")
    phone.click("text=同意并签字")
    assert "双方都已签字，协议已生效" in phone.locator("#jx-signed").inner_text()
    assert phone.locator("form.lc-form").count() == 0

    tablet.reload()
    assert tablet.locator("#rec-state").inner_text() == "已生效"
    tablet.click("a[href$='/documents/agreement/html']")
    assert "双方已签字，本协议已生效" in tablet.locator("#jx-doc-status").inner_text()

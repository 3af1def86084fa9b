"""Accessibility of the main screens (issue 19): axe-core, run in the real WebKitGTK page of the
app, finds no serious or critical violation of WCAG 2 A/AA on the login screen, on every screen
of the supervisor's menu, and on the lawyer's consultation and the mediator's mediation forms
with a visitor taken from their queues (labels bound to their inputs, contrast of text and hints
≥ 4.5:1, names of buttons and links, valid ARIA). axe-core comes from the UI's npm packages
(ui/node_modules/axe-core), so it is installed with the rest by `npm ci`.
"""

import json
import time

import pytest
from helpers import ROOT, click, el, login, logout, own_hall, resident_id, xinfang

AXE = ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = [
    "nav-register", "nav-today", "nav-lawyer", "nav-mediator", "nav-matters", "nav-due",
    "nav-backlog", "nav-stats", "nav-publicity", "nav-staff", "nav-audit", "nav-conflicts",
    "nav-people", "nav-backup", "nav-settings",
]


@pytest.fixture(scope="module")
def hall():
    """A hall with a visitor waiting for the lawyer and one for the mediator."""
    accounts = [("supervisor", "李科长", "supervisor"), ("clerk", "王接待", "clerk"),
                ("lawyer", "张律师", "lawyer"), ("mediator", "赵调解", "mediator")]
    with own_hall("xinfang-e2e-a11y-", accounts) as d:
        for n, desk in enumerate(("lawyer", "mediator")):
            visit = d.parent / "visit.json"
            visit.write_text(json.dumps({
                "visitors": [{"name": f"韩无障{n}", "id_number": resident_id("19700101", f"10{n}")}],
                "appeal": "拖欠工资三个月未发，请求协调。",
                "appeal_kind": "claim",
                "category": "劳动和社会保障",
                "agency": "沁水县人力资源和社会保障局",
            }, ensure_ascii=False), encoding="utf-8")
            added = xinfang(d, "visit", "add", "--file", str(visit), user="clerk")
            xinfang(d, "visit", "handoff", added["visit_id"], "--desk", desk, user="clerk")
        yield d


def serious_violations(drv) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    if not drv.execute_script("return typeof window.axe !== 'undefined'"):
        drv.execute_script(AXE.read_text(encoding="utf-8"))
    found = drv.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
          .then((r) => done(JSON.stringify(r.violations)), (e) => done(JSON.stringify({ error: String(e) })));
        """
    )
    violations = json.loads(found)
    assert not isinstance(violations, dict), violations
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(f'{" ".join(n["target"])} {n["html"][:160]}' for n in v["nodes"][:4])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_no_serious_accessibility_violations_on_the_main_screens(start_app, hall):
    assert AXE.exists(), f"{AXE} is missing: run `npm ci` in ui/"
    drv = start_app(hall)
    drv.set_script_timeout(60)
    el(drv, "login-username", timeout=30)
    found = {"登录": serious_violations(drv)}
    login(drv, "supervisor")
    for screen in SCREENS:
        click(drv, screen)
        time.sleep(1)  # let the screen load its data and settle
        found[screen] = serious_violations(drv)

    # The forms the lawyer and the mediator fill, with a visitor taken from the queue.
    for account, screen, form in (("lawyer", "nav-lawyer", "lawyer-current"),
                                  ("mediator", "nav-mediator", "mediation-dispute-type")):
        logout(drv)
        login(drv, account)
        click(drv, screen)
        click(drv, f"{account}-take-next")
        el(drv, form)
        time.sleep(1)
        found[f"{account} form"] = serious_violations(drv)
    bad = {k: v for k, v in found.items() if v}
    assert not bad, json.dumps(bad, ensure_ascii=False, indent=1)


def test_every_tab_of_the_supervisors_menu_is_in_view_on_a_small_office_screen(start_app, hall):
    """At 1366×768, a common office screen, each of the supervisor's fifteen tabs is on screen
    inside the menu bar (not behind its edge), so each can be found and clicked."""
    drv = start_app(hall)
    drv.set_window_size(1366, 768)
    el(drv, "login-username", timeout=30)
    login(drv, "supervisor")
    outside = drv.execute_script(
        """
        const bar = document.querySelector('header nav').getBoundingClientRect();
        return arguments[0].filter((id) => {
          const tab = document.querySelector(`[data-testid="${id}"]`);
          if (!tab) return true;
          const r = tab.getBoundingClientRect();
          return r.width === 0 || r.left < bar.left || r.right > bar.right + 0.5
            || r.top < bar.top || r.bottom > bar.bottom + 0.5 || r.right > window.innerWidth;
        });
        """,
        SCREENS,
    )
    assert outside == [], f"tabs out of view: {outside}"

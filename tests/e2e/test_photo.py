"""Issue 19, the live photo: in the real app, with WebKitGTK's mock capture device standing in
for the desk's webcam (XINFANG_MOCK_CAMERA=1, conftest.py), the clerk takes the visitor's photo
in registration without any browser prompt, retakes it, saves the visit, and sees the photo on
the visitor page and beside the visitor in the history panel.
"""

from helpers import (click, el, els, fill_appeal, login, own_hall, own_number, resident_id, shot,
                     submit_registration, type_into, wait)

ACCOUNTS = [("clerk", "王接待", "clerk")]
NUMBER = resident_id("19790312", "015")


def photo_bytes(drv, name: str) -> int:
    """The decoded size of the JPEG an <img> shows (a data: URL), 0 when none or not loaded."""
    return drv.execute_script(
        """
        const img = document.querySelector(`[data-testid="${arguments[0]}"]`)
        if (!img || !img.complete || img.naturalWidth === 0) return 0
        const src = img.getAttribute('src') || ''
        if (!src.startsWith('data:image/jpeg;base64,')) return 0
        return atob(src.slice(src.indexOf(',') + 1)).length
        """,
        name,
    )


def test_the_clerk_takes_a_photo_that_is_saved_with_the_visit(start_app):
    with own_hall("xinfang-e2e-photo-", ACCOUNTS) as data:
        drv = start_app(data)
        login(drv, "clerk")
        click(drv, "nav-register")
        type_into(drv, "visitor-name", "周拍照")
        type_into(drv, "visitor-id-number", NUMBER)
        fill_appeal(drv, "工程款拖欠两年，要求协调支付。")

        # The camera opens in the dialog with no prompt: the mock device's live picture.
        click(drv, "take-photo")
        wait(drv, 20).until(lambda d: d.execute_script(
            "const v = document.querySelector('[data-testid=\"photo-video\"]');"
            "return !!v && v.videoWidth > 0 && v.readyState >= 2"))
        assert not els(drv, "photo-error")
        click(drv, "photo-take")
        wait(drv).until(lambda d: photo_bytes(d, "photo-preview") > 0)
        shot(drv, "register-photo-dialog")
        # 重拍, then the second photo is the one used.
        click(drv, "photo-retake")
        wait(drv).until(lambda d: not els(d, "photo-preview"))
        click(drv, "photo-take")
        wait(drv).until(lambda d: photo_bytes(d, "photo-preview") > 0)
        taken = photo_bytes(drv, "photo-preview")
        # Small: a 320-pixel-wide JPEG of a few tens of KB at most.
        assert 1_000 < taken < 96 * 1024, taken
        width = drv.execute_script(
            "return document.querySelector('[data-testid=\"photo-preview\"]').naturalWidth")
        assert width == 320
        click(drv, "photo-use")
        wait(drv).until(lambda d: photo_bytes(d, "register-photo") == taken)

        queue = submit_registration(drv)
        assert own_number(queue, 1), queue
        wait(drv).until(lambda d: "照片已随登记保存" in el(d, "photo-note").text)
        assert not els(drv, "register-photo"), "the next visitor starts without it"

        # The history panel, searched by the document number, shows the person with the photo.
        type_into(drv, "history-search", NUMBER)
        wait(drv, 20).until(lambda d: photo_bytes(d, "visitor-photo") == taken)

        # The visitor page shows it too.
        drv.find_element("css selector", '[data-testid="history-hit"] a').click()
        el(drv, "visitor-detail")
        wait(drv, 20).until(
            lambda d: d.execute_script(
                "const i = document.querySelector('[data-testid=\"visitor-detail\"] "
                "[data-testid=\"visitor-photo\"]'); return !!i && i.complete && i.naturalWidth")
            == 320)
        assert photo_bytes(drv, "visitor-photo") == taken
        shot(drv, "visitor-photo")

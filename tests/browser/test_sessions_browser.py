"""Signing out in Chromium: "Sign out everywhere" from the user menu ends the session on another
device too (its open dashboard goes to the login page), while a plain logout ends only its own."""
from helpers import LiveServer, logged_in_page, status, wait_for


def test_sign_out_everywhere_ends_every_device_and_logout_only_its_own(browser, tmp_path):
    server = LiveServer(tmp_path / "srv", SIM_RATE=5).start()
    try:
        laptop, errors = logged_in_page(browser, server, "/")
        phone, phone_errors = logged_in_page(browser, server, "/market")       # another browser: its own session
        tablet, _ = logged_in_page(browser, server, "/")
        for page in (laptop, phone, tablet):
            wait_for(lambda: status(page) == "Live", 20, "Live status", page)

        tablet.click("text=Log out")                                           # ends the tablet's session only
        tablet.wait_for_url("**/login**", timeout=30000)
        laptop.reload()
        wait_for(lambda: status(laptop) == "Live", 20, "the laptop still signed in", laptop)

        laptop.click("#nav-user-menu")
        laptop.click("#nav-sign-out-everywhere")
        laptop.wait_for_url("**/login**", timeout=30000)
        phone.wait_for_url("**/login**", timeout=30000)                       # its socket closed with 4001
        phone.goto(server.url + "/market")
        phone.wait_for_url("**/login**", timeout=30000)                       # and the session stays ended
        assert errors == [] and phone_errors == [], (errors, phone_errors)
    finally:
        server.stop()

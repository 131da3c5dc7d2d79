import pytest
from conftest import LivePlatform, login
from playwright.sync_api import Page
from nitroplatform.auth.deps import Role
pytestmark = pytest.mark.browser
def test_debug(platform: LivePlatform, page: Page) -> None:
    page.on("console", lambda m: print("console:", m.type, m.text))
    platform.add_demo_cameras()
    team = platform.add_team("T", cameras=["boulevard-noord"], area="B")
    u = platform.add_user("boa", roles=[Role.officer], team_id=team)
    login(page, u)
    page.wait_for_timeout(1000)
    print(page.evaluate("window.nitrosignal.streamState"), page.evaluate("window.nitrosignal.live.reconnects"))
    platform.send_alert("boulevard-noord")
    page.wait_for_timeout(1500)
    print(page.evaluate("window.nitrosignal.streamState"), page.evaluate("window.nitrosignal.live.reconnects"))

"""Two agents in two browsers on the same case page (static/js/presence.js): the first sees the
second arrive, type a reply and leave, on a desktop and a phone screen, under the
Content-Security-Policy (tests/browser/conftest.py). The polls are driven by the test calling
the page's window.casePresence functions, not by waiting for the timer."""

import pytest

from returns.models import ReturnRequest
from tests.complaints.conftest import complaint_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)


def _complaint(world):
    return complaint_file(world.customer, world.company)


def _return(world):
    return ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number="RMA-PRESENCE",
        customer_account=world.company,
        requester=world.customer,
    )


# kind -> (the case, its change page's path, the noun of "is viewing this …")
KINDS = {
    "complaint": (_complaint, "complaints/complaint", "complaint"),
    "return": (_return, "returns/returnrequest", "return"),
}


def _shown(page) -> list[str]:
    return page.locator("#case-presence li").all_inner_texts()


@SCREENS
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_agent_sees_a_colleague_open_type_in_and_leave_the_same_case(
    page, second_page, sign_in, world_a, kind, viewport
):
    build, admin_path, noun = KINDS[kind]
    # Names are text, never markup.
    for user, name in ((world_a.agent, "Anna Nowak"), (world_a.coordinator, "Bartosz <b>Lis</b>")):
        user.full_name = name
        user.save()
    case = build(world_a)
    change_url = f"{page.base_url}/backoffice/{admin_path}/{case.pk}/change/"
    anna, bartosz = page, second_page
    sign_in(anna, world_a.agent)
    sign_in(bartosz, world_a.coordinator)

    # Alone on the case: nothing shown. (Each page reports when it opens; the test waits
    # for a report of its own rather than for that one.)
    anna.goto(change_url)
    anna.evaluate("() => window.casePresence.heartbeat()")
    assert _shown(anna) == []
    assert anna.get_attribute("#case-presence", "aria-live") == "polite"

    # Bartosz opens it: his page names Anna at its first report, Anna's him at her next poll.
    bartosz.goto(change_url)
    bartosz.evaluate("() => window.casePresence.heartbeat()")
    assert _shown(bartosz) == [f"Anna Nowak is viewing this {noun}"]
    anna.evaluate("() => window.casePresence.refresh()")
    assert _shown(anna) == [f"Bartosz <b>Lis</b> is viewing this {noun}"]
    assert anna.locator("#case-presence b").count() == 0
    assert anna.locator("#case-presence-reply li").all_inner_texts() == _shown(anna)
    assert anna.locator("#case-presence").is_visible()

    # He types a reply.
    box = "#" + bartosz.get_attribute("#case-presence-reply", "data-reply-field")
    bartosz.fill(box, "We are on it.")
    bartosz.evaluate("() => window.casePresence.heartbeat()")
    anna.evaluate("() => window.casePresence.refresh()")
    assert _shown(anna) == ["Bartosz <b>Lis</b> is typing a reply"]
    assert anna.locator("#case-presence li.typing").count() == 1

    # He leaves the page: gone from Anna's at her next poll.
    bartosz.evaluate("() => window.casePresence.leave()")
    anna.evaluate("() => window.casePresence.refresh()")
    assert _shown(anna) == []
    assert anna.inner_text("#case-presence").strip() == ""

"""Every program page carries the same sub-navigation, marks the page one is on, and shows
no template source."""

import pytest
from django.urls import reverse

PI_PAGES = ["pi-board", "pi-objectives", "pi-risks", "pi-sos", "pi-indicators"]
PROGRAM_PAGES = ["program-detail", "program-raci", "program-decisions"]


@pytest.mark.parametrize("name", PI_PAGES + PROGRAM_PAGES)
def test_the_page_is_marked_current_in_the_sub_navigation(program, client, name):
    pk = program.pi.pk if name in PI_PAGES else program.program.pk
    url = reverse(name, args=[pk])
    client.force_login(program.users["viewer"])
    html = client.get(url).content.decode()
    nav = html[html.index('<nav class="subnav"') : html.index("</nav>", html.index("subnav"))]
    assert f'href="{url}" aria-current="page"' in nav
    assert nav.count('aria-current="page"') == 1
    assert "{#" not in html and "#}" not in html and "{%" not in html

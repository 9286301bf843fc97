"""What every visitor meets around the pages: the menu, the favicon, log-out, the API docs."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

DOCS_URL = reverse("api-docs")


def test_the_api_docs_link_stays_in_the_menu_when_signed_in(client, user):
    def menu() -> str:
        nav = client.get("/").content.decode().split('<nav class="site-nav"', 1)[1]
        return nav.split("</nav>", 1)[0]

    assert f'href="{DOCS_URL}"' in menu()
    client.force_login(user)
    signed_in = menu()
    assert "Log out" in signed_in
    assert f'href="{DOCS_URL}"' in signed_in


def test_the_api_docs_page_links_back_to_the_site(client, user):
    # when
    anonymous = client.get(DOCS_URL).content.decode()
    client.force_login(user)
    signed_in = client.get(DOCS_URL).content.decode()

    # then: a way home and to a token, and Swagger UI still runs under the CSP nonce
    assert '<nav class="docs-bar" aria-label="Site">' in anonymous
    assert f'href="{reverse("pages:home")}">← Back to the site</a>' in anonymous
    assert f'href="{reverse("accounts:login")}"' in anonymous
    assert f'href="{reverse("accounts:account")}"' in signed_in
    assert 'id="swagger-ui"' in anonymous
    assert anonymous.count('nonce="') == 2


def test_favicon_ico_is_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")


def test_logging_out_says_so(auth_client):
    # when
    response = auth_client.post(reverse("accounts:logout"), follow=True)

    # then
    assert response.status_code == 200
    assert "You are logged out." in response.content.decode()


def test_logging_out_of_the_admin_leaves_no_message_for_the_site(client, user):
    # given a staff member signed in to the admin
    user.is_staff = True
    user.save()
    client.force_login(user)

    # when they log out in the admin, then visit the site
    client.post(reverse("admin:logout"))
    page = client.get("/").content.decode()

    # then the site does not repeat it (the admin showed its own page)
    assert "You are logged out." not in page


def test_api_tags_have_summaries_and_no_version_tag(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    tags = {tag["name"]: tag.get("description") for tag in schema["tags"]}
    used = {
        tag
        for path in schema["paths"].values()
        for operation in path.values()
        for tag in operation.get("tags", [])
    }
    assert "v1" not in used
    assert used <= set(tags)
    assert all(tags[name] for name in used)

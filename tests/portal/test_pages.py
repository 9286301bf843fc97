"""Site pages, the base layout, the demo banner and the error pages."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal.errors import server_error

DEMO_BANNER = "Demo model: trained on synthetic data, estimates are illustrative only"


@pytest.mark.django_db
def test_home_explains_the_product_to_visitors(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "90%" in html
    assert 'href="/api/docs/"' in html
    assert f'href="{reverse("accounts:signup")}"' in html
    assert 'class="skip-link" href="#main"' in html
    assert '<nav class="site-nav" aria-label="Main">' in html


@pytest.mark.django_db
def test_signed_in_nav_has_account_and_a_post_logout(auth_client):
    html = auth_client.get("/").content.decode()
    assert f'href="{reverse("accounts:account")}"' in html
    assert f'method="post" action="{reverse("accounts:logout")}"' in html
    assert "Sign up" not in html
    assert reverse("admin:index") not in html


@pytest.mark.django_db
def test_staff_see_the_admin_link(auth_client, user):
    user.is_staff = True
    user.save()
    assert reverse("admin:index") in auth_client.get("/").content.decode()


@pytest.mark.django_db
def test_about_without_a_model_says_so(client):
    response = client.get(reverse("pages:about"))
    assert response.status_code == 200
    assert "No model yet" in response.content.decode()


@pytest.mark.django_db
def test_demo_model_puts_a_banner_on_every_page(client, serving_model_row):
    # given
    serving_model_row(is_demo=True)

    # when / then
    for url in ("/", reverse("pages:about"), reverse("accounts:login")):
        assert DEMO_BANNER in client.get(url).content.decode()


@pytest.mark.django_db
def test_no_banner_without_a_model(client):
    assert DEMO_BANNER not in client.get("/").content.decode()


@pytest.mark.django_db
def test_unknown_host_is_400_not_500(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400


@pytest.mark.django_db
def test_missing_page_is_a_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_server_error_page_needs_no_database():
    # given a request with no user, session or messages, and no database access allowed
    request = RequestFactory().get("/")

    # when
    response = server_error(request)

    # then
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "/static/" not in html

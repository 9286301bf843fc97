"""Site pages (namespace ``pages``)."""

from django.urls import path

from portal.pages import views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    # Pages without our <link rel="icon"> (the admin, the API docs) make browsers ask here.
    path("favicon.ico", views.favicon, name="favicon"),
]

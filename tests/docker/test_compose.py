"""docker/compose.yaml and its development override hold together (the schema is checked by
``check-jsonschema`` in .ci/run; there is no Docker engine here to run them).

Every service has CPU and memory limits, the TLS proxy sits behind the "tls" profile with
docker/nginx.conf, its certificates and the static files, the override only touches services
that exist, and the environment names are ones the portal reads.
"""

import re

import pytest
import yaml

from tests.docker.conftest import DOCKER_DIR
from tests.portal.test_env_documented import variables_read

COMPOSE = DOCKER_DIR / "compose.yaml"
COMPOSE_DEV = DOCKER_DIR / "compose.dev.yaml"
NGINX_CONF = DOCKER_DIR / "nginx.conf"
APP_SERVICES = ("web", "worker", "beat")
TLS_PROFILE = "tls"
# Read by libraries, not by portal/settings.py.
NON_SETTINGS_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR"}
# source:target[:options]; a source may hold colons itself (``${TLS_CERT_DIR:-./certs}``).
SHORT_VOLUME = re.compile(r"^(?P<source>.+?):(?P<target>/[^:]*)(?::[a-z,]+)?$")


def _load(path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture
def services() -> dict:
    return _load(COMPOSE)["services"]


def _mounts(service: dict) -> dict[str, str]:
    """``{target: source}`` of a service's short-syntax volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        match = SHORT_VOLUME.match(volume)
        assert match, volume
        mounts[match["target"]] = match["source"]
    return mounts


def test_every_service_has_cpu_and_memory_limits(services):
    for name, service in services.items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert {"cpus", "memory"} <= set(limits), f"{name} has no CPU/memory limits"


def test_proxy_is_nginx_behind_the_tls_profile(services):
    # given
    proxy = services["proxy"]
    mounts = _mounts(proxy)
    nginx_conf = NGINX_CONF.read_text()

    # then
    assert proxy["profiles"] == [TLS_PROFILE]
    assert proxy["image"].startswith("nginx:")
    assert mounts["/etc/nginx/nginx.conf"] == "./nginx.conf"
    assert "/etc/nginx/certs" in mounts and "/etc/nginx/certs/" in nginx_conf
    static_dir = re.search(r"alias\s+(\S+?)/?;", nginx_conf).group(1)
    assert mounts[static_dir] == _mounts(services["static"])[static_dir]
    assert services["static"]["profiles"] == [TLS_PROFILE]
    assert {"80:80", "443:443"} <= set(proxy["ports"])


def test_nginx_upstream_is_the_web_service(services):
    # then
    match = re.search(r"server\s+([a-z0-9-]+):(\d+);", NGINX_CONF.read_text())
    assert match and match.group(1) in services
    assert match.group(1) == "web"


def test_default_stack_needs_no_profile(services):
    # then: `docker compose up` without a profile starts the portal itself
    for name in ("db", "redis", *APP_SERVICES):
        assert "profiles" not in services[name], name


def test_app_services_share_the_image_and_the_environment(services):
    # given
    known = set(variables_read()) | NON_SETTINGS_VARIABLES
    images = {services[name]["image"] for name in APP_SERVICES}

    # then
    assert len(images) == 1
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert set(environment) <= known, f"{name}: a name the portal does not read"
        assert "127.0.0.1" in environment["ALLOWED_HOSTS"].split(",")  # the health check


def test_web_metrics_are_summed_over_gunicorn_workers(services):
    # given
    web = services["web"]

    # then
    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]


def test_dev_override_mounts_the_source_of_existing_services(services):
    # given
    override = _load(COMPOSE_DEV)
    known = set(variables_read())

    # then
    assert set(override["services"]) <= set(services)
    for name in APP_SERVICES:
        service = override["services"][name]
        assert _mounts(service)["/app"] == ".."
        assert set(service["environment"]) <= known
        assert service["environment"]["DEBUG"] == "1"

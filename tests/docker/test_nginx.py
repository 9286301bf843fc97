"""docker/nginx.conf passes ``nginx -t`` and says what the app behind it relies on.

``nginx -t`` runs on a temporary copy: the upstream ``web`` becomes 127.0.0.1 (there is no
compose network here), the certificate paths point at a self-signed test certificate made with
the ``openssl`` CLI, and the pid file, access log and temp paths move into the temporary
directory and ports 80 and 443 become free high ports (``nginx -t`` binds them), so the check
runs without root and beside a running web server.
"""

import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.docker.conftest import DOCKER_DIR, REPO_ROOT, require_tool

NGINX_CONF = DOCKER_DIR / "nginx.conf"
CERT_DIR_IN_CONF = "/etc/nginx/certs/"
UPSTREAM_IN_CONF = "server web:8000;"
NGINX_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
TIMEOUT_SECONDS = 30
MULTIPART_OVERHEAD_MAX_BYTES = 2 * 1024 * 1024
GUNICORN_TIMEOUT_SECONDS = 30
ONE_YEAR_SECONDS = 31_536_000
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _directive(conf: str, name: str) -> str:
    match = re.search(rf"^\s*{name}\s+([^;]+);", conf, re.MULTILINE)
    assert match, f"{name} is not set in docker/nginx.conf"
    return match.group(1).strip()


def _size_in_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kmg]?)", value.lower())
    assert match, value
    return int(match.group(1)) * SIZE_UNITS[match.group(2)]


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)s?", value)
    assert match, value
    return int(match.group(1))


def _test_certificate(directory: Path) -> None:
    openssl = require_tool("openssl", install_hint="apt-get install openssl")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(directory / "privkey.pem"),
            "-out",
            str(directory / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _testable_copy(conf: str, tmp_path: Path) -> str:
    """The same configuration with local paths, a reachable upstream and no root needed."""
    assert UPSTREAM_IN_CONF in conf and CERT_DIR_IN_CONF in conf
    conf = conf.replace(UPSTREAM_IN_CONF, "server 127.0.0.1:8000;")
    conf = conf.replace(CERT_DIR_IN_CONF, f"{tmp_path / 'certs'}/")
    conf = re.sub(r"^pid\s+[^;]+;", f"pid {tmp_path / 'nginx.pid'};", conf, flags=re.MULTILINE)
    for port in ("80", "443"):
        conf = re.sub(rf"\blisten\s+{port}\b", f"listen 127.0.0.1:{_free_port()}", conf)
    # /dev/stdout may belong to another user (a CI runner's pipe): log to a file instead.
    conf = re.sub(r"access_log\s+/dev/stdout", f"access_log {tmp_path / 'access.log'}", conf)
    temp_paths = "".join(f"    {kind}_temp_path {tmp_path / kind};\n" for kind in NGINX_TEMP_PATHS)
    return conf.replace("http {\n", "http {\n" + temp_paths, 1)


@pytest.fixture
def conf() -> str:
    return NGINX_CONF.read_text()


def test_nginx_accepts_the_configuration(conf, tmp_path):
    # given
    nginx = require_tool("nginx", install_hint="apt-get install nginx (make test-tools)")
    (tmp_path / "certs").mkdir()
    _test_certificate(tmp_path / "certs")
    copy = tmp_path / "nginx.conf"
    copy.write_text(_testable_copy(conf, tmp_path))

    # when
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-e", "stderr", "-c", str(copy)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        cwd=REPO_ROOT,
    )

    # then
    assert result.returncode == 0, result.stderr


def test_body_limit_fits_the_largest_batch_upload(conf, settings):
    # given
    limit = _size_in_bytes(_directive(conf, "client_max_body_size"))

    # then: a whole batch file and its multipart framing get through, not much more
    assert limit > settings.BATCH_UPLOAD_MAX_BYTES
    assert limit - settings.BATCH_UPLOAD_MAX_BYTES <= MULTIPART_OVERHEAD_MAX_BYTES


def test_forwarded_headers_match_one_trusted_proxy(conf):
    # then: this proxy appends the address it saw (the N=1-th entry from the right, portal/net.py)
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;", conf)
    assert re.search(r"proxy_set_header\s+X-Forwarded-Proto\s+\$scheme;", conf)
    assert re.search(r"proxy_set_header\s+Host\s+\$host;", conf)
    assert "TRUSTED_PROXY_COUNT=1" in conf


def test_http_redirects_to_https_and_hsts_is_sent(conf):
    # then
    assert re.search(r"listen\s+80\b[^;]*;\s*server_name\s+_;\s*return\s+301\s+https://", conf)
    hsts = re.findall(
        r'add_header\s+Strict-Transport-Security\s+"max-age=(\d+)[^"]*"\s+always;', conf
    )
    assert hsts and all(int(age) >= ONE_YEAR_SECONDS for age in hsts)


def test_static_files_come_from_the_collected_static_dir(conf):
    # then
    assert re.search(r"location\s+/static/\s*\{\s*alias\s+/srv/static/;", conf)


def test_upstream_timeout_outlasts_gunicorn(conf):
    # then: gunicorn ends a stuck request first (docker/gunicorn.conf.py), nginx does not cut it
    assert _seconds(_directive(conf, "proxy_read_timeout")) > GUNICORN_TIMEOUT_SECONDS
    assert _seconds(_directive(conf, "proxy_connect_timeout")) <= GUNICORN_TIMEOUT_SECONDS

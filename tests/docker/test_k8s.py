"""docker/k8s/ manifests validate offline against the Kubernetes 1.30 schemas and hold together.

Each manifest is checked with ``kubernetes-validate`` in strict mode (unknown fields are errors),
``kustomization.yaml`` must list every manifest in the folder, and the pieces must agree: probes,
resources, secrets by reference, one beat, the HPA's and the Service's targets. When ``kubectl``
is installed, the kustomize build is rendered and validated too (skipped otherwise: it is not
something ``make test-tools`` can install).
"""

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.docker.conftest import DOCKER_DIR, require_tool
from tests.portal.test_env_documented import variables_read

K8S_DIR = DOCKER_DIR / "k8s"
KUSTOMIZATION = K8S_DIR / "kustomization.yaml"
KUBERNETES_VERSION = "1.30.0"
TIMEOUT_SECONDS = 60
SECRET_NAME = "mlpaygrade-secrets"
CONFIGMAP_NAME = "mlpaygrade-config"
SECRET_VARIABLES = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
WORKLOAD_KINDS = {"Deployment", "Job"}
# Set for the pod itself or for libraries, not read by portal/settings.py.
NON_SETTINGS_VARIABLES = {"POD_IP", "PROMETHEUS_MULTIPROC_DIR"}


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S_DIR.glob("*.yaml") if path != KUSTOMIZATION)


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _all_documents() -> list[dict]:
    return [doc for path in manifest_files() for doc in _documents(path)]


def _by_kind_and_name(kind: str, name: str) -> dict:
    matches = [
        doc for doc in _all_documents() if doc["kind"] == kind and doc["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def _pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def _workloads() -> list[dict]:
    return [doc for doc in _all_documents() if doc["kind"] in WORKLOAD_KINDS]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_manifest_is_valid_kubernetes(path):
    # given
    documents = _documents(path)

    # when / then: raises with the failing field's path
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_an_unknown_field():
    # given: a typo a non-strict check would let through
    deployment = _by_kind_and_name("Deployment", "mlpaygrade-web")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}

    # when / then
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest():
    # given
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())

    # then
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == [path.name for path in manifest_files()]


def test_every_image_is_the_one_kustomize_pins():
    # given
    pinned = {image["name"] for image in yaml.safe_load(KUSTOMIZATION.read_text())["images"]}

    # then
    for workload in _workloads():
        for container in _pod_spec(workload)["containers"]:
            assert container["image"].rsplit(":", 1)[0] in pinned, workload["metadata"]["name"]


def test_every_container_has_requests_and_limits():
    for workload in _workloads():
        for container in _pod_spec(workload)["containers"]:
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), (
                    f"{workload['metadata']['name']}/{container['name']} lacks {kind}"
                )


def test_secrets_come_by_reference_and_settings_from_the_configmap():
    for workload in _workloads():
        for container in _pod_spec(workload)["containers"]:
            env = {item["name"]: item for item in container.get("env", [])}
            name = f"{workload['metadata']['name']}/{container['name']}"
            assert {"configMapRef": {"name": CONFIGMAP_NAME}} in container["envFrom"], name
            for variable in SECRET_VARIABLES:
                reference = env[variable]["valueFrom"]["secretKeyRef"]
                assert reference["name"] == SECRET_NAME and reference["key"] == variable, name
            for variable, item in env.items():
                if "value" in item:
                    assert variable not in SECRET_VARIABLES | {"READINESS_SECRET"}, name


def test_configmap_and_env_names_are_settings_the_portal_reads():
    # given: a misspelt name would be silently ignored by the portal
    known = set(variables_read()) | NON_SETTINGS_VARIABLES
    configmap = _by_kind_and_name("ConfigMap", CONFIGMAP_NAME)

    # then
    assert set(configmap["data"]) <= known
    assert all(isinstance(value, str) for value in configmap["data"].values())
    for workload in _workloads():
        for container in _pod_spec(workload)["containers"]:
            assert {item["name"] for item in container.get("env", [])} <= known


def test_web_probes_liveness_on_healthz_and_readiness_on_readyz():
    # given
    (container,) = _pod_spec(_by_kind_and_name("Deployment", "mlpaygrade-web"))["containers"]
    port_names = {port["name"] for port in container["ports"]}

    # then
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in port_names


def test_web_pods_accept_their_own_ip_as_host():
    # given: kubelet probes and Prometheus send Host: <pod IP>:8000
    (container,) = _pod_spec(_by_kind_and_name("Deployment", "mlpaygrade-web"))["containers"]
    env = {item["name"]: item for item in container["env"]}
    names = [item["name"] for item in container["env"]]

    # then
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["ALLOWED_HOSTS"]["value"] == "$(ALLOWED_HOSTS),$(POD_IP)"
    assert names.index("POD_IP") < names.index("ALLOWED_HOSTS")  # expansion sees earlier ones


def test_one_beat_replaced_not_rolled():
    # given
    beat = _by_kind_and_name("Deployment", "mlpaygrade-beat")

    # then
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_hpa_scales_the_web_deployment():
    # given
    hpa = _by_kind_and_name("HorizontalPodAutoscaler", "mlpaygrade-web")

    # then
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "mlpaygrade-web")
    assert 1 < hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_service_and_pdb_select_the_web_pods():
    # given
    web = _by_kind_and_name("Deployment", "mlpaygrade-web")
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    service = _by_kind_and_name("Service", "mlpaygrade-web")
    pdb = _by_kind_and_name("PodDisruptionBudget", "mlpaygrade-web")
    (container,) = _pod_spec(web)["containers"]

    # then
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert web["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    port_names = {port["name"] for port in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names


def test_migrations_run_in_the_job_not_in_the_web_pods():
    # given
    job = _by_kind_and_name("Job", "mlpaygrade-migrate")
    (migrate,) = _pod_spec(job)["containers"]
    (web,) = _pod_spec(_by_kind_and_name("Deployment", "mlpaygrade-web"))["containers"]

    # then
    assert "migrate" in " ".join(migrate["args"])
    assert _pod_spec(job)["restartPolicy"] == "Never"
    assert "migrate" not in " ".join(web["args"]) and "start-web" not in " ".join(web["args"])


def test_kustomize_build_renders_valid_manifests():
    # given
    kubectl = require_tool(
        "kubectl", install_hint="install kubectl (kustomize built in)", required_in_ci=False
    )

    # when
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S_DIR)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )

    # then
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(rendered) == len(_all_documents())
    for document in rendered:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "mlpaygrade"
        assert document["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mlpaygrade"

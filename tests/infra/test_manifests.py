"""infra/k8s: the example overlay renders, every object is valid Kubernetes, and the invariants hold.

Rendering uses infra/k8s/render.py (no kubectl needed); when kubectl is installed its own
`kubectl kustomize` must give the same objects. Validation: kubernetes-validate's bundled JSON
schemas, strict (unknown fields refused), for a pinned Kubernetes version.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.infra.conftest import ROOT, load_module, skip_or_fail

render = load_module("infra/k8s/render.py", "infra_k8s_render")

K8S_VERSION = "1.32.0"
OVERLAY = ROOT / "infra" / "k8s" / "overlays" / "example"
BASE = ROOT / "infra" / "k8s" / "base"
RELEASED_IMAGE = "registry.example.fr/mediation/app:2026.12.06"
ROLES = ("web", "worker", "beat")
# Variables that carry secrets: they must come from a Secret, never from a ConfigMap or the manifests.
SECRET_VARIABLES = {
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CACHE_URL",
    "CELERY_RESULT_BACKEND",
    "EMAIL_HOST_PASSWORD",
    "PLATFORM_STRIPE_SECRET_KEY",
    "PLATFORM_STRIPE_WEBHOOK_SECRET",
    "STRIPE_CONNECT_WEBHOOK_SECRET",
    "SENTRY_DSN",
    "SIRENE_API_KEY",
}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render.render(OVERLAY)


def _by(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def problems(objects: list[dict[str, Any]]) -> list[str]:
    """Every broken invariant of a rendered set, as sentences (empty when all hold)."""
    found: list[str] = []
    deployments = _by(objects, "Deployment")
    config_maps = _by(objects, "ConfigMap")
    # Every pod: non-root, no privilege escalation, read-only root, resources; long-running ones: probes.
    for obj in objects:
        spec = render.pod_spec(obj)
        if spec is None:
            continue
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        pod_security = spec.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True or pod_security.get("runAsUser", 0) == 0:
            found.append(f"{name}: pod not runAsNonRoot with a non-zero runAsUser")
        if spec.get("automountServiceAccountToken") is not False:
            found.append(f"{name}: mounts a service account token")
        for container in render.containers(obj):
            where = f"{name}/{container['name']}"
            security = container.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                found.append(f"{where}: allowPrivilegeEscalation not false")
            if security.get("readOnlyRootFilesystem") is not True:
                found.append(f"{where}: root filesystem writable")
            if "ALL" not in security.get("capabilities", {}).get("drop", []):
                found.append(f"{where}: capabilities not dropped")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    found.append(f"{where}: no {part} for cpu and memory")
            if obj["kind"] == "Deployment":
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in container:
                        found.append(f"{where}: no {probe}")
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef")
                if ref and ref["name"] not in config_maps:
                    found.append(f"{where}: ConfigMap {ref['name']} is not in the manifests")
            for variable in container.get("env", []):
                if variable["name"] in SECRET_VARIABLES and "value" in variable:
                    found.append(f"{where}: {variable['name']} given in clear")
    # One image for every role.
    images = {role: {c["image"] for c in render.containers(deployments.get(f"mediation-{role}", {}))} for role in ROLES}
    images["migrate"] = {c["image"] for c in render.containers(_by(objects, "Job").get("mediation-migrate", {}))}
    if any(len(v) != 1 for v in images.values()) or len(set().union(*images.values())) != 1:
        found.append(f"web, worker, beat and migrate do not share one image: {images}")
    # Beat: a singleton that never overlaps itself.
    beat = deployments.get("mediation-beat")
    if beat is None or beat["spec"].get("replicas") != 1 or beat["spec"].get("strategy", {}).get("type") != "Recreate":
        found.append("beat is not one replica with the Recreate strategy")
    # Autoscalers: targets exist; beat is never autoscaled.
    for hpa in _by(objects, "HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            found.append(f"HPA {hpa['metadata']['name']} targets a missing {target['kind']}/{target['name']}")
        elif target["name"] == "mediation-beat":
            found.append("beat is autoscaled")
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in _by(objects, "HorizontalPodAutoscaler").values()}
    for role in ("web", "worker"):
        if f"mediation-{role}" not in scaled:
            found.append(f"no HPA for {role}")
    # Disruption budgets select pods that exist.
    for pdb in _by(objects, "PodDisruptionBudget").values():
        selector = pdb["spec"]["selector"]["matchLabels"]
        if not any(_labels_match(selector, d["spec"]["template"]["metadata"]["labels"]) for d in deployments.values()):
            found.append(f"PDB {pdb['metadata']['name']} selects no pod")
    # Service -> web pods, on a port the web container declares.
    services = _by(objects, "Service")
    web = deployments.get("mediation-web")
    service = services.get("mediation-web")
    if web is None or service is None:
        found.append("no web Deployment or Service")
    else:
        if not _labels_match(service["spec"]["selector"], web["spec"]["template"]["metadata"]["labels"]):
            found.append("the web Service does not select the web pods")
        port_names = {p.get("name") for c in render.containers(web) for p in c.get("ports", [])}
        if any(p["targetPort"] not in port_names for p in service["spec"]["ports"]):
            found.append("the web Service targets a port the web container does not name")
        # Web probes go to /health/ without the worker check.
        container = render.containers(web)[0]
        for probe in ("readinessProbe", "livenessProbe"):
            path = container.get(probe, {}).get("httpGet", {}).get("path", "")
            if not path.startswith("/health/") or "workers=0" not in path:
                found.append(f"web {probe} is not /health/?workers=0 (got {path!r})")
    # Ingress: the platform host and the firms' wildcard both reach the web Service.
    routed: dict[str, str] = {}
    for ingress in _by(objects, "Ingress").values():
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                routed[rule.get("host", "")] = path["backend"]["service"]["name"]
    for host in ("example.fr", "*.example.fr"):
        if routed.get(host) not in services:
            found.append(f"the Ingress does not route {host} to a Service of the manifests")
    tls_hosts = {h for i in _by(objects, "Ingress").values() for t in i["spec"].get("tls", []) for h in t["hosts"]}
    if "*.example.fr" not in tls_hosts:
        found.append("no TLS for the firms' wildcard host")
    # Secrets: none committed, and no secret variable in a ConfigMap.
    if _by(objects, "Secret"):
        found.append("a Secret is committed in the manifests")
    for name, config_map in config_maps.items():
        leaked = SECRET_VARIABLES & set(config_map.get("data", {}))
        if leaked:
            found.append(f"ConfigMap {name} holds secret variables {sorted(leaked)}")
    return found


def test_every_object_is_valid_kubernetes(objects: list[dict[str, Any]]) -> None:
    kinds = sorted(o["kind"] for o in objects)
    assert kinds.count("Deployment") == 3
    assert {"Job", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= set(kinds)
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_strict_validation_refuses_a_misspelt_field(objects: list[dict[str, Any]]) -> None:
    web = copy.deepcopy(_by(objects, "Deployment")["mediation-web"])
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"tcpSocket": {"port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, K8S_VERSION, strict=True)


def test_invariants_hold(objects: list[dict[str, Any]]) -> None:
    assert problems(objects) == []


def test_overlay_sets_namespace_image_and_replicas(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "mediation-example", obj["metadata"]["name"]
    images = {c["image"] for o in objects for c in render.containers(o)}
    assert images == {RELEASED_IMAGE}
    assert _by(objects, "Deployment")["mediation-web"]["spec"]["replicas"] == 3
    # The base itself stays on the placeholder image name kustomize replaces.
    assert {c["image"] for o in render.render(BASE) for c in render.containers(o)} == {"mediation"}


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda o: o["Deployment/mediation-worker"]["containers"][0].pop("livenessProbe"), "no livenessProbe"),
        (lambda o: o["Deployment/mediation-beat"]["spec"].update(replicas=2), "beat is not one replica"),
        (lambda o: o["Deployment/mediation-worker"]["containers"][0].update(image="other:1"), "share one image"),
        (lambda o: o["Deployment/mediation-web"]["pod"]["securityContext"].update(runAsUser=0), "runAsNonRoot"),
        (lambda o: o["HorizontalPodAutoscaler/mediation-worker"]["spec"]["scaleTargetRef"].update(name="x"), "HPA"),
        (lambda o: o["Ingress/mediation"]["spec"]["rules"].pop(), "*.example.fr"),
        (lambda o: o["ConfigMap/mediation-config"]["data"].update(SECRET_KEY="s3cr3t"), "secret variables"),
        (lambda o: o["Deployment/mediation-web"]["containers"][0].pop("resources"), "no requests"),
    ],
)
def test_invariant_checks_catch_breakage(objects: list[dict[str, Any]], breakage: Any, expected: str) -> None:
    broken = copy.deepcopy(objects)
    index: dict[str, Any] = {}
    for obj in broken:
        entry = {"spec": obj.get("spec"), "data": obj.get("data")}
        spec = render.pod_spec(obj)
        if spec is not None:
            entry.update(pod=spec, containers=spec["containers"])
        index[f"{obj['kind']}/{obj['metadata']['name']}"] = entry
    breakage(index)
    assert any(expected in p for p in problems(broken)), problems(broken)


def test_secret_references_are_documented(objects: list[dict[str, Any]]) -> None:
    """The Secret the pods read is not in the manifests: docs/deployment.md says how to create it."""
    names = {
        source["secretRef"]["name"]
        for o in objects
        for c in render.containers(o)
        for source in c.get("envFrom", [])
        if "secretRef" in source
    }
    assert names == {"mediation-secrets"}
    guide = (ROOT / "docs" / "deployment.md").read_text()
    assert "mediation-secrets" in guide
    for variable in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"):
        assert variable in guide


def test_renderer_refuses_fields_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches:\n  - path: p.yaml\n")
    with pytest.raises(render.KustomizeError, match="patches"):
        render.render(tmp_path)


def test_renderer_matches_kubectl_kustomize(objects: list[dict[str, Any]]) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        skip_or_fail("kubectl is not installed")
    out = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    theirs = [d for d in yaml.safe_load_all(out) if d]

    def key(o: dict[str, Any]) -> tuple[str, str]:
        return (o["kind"], o["metadata"]["name"])

    assert sorted(map(key, theirs)) == sorted(map(key, objects))
    mine = {key(o): o for o in objects}
    for obj in theirs:
        assert obj == mine[key(obj)], key(obj)

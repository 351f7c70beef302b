"""Render a kustomization without kubectl: the subset of kustomize these manifests use.

    python infra/k8s/render.py infra/k8s/overlays/example > rendered.yaml

Supported fields: `resources` (files, or directories holding a kustomization.yaml), `namespace`,
`images` (name -> newName / newTag / digest) and `replicas`. Any other field is refused, so a
kustomization that outgrows this subset fails loudly instead of rendering something else;
tests/infra/test_manifests.py also compares the result with `kubectl kustomize` when kubectl is there.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "replicas"}
# Kinds without a namespace among those a kustomization here may hold.
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class KustomizeError(ValueError):
    pass


def _load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kustomization_file(directory: Path) -> Path:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).is_file():
            return directory / name
    raise KustomizeError(f"no kustomization file in {directory}")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a workload object, or None."""
    kind = obj.get("kind")
    if kind in WORKLOADS:
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind == "Pod":
        return obj["spec"]
    return None


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    # A tag follows the last colon, unless that colon belongs to a registry port (a slash follows it).
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def _apply_images(objects: list[dict[str, Any]], images: list[dict[str, Any]]) -> None:
    for rule in images:
        for obj in objects:
            for container in containers(obj):
                if _image_name(container["image"]) != rule["name"]:
                    continue
                name = rule.get("newName", rule["name"])
                if "digest" in rule:
                    container["image"] = f"{name}@{rule['digest']}"
                elif "newTag" in rule:
                    container["image"] = f"{name}:{rule['newTag']}"
                else:
                    old = container["image"]
                    container["image"] = name + old[len(_image_name(old)) :]


def _apply_replicas(objects: list[dict[str, Any]], replicas: list[dict[str, Any]]) -> None:
    for rule in replicas:
        matched = [
            o
            for o in objects
            if o["metadata"]["name"] == rule["name"] and o["kind"] in {"Deployment", "StatefulSet", "ReplicaSet"}
        ]
        if not matched:
            raise KustomizeError(f"replicas: no workload named {rule['name']}")
        for obj in matched:
            obj["spec"]["replicas"] = int(rule["count"])


def render(directory: Path | str) -> list[dict[str, Any]]:
    """The objects of the kustomization in `directory`, transformed like `kubectl kustomize` would."""
    directory = Path(directory)
    kustomization = yaml.safe_load(_kustomization_file(directory).read_text()) or {}
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            objects.extend(render(target))
        elif target.is_file():
            objects.extend(_load_documents(target))
        else:
            raise KustomizeError(f"{directory}: resource {entry} not found")
    objects = copy.deepcopy(objects)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    _apply_images(objects, kustomization.get("images", []))
    _apply_replicas(objects, kustomization.get("replicas", []))
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if key in seen:
            raise KustomizeError(f"duplicate object {key}")
        seen.add(key)
    return objects


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    yaml.safe_dump_all(render(argv[1]), sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

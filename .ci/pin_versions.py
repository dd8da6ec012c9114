"""Write constraints.txt: the installed versions of labeler's extras and all they pull in.

Run from the project root after a green `.ci/run` with fresh installs (see README,
"Refreshing the pinned versions").
"""

import re
from importlib.metadata import PackageNotFoundError, distribution

from packaging.markers import default_environment
from packaging.requirements import Requirement

EXTRAS = {"dev", "scale", "parquet", "client", "huggingface"}
HEADER = '# What passed CI, pinned. Refresh: see README, "Refreshing the pinned versions".\n'


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure() -> dict[str, str]:
    """Name -> installed version of every distribution labeler[EXTRAS] requires."""
    seen: dict[str, tuple[str, set[str]]] = {}
    todo = [("labeler", set(EXTRAS))]
    while todo:
        name, extras = todo.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:  # an extra not installed here: nothing to pin
            continue
        key = normalise(dist.metadata["Name"])
        if key in seen and extras <= seen[key][1]:
            continue
        seen[key] = (dist.version, seen.get(key, ("", set()))[1] | extras)
        environments = [dict(default_environment(), extra=e) for e in extras | {""}]
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate(env) for env in environments):
                todo.append((requirement.name, set(requirement.extras)))
    seen.pop("labeler", None)
    return {name: version for name, (version, _) in seen.items()}


if __name__ == "__main__":
    pins = installed_closure()
    with open("constraints.txt", "w") as out:
        out.write(HEADER + "".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    print(f"{len(pins)} pins written to constraints.txt")

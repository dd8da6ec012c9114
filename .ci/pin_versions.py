"""Write constraints.txt: the installed versions of labeler[dev,scale,parquet] and all they pull in.

Run from the project root after a green `.ci/run` with fresh installs (see README)."""
import re
from importlib.metadata import distribution, PackageNotFoundError
from packaging.requirements import Requirement
from packaging.markers import default_environment
def norm(n): return re.sub(r"[-_.]+","-",n).lower()
seen={}
todo=[("labeler",{"dev","scale","parquet"})]
while todo:
    name,extras=todo.pop()
    try: d=distribution(name)
    except PackageNotFoundError: continue
    key=norm(d.metadata["Name"])
    if key in seen and extras<=seen[key][1]: continue
    prev=seen.get(key,(None,set()))[1]
    seen[key]=(d.version,prev|extras)
    for r in d.requires or []:
        req=Requirement(r)
        ok=False
        envs=[dict(default_environment(),extra=e) for e in (extras|{""})]
        if req.marker is None: ok=True
        else: ok=any(req.marker.evaluate(e) for e in envs)
        if ok: todo.append((req.name,set(req.extras)))
seen.pop("labeler")
lines=[f"{n}=={v}" for n,(v,_) in sorted(seen.items())]
open("constraints.txt","w").write("# What passed CI, pinned. Refresh: see README, \"Refreshing the pinned versions\".\n"+"\n".join(lines)+"\n")
print(len(lines))

"""The simulation loop: set up a project over the API, label to a budget, measure.

1. Create the project, its simulated annotators (users, memberships, tokens) and
   import the items without their truth.
2. Label the test split first (``test_labels="upfront"``), by the same simulated
   crowd, so every model version is scored on the same items; or leave test items
   to the queue, which mixes them in at the test fraction (``"queue"``).
3. Label train items in rounds of ``retrain_every`` x k annotations through
   ``/next`` and ``/annotation``. The server starts training by itself
   (``retrain_every``); after each round the loop waits for that job, or asks for
   one (``POST /train``) when the server's counter fell short, so every round
   ends with a model.
4. After each new model version: its test metrics (``GET /models``), the
   consensus accuracy against the truth (final labels from the export), and the
   agreement figures with estimated annotator accuracies.
5. At the end, with k > 1, switch the project to Dawid-Skene (``PATCH``), wait for
   its consensus job and score those final labels against the truth too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from labeler.core.kinds import kind_for
from labeler.simulate.annotators import SimulatedAnnotator
from labeler.simulate.client import ApiError, Client
from labeler.simulate.datasets import Dataset
from labeler.simulate.results import Checkpoint, Result, Settings, annotator_table, figure_value

__all__ = ["Checkpoint", "Result", "Settings", "Simulation", "annotator_table", "simulate"]

Progress = Callable[[int, str], None]  # (annotations added, message)


class Simulation:
    def __init__(
        self,
        admin: Client,
        data: Dataset,
        annotators: list[SimulatedAnnotator],
        settings: Settings,
        progress: Progress | None = None,
        name: str | None = None,
    ) -> None:
        self.admin, self.data, self.crowd, self.settings = admin, data, annotators, settings
        self.kind = kind_for(data.task_kind)
        self.progress = progress or (lambda n, message: None)
        self.name = (
            name
            or f"sim {data.name} {settings.strategy} seed {settings.seed} {uuid.uuid4().hex[:6]}"
        )
        self.clients: dict[str, Client] = {}
        self.started = time.monotonic()
        self.project_id = 0
        self.seen_versions: set[int] = set()

    # --- setup ---------------------------------------------------------------------

    def setup(self) -> Result:
        s = self.settings
        if s.annotations_per_item > len(self.crowd):
            raise ValueError(f"k={s.annotations_per_item} needs at least that many annotators")
        project = self.admin.post(
            "/projects",
            {
                "name": self.name,
                "labels": [{"name": label} for label in self.data.labels],
                "guidelines": f"Simulated labeling of {self.data.name}.",
                "annotations_per_item": s.annotations_per_item,
                "test_fraction": s.test_fraction,
                "task_kind": self.data.task_kind,
                "task_settings": self.data.task_settings,
                "label_scale": self.data.label_scale,
            },
        )
        self.project_id = project["id"]
        settings: dict[str, Any] = {
            "sampling_strategy": s.strategy,
            "retrain_every": s.retrain_every,
        }
        for name in ("estimator", "min_labels_per_class", "random_share"):
            if getattr(s, name) is not None:
                settings[name] = getattr(s, name)
        self.admin.patch(f"/projects/{self.project_id}", settings)
        for annotator in self.crowd:
            self._enrol(annotator)
        self._import()
        return Result(self.project_id, self.name, asdict(s), self.data.name, self.data.task_kind)

    def _enrol(self, annotator: SimulatedAnnotator) -> None:
        username = f"{annotator.name}-p{self.project_id}"
        user = self.admin.post("/users", {"username": username, "role": "annotator"})
        self.admin.post(
            f"/projects/{self.project_id}/members", {"user_id": user["id"], "role": "annotator"}
        )
        token = self.admin.post(f"/users/{user['id']}/tokens", {"name": "simulate", "days": 2})
        annotator.user_id, annotator.token = user["id"], token["token"]
        self.clients[annotator.name] = self.admin.as_user(token["token"])

    def _import(self, chunk: int = 2000) -> None:
        rows = [{**row, "id": self.salted(row["id"])} for row in self.data.rows()]
        for start in range(0, len(rows), chunk):
            self.admin.post(
                f"/projects/{self.project_id}/items",
                {"mapping": self.data.mapping, "items": rows[start : start + chunk]},
            )

    def salted(self, external_id: str) -> str:
        """Ids carry the seed: the server's split and cold-start order hash the id, so
        each seed gets its own test split and order (strategies on one seed share them)."""
        return f"s{self.settings.seed}-{external_id}"

    def truth(self, external_id: str) -> Any:
        return self.data.truth[external_id.split("-", 1)[1]]

    def is_right(self, external_id: str, final: Any) -> bool:
        """Whether an exported final answer is the truth (a whole set; the exact point)."""
        return self.kind.key(self.truth(external_id)) == self.kind.key(final)

    # --- labeling ------------------------------------------------------------------

    def _submit(self, annotator: SimulatedAnnotator, item: dict[str, Any]) -> bool:
        """One label; False when the item was already full (a lease had expired)."""
        label = annotator.answer(item["external_id"], self.truth(item["external_id"]))
        try:
            self.clients[annotator.name].post(
                f"/projects/{self.project_id}/items/{item['id']}/annotation",
                {"value": label, "seconds": 1.0},
            )
        except ApiError as exc:
            if exc.status != 409:
                raise
            return False
        return True

    def label_test_split(self) -> int:
        """Each test item labeled by k annotators (round-robin); returns annotations.

        The server labels only what it served to an annotator, and it serves test items
        mixed into the queue; to have the whole test split labeled before the first
        round, the admin imports those labels with each annotator's name.
        """
        k, n = self.settings.annotations_per_item, len(self.crowd)
        rows = {self.salted(row["id"]): row for row in self.data.rows()}
        labeled = []
        for position, item in enumerate(self.admin.items(self.project_id, split="test")):
            external_id = item["external_id"]
            for j in range(k):
                annotator = self.crowd[(position + j) % n]
                label = annotator.answer(external_id, self.truth(external_id))
                labeled.append(
                    {
                        **rows[external_id],
                        "id": external_id,
                        "_label": label,
                        "_annotator": f"{annotator.name}-p{self.project_id}",
                    }
                )
        mapping = {**self.data.mapping, "label": "_label", "annotator": "_annotator"}
        done = 0
        for start in range(0, len(labeled), 2000):
            report = self.admin.post(
                f"/projects/{self.project_id}/items",
                {"mapping": mapping, "items": labeled[start : start + 2000]},
            )
            done += report["annotations_added"]
            self.progress(0, f"test split: {start + len(labeled[start : start + 2000])} labels")
        return done

    def label_round(self, target: int) -> int:
        """Annotators take turns asking ``/next`` for a batch until ``target`` labels."""
        done = 0
        while done < target:
            active = [a for a in self.crowd if not a.exhausted]
            if not active:
                break
            for annotator in active:
                client = self.clients[annotator.name]
                items = client.get(f"/projects/{self.project_id}/next", n=self.settings.batch)[
                    "items"
                ]
                if not items:
                    annotator.exhausted = True
                for item in items[: target - done]:
                    added = self._submit(annotator, item)
                    done += added
                    self.progress(added, "labeling")
                if done >= target:
                    break
        return done

    # --- training and measuring ----------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        return self.admin.get(f"/projects/{self.project_id}/models")["models"]

    def wait_for_training(self, known: int) -> list[dict[str, Any]]:
        """Wait for the training the server started, or start one; the versions after."""
        versions = self.models()
        training = [v for v in versions if v["status"] == "training" and v.get("job_id")]
        if training:
            self.admin.wait_for_job(training[-1]["job_id"])
        elif len(versions) <= known:
            try:
                job = self.admin.post(f"/projects/{self.project_id}/train")
            except ApiError as exc:
                if exc.status != 409:  # 409: too few labels per class yet
                    raise
            else:
                self.admin.wait_for_job(job["id"])
        return self.models()

    def train_on_everything(self, result: Result, annotations: int) -> None:
        """A last version on every final train label, if the newest one lags behind."""
        rows = self.admin.export_items(self.project_id)
        final = sum(
            1 for r in rows if r.get("final_label") is not None and r.get("split") == "train"
        )
        evaluated = [c.training_labels for c in result.checkpoints]
        if evaluated and max(evaluated) >= final:
            return
        try:
            job = self.admin.post(f"/projects/{self.project_id}/train")
        except ApiError as exc:
            if exc.status != 409:
                raise
            return
        self.admin.wait_for_job(job["id"])
        self.measure(result, self.models(), annotations)

    def measure(self, result: Result, versions: list[dict[str, Any]], annotations: int) -> None:
        """A checkpoint for each new, evaluated version."""
        new = [
            v
            for v in versions
            if v["id"] not in self.seen_versions and v["status"] not in ("training", "failed")
        ]
        for version in versions:
            if version["status"] == "failed" and version["id"] not in self.seen_versions:
                result.notes.append(f"version {version['id']} failed: {version['error']}")
            if version["status"] != "training":
                self.seen_versions.add(version["id"])
        if not new:
            return
        consensus = self.consensus_accuracy()
        figures = self.agreement() if self.settings.annotations_per_item > 1 else {}
        for version in new:
            result.checkpoints.append(
                Checkpoint(
                    version["id"],
                    version["status"],
                    version["n_labels"],
                    annotations,
                    version.get("n_test"),
                    version.get("accuracy"),
                    version.get("macro_f1"),
                    consensus["accuracy"],
                    consensus["n_final"],
                    consensus["n_disputed"],
                    figure_value(figures, "alpha"),
                    figure_value(figures, "fleiss"),
                    figure_value(figures, "percent"),
                    round(time.monotonic() - self.started, 2),
                    self.kind.headline_metric,
                    self.headline(version),
                )
            )

    def headline(self, version: dict[str, Any]) -> float | None:
        """The version's value of its kind's headline metric (the list holds only
        single-label figures; others come from the version's own page)."""
        metric = self.kind.headline_metric
        if metric in version:
            return version[metric]
        detail = self.admin.get(f"/projects/{self.project_id}/models/{version['id']}")
        return (detail.get("metrics") or {}).get(metric)

    def consensus_accuracy(self) -> dict[str, Any]:
        """Final labels (from the export) against the truth, over items that have one."""
        rows = self.admin.export_items(self.project_id)
        final = [
            (r["external_id"], r["final_label"]) for r in rows if r.get("final_label") is not None
        ]
        right = sum(self.is_right(i, label) for i, label in final)
        labeled = sum(1 for r in rows if r.get("n_annotations"))
        return {
            "accuracy": right / len(final) if final else None,
            "n_final": len(final),
            "n_disputed": labeled - len(final),
            # undecided items count as misses: the share of labeled items made right
            "accuracy_of_labeled": right / labeled if labeled else None,
            "by": sorted(
                {str(r.get("decided_by")) for r in rows if r.get("final_label") is not None}
            ),
        }

    def agreement(self) -> dict[str, Any]:
        figures = self.admin.get(f"/projects/{self.project_id}/agreement")["figures"]
        return figures or {}

    def dawid_skene(self, result: Result) -> None:
        """Refit consensus with Dawid-Skene on the server and score it against the truth."""
        majority = self.consensus_accuracy()
        estimates: dict[int, float | None] = {}
        for attempt in range(3):  # a failed job (e.g. a busy SQLite) is tried again
            if attempt:
                self.admin.patch(f"/projects/{self.project_id}", {"consensus_method": "majority"})
            answer = self.admin.patch(
                f"/projects/{self.project_id}", {"consensus_method": "dawid_skene"}
            )
            done = {"status": "done"}
            for job in answer["jobs"]:
                done = self.admin.wait_for_job(job["id"], poll=2.0)
                if done["status"] != "done":
                    result.notes.append(f"Dawid-Skene job {job['id']} failed: {done['error']}")
                for row in (done.get("result") or {}).get("annotators", []):
                    estimates[row["user_id"]] = row.get("dawid_skene")
            if done["status"] == "done":
                break
        ds = self.consensus_accuracy()
        result.consensus = {"majority": majority, "dawid_skene": ds}
        for row in result.annotators:
            row["dawid_skene_consensus_job"] = estimates.get(row["user_id"])


def simulate(
    admin: Client,
    data: Dataset,
    crowd: list[SimulatedAnnotator],
    settings: Settings,
    progress: Progress | None = None,
) -> Result:
    """Run one simulation to its budget (or until the pool runs out); see the module doc."""
    sim = Simulation(admin, data, crowd, settings, progress)
    result = sim.setup()
    if settings.test_labels == "upfront":
        result.test_annotations = sim.label_test_split()
    annotations, step = 0, settings.retrain_every * settings.annotations_per_item
    while annotations < settings.budget:
        added = sim.label_round(min(step, settings.budget - annotations))
        annotations += added
        known = len(sim.seen_versions)
        sim.measure(result, sim.wait_for_training(known), annotations)
        if added == 0:
            result.notes.append(f"the pool ran out after {annotations} labels")
            break
    sim.train_on_everything(result, annotations)
    result.train_annotations = annotations
    figures = sim.agreement() if settings.annotations_per_item > 1 else {}
    result.annotators = annotator_table(crowd, figures)
    if settings.annotations_per_item > 1 and "dawid_skene" in sim.kind.consensus_methods():
        sim.dawid_skene(result)
    elif settings.annotations_per_item > 1:
        result.consensus = {"majority": sim.consensus_accuracy()}
        result.notes.append(f"{data.task_kind} offers no Dawid-Skene consensus")
    else:
        result.consensus = {"majority": sim.consensus_accuracy()}
        result.notes.append("k = 1: one label per item, so no agreement or Dawid-Skene")
    result.wall_seconds = round(time.monotonic() - sim.started, 2)
    result.requests = admin.requests + sum(c.requests for c in sim.clients.values())
    return result

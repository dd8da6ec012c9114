"""``labeler simulate``: measure the loop on a running server with simulated annotators.

    labeler simulate --server URL --token ADMIN_TOKEN --data sms-spam.csv \\
        --text-column text --label-column spam --annotators 3 --accuracy 0.9 --k 3
    labeler simulate compare --digits --strategies random,margin --seeds 3 ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd

from labeler.core.kinds import KINDS, KindContext, kind_for
from labeler.core.sampling import STRATEGIES as LABEL_STRATEGIES
from labeler.simulate.span_annotators import SpanAnnotator, find_entities, mixed_annotators
from labeler.simulate.span_run import consensus_scores, read_conll_file, simulate_votes

#: Every queue strategy of the kinds the loop simulates (the server refuses one its
#: project's kind does not offer, naming those it does).
STRATEGIES = tuple(
    dict.fromkeys(
        [*LABEL_STRATEGIES, *(s for k in ("multi_label", "rating") for s in KINDS[k].strategies())]
    )
)


def _floats(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[float]:
    try:
        return [float(v) for text in value for v in text.split(",") if v.strip()] or [0.9]
    except ValueError:
        raise click.BadParameter("give numbers like 0.9 or 0.9,0.8,0.7") from None


def _noise(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[float]:
    return _floats(ctx, param, value) if value else []


def common_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--server", default="http://127.0.0.1:5000", show_default=True),
        click.option("--token", envvar="LABELER_TOKEN", help="An admin's API token."),
        click.option(
            "--data",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A labeled CSV (.csv, .csv.bz2, .csv.gz).",
        ),
        click.option("--digits", is_flag=True, help="scikit-learn's digits instead of --data."),
        click.option("--text-column", default="text", show_default=True),
        click.option(
            "--label-column",
            default="label",
            show_default=True,
            help="The truth: used to simulate answers and score, never sent.",
        ),
        click.option("--only-labels", default="", help="Keep rows with these labels (a,b)."),
        click.option("--max-items", type=int, help="A seeded sample of this many rows."),
        click.option("--annotators", default=3, show_default=True),
        click.option(
            "--accuracy",
            multiple=True,
            callback=_floats,
            help="Per annotator, recycled: 0.9 or 0.95,0.85,0.7 [0.9].",
        ),
        click.option(
            "--confusion",
            type=click.Path(exists=True, path_type=Path),
            help="JSON confusion matrix (or a list of them) instead of --accuracy.",
        ),
        click.option(
            "--kind",
            "task_kind",
            type=click.Choice(["single_label", "multi_label", "rating"]),
            default="single_label",
            show_default=True,
            help="The project's task kind: --label-column holds a label, a set of labels "
            "joined by --label-separator, or a number on the scale.",
        ),
        click.option("--label-separator", default="|", show_default=True),
        click.option(
            "--noise",
            multiple=True,
            callback=_noise,
            help="multi_label: each label's flip chance; rating: the noise in scale points "
            "(per annotator, recycled) [0.1 / 0.5].",
        ),
        click.option("--k", "k", default=1, show_default=True, help="Annotations per item."),
        click.option(
            "--budget",
            default=500,
            show_default=True,
            help="Annotations in the loop (the test split's come on top).",
        ),
        click.option("--batch", default=5, show_default=True, help="Items per /next call."),
        click.option("--retrain-every", default=50, show_default=True),
        click.option("--test-fraction", default=0.2, show_default=True),
        click.option(
            "--test-labels",
            type=click.Choice(["upfront", "queue"]),
            default="upfront",
            show_default=True,
            help="Label the test split first, or as the queue mixes it in.",
        ),
        click.option("--estimator", default=None, help="The project's estimator."),
        click.option(
            "--min-labels-per-class",
            type=int,
            default=None,
            help="Cold start: random order until each label has this many.",
        ),
        click.option(
            "--random-share",
            type=float,
            default=None,
            help="Share of picks kept random once a model ranks the pool.",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            help="Report folder [simulations/<data>-<strategy>-seed<seed>].",
        ),
    ]
    return functools.reduce(lambda f, option: option(f), reversed(options), function)


def _dataset(options: dict[str, Any], seed: int):
    from labeler.simulate import datasets, kind_setup

    if options["digits"]:
        return datasets.digits(options["max_items"], seed=0)
    if options["data"] is None:
        raise click.UsageError("give --data FILE.csv or --digits")
    if options["task_kind"] in kind_setup.LOADERS:
        return kind_setup.LOADERS[options["task_kind"]](options)
    only = [v for v in options["only_labels"].split(",") if v]
    return datasets.from_csv(
        options["data"],
        options["text_column"],
        options["label_column"],
        only or None,
        options["max_items"],
        seed=0,
    )


def _run(options: dict[str, Any], strategy: str, seed: int, out: Path | None) -> dict[str, Any]:
    from labeler.simulate import kind_setup, report
    from labeler.simulate.client import Client
    from labeler.simulate.run import Settings, simulate

    if not options["token"]:
        raise click.UsageError("give --token (an admin's API token) or set LABELER_TOKEN")
    data = _dataset(options, seed)
    crowd = kind_setup.CROWDS[data.task_kind](options, data, seed)
    settings = Settings(
        options["k"],
        strategy,
        options["budget"],
        options["batch"],
        options["retrain_every"],
        seed,
        options["test_fraction"],
        options["test_labels"],
        options["estimator"],
        options["min_labels_per_class"],
        options["random_share"],
    )
    click.echo(
        f"{data.name}: {len(data.frame):,} items, labels {data.labels}; "
        f"{strategy}, seed {seed}, k={settings.annotations_per_item}"
    )
    with click.progressbar(length=settings.budget, label="labeling") as bar:
        result = simulate(
            Client(options["server"], options["token"]),
            data,
            crowd,
            settings,
            lambda added, message: bar.update(added),
        )
    payload = result.as_dict()
    folder = out or Path("simulations") / f"{data.name}-{strategy}-seed{seed}"
    path = report.write_report(payload, folder)
    last = result.checkpoints[-1] if result.checkpoints else None
    click.echo(
        f"  {len(result.checkpoints)} model versions; last: "
        + (f"{last.training_labels} training labels, accuracy {last.accuracy}" if last else "none")
        + f"; {result.wall_seconds:.1f} s; report: {path}"
    )
    return payload


@click.group("simulate", invoke_without_command=True)
@common_options
@click.option("--strategy", type=click.Choice(STRATEGIES), default="margin", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.pass_context
def simulate_command(ctx: click.Context, strategy: str, seed: int, **options: Any) -> None:
    """Run labeling on a live server through its API with simulated annotators, and
    write a report (HTML, JSON, CSV). ``compare`` runs several strategies x seeds."""
    if ctx.invoked_subcommand is None:
        _run(options, strategy, seed, options["out"])


@simulate_command.command("compare")
@common_options
@click.option(
    "--strategies", default="random,least_confident,margin,entropy,committee", show_default=True
)
@click.option("--seeds", default=3, show_default=True, help="Seeds 0..N-1 per strategy.")
def compare_command(strategies: str, seeds: int, **options: Any) -> None:
    """Each strategy x seed as its own project; curves with their spread, and the labels
    needed to reach 95% / 99% of the full-data model's accuracy."""
    from labeler.simulate import compare
    from labeler.simulate.client import Client

    chosen = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STRATEGIES))
    if unknown:
        raise click.BadParameter(f"unknown strategies {unknown}; choose from {STRATEGIES}")
    data = _dataset(options, 0)
    out = options["out"] or Path("simulations") / f"compare-{data.name}"
    projects: dict[int, int] = {}  # seed -> a project with that seed's split

    def run_one(strategy: str, seed: int) -> dict[str, Any]:
        payload = _run(options, strategy, seed, out / f"{strategy}-seed{seed}")
        projects.setdefault(seed, payload["project_id"])
        return payload

    runs = compare.compare(run_one, chosen, range(seeds))
    admin = Client(options["server"], options["token"])
    estimator = options["estimator"] or "logistic_regression"
    reference = compare.mean_reference(
        [compare.full_data_model(admin, project, data, estimator) for project in projects.values()]
    )
    path = compare.write_comparison(
        runs, reference, out, options["retrain_every"], f"{data.name}, k={options['k']}"
    )
    for row in compare.summarise(runs, compare.reference_accuracy(reference)):
        click.echo("  " + ", ".join(f"{k}: {v}" for k, v in row.items()))
    click.echo(f"comparison: {path}")


@simulate_command.command("pairwise")
@click.option("--systems", "n_systems", default=8, show_default=True, help="Systems to rank.")
@click.option("--spread", default=2.0, show_default=True, help="True log-strength range.")
@click.option("--items", "n_items", default=1000, show_default=True, help="Pairs judged.")
@click.option("--k", "k", default=3, show_default=True, help="Votes per pair.")
@click.option("--annotators", default=5, show_default=True)
@click.option("--accuracy", multiple=True, callback=_floats, help="Per annotator, recycled.")
@click.option(
    "--bias",
    multiple=True,
    callback=lambda ctx, param, value: _floats(ctx, param, value or ("0",)),
    help="Per annotator, recycled: share of votes for the left side regardless [0].",
)
@click.option("--stronger-as-a", is_flag=True, help="Put the stronger system in slot A.")
@click.option("--seed", default=0, show_default=True)
def pairwise_command(
    n_systems: int,
    spread: float,
    n_items: int,
    k: int,
    annotators: int,
    accuracy: list[float],
    bias: list[float],
    stronger_as_a: bool,
    seed: int,
) -> None:
    """Simulate pairwise judging offline (systems of known strength, annotators of set
    accuracy and position bias) and print how well labeler recovers the truth: Kendall's
    tau of the ranking from majority and Dawid-Skene consensus, and each annotator's
    side habit and preference share, raw and corrected."""
    from labeler.core import position_bias
    from labeler.core import preference_simulation as sim

    strengths = sim.systems(n_systems, spread)
    people = [
        sim.Annotator(f"annotator-{i + 1}", accuracy[i % len(accuracy)], bias[i % len(bias)])
        for i in range(annotators)
    ]
    items, votes = sim.simulate(strengths, people, n_items, k, seed, stronger_as_a)
    click.echo(f"{n_systems} systems, {n_items} pairs x {k} votes = {len(votes)} votes")
    for method in ("majority", "dawid_skene"):
        tau = sim.kendall_tau(strengths, sim.recovered_ranking(items, votes, method))
        click.echo(f"Kendall's tau, {method} consensus -> Bradley-Terry: {tau:.3f}")
    report = position_bias.report(votes).set_index("annotator")
    click.echo("annotator      accuracy  bias  est.bias  A share  corrected  judged (true)")
    for person in people:
        judged = sim.judged_a_share(items, votes, person)
        row = report.loc[person.name]
        corrected = row["a_share_corrected"]
        click.echo(
            f"{person.name:<14} {person.accuracy:8.2f} {person.bias:5.2f} {row['bias']:9.2f}"
            f" {row['a_share']:8.3f} {'-' if corrected is None else f'{corrected:10.3f}'}"
            f" {judged:14.3f}"
        )


@simulate_command.command("spans")
@click.option(
    "--conll",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Texts and true spans as CoNLL (token, tag per line).",
)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV of short messages; phones, URLs, prices and times are the truth.",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--max-items", type=int, default=2000, show_default=True)
@click.option(
    "--annotator",
    "rates",
    multiple=True,
    help="miss,shift,mislabel rates of one annotator, e.g. 0.1,0.2,0.05 (repeat per "
    "annotator) [careful, average and careless].",
)
@click.option("--seed", default=0, show_default=True)
def spans_command(
    conll: Path | None,
    data: Path | None,
    text_column: str,
    max_items: int,
    rates: tuple[str, ...],
    seed: int,
) -> None:
    """Span annotators that miss, shift and mislabel at set rates: agreement, and each
    consensus method's span F1 against the truth (offline, no server)."""
    if conll is not None:
        corpus = read_conll_file(conll)[:max_items]
    elif data is not None:
        texts = pd.read_csv(data)[text_column].dropna().astype(str)
        corpus = [(t, find_entities(t)) for t in texts[:max_items]]
    else:
        raise click.UsageError("give --conll or --data")
    try:
        annotators = [
            SpanAnnotator(f"annotator{i + 1}", *(float(x) for x in text.split(",")))
            for i, text in enumerate(rates)
        ] or mixed_annotators()
    except (TypeError, ValueError):
        raise click.BadParameter(
            "give three rates like 0.1,0.2,0.05", param_hint="--annotator"
        ) from None
    labels = sorted({s["label"] for _, spans in corpus for s in spans})
    votes = simulate_votes(corpus, annotators, labels, seed=seed)
    kind = kind_for("spans")
    context = KindContext(labels=tuple(labels), settings=kind.validate_settings({}, labels))
    click.echo(f"{len(corpus)} texts, {len(annotators)} annotators, labels {', '.join(labels)}")
    for figure in kind.agreement(votes, context):
        value = "n/a" if figure.value is None else f"{figure.value:.3f}"
        click.echo(f"  {figure.name}: {value}  ({figure.how_to_read})")
    truth = [spans for _, spans in corpus]
    for method, f1 in consensus_scores(votes, truth, labels).items():
        click.echo(f"  consensus {method}: span F1 vs truth {f1:.3f}")
    human = kind.human_level(votes, context)
    for row in human["per_annotator"]:
        click.echo(f"  {row['annotator']}: span F1 vs the others' vote {row['span_f1']:.3f}")

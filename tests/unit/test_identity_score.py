"""Pairwise precision/recall from contingency counts, checked against counting every pair."""

from __future__ import annotations

import itertools
import random

import pytest

from streams.identity.score import linkable_truth, pairwise_scores


def brute_force(predicted: dict[str, str], truth: dict[str, str]) -> tuple[int, int, int]:
    keys = sorted(predicted.keys() & truth.keys())
    tp = pp = tt = 0
    for a, b in itertools.combinations(keys, 2):
        same_pred, same_true = predicted[a] == predicted[b], truth[a] == truth[b]
        tp += same_pred and same_true
        pp += same_pred
        tt += same_true
    return tp, pp, tt


@pytest.mark.parametrize("seed", range(8))
def test_counts_match_enumerating_every_pair(seed: int) -> None:
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(rng.randrange(2, 80))]
    truth = {k: f"t{rng.randrange(12)}" for k in keys}
    predicted = {k: f"p{rng.randrange(9)}" for k in keys if rng.random() < 0.9}
    predicted["only-predicted"] = "p0"
    scores = pairwise_scores(predicted, truth)
    tp, pp, tt = brute_force(predicted, truth)
    assert (scores.true_positive_pairs, scores.predicted_pairs, scores.true_pairs) == (tp, pp, tt)
    assert scores.precision == pytest.approx(tp / pp if pp else 1.0)
    assert scores.recall == pytest.approx(tp / tt if tt else 1.0)


def test_perfect_and_all_in_one() -> None:
    truth = {"a": "x", "b": "x", "c": "y", "d": "y"}
    assert pairwise_scores(truth, truth).precision == pairwise_scores(truth, truth).recall == 1.0
    glued = pairwise_scores(dict.fromkeys(truth, "p"), truth)
    assert (glued.precision, glued.recall) == (2 / 6, 1.0)


def test_unpredicted_keys_of_the_universe_count_as_singletons() -> None:
    truth = {"a": "x", "b": "x", "c": "x"}
    scores = pairwise_scores({"a": "p", "b": "p"}, truth, universe=["a", "b", "c", "not-in-truth"])
    assert (scores.true_positive_pairs, scores.true_pairs, scores.identifiers) == (1, 3, 3)


def test_linkable_truth_splits_a_person_into_what_events_connect() -> None:
    truth = {"cookie:1": "P1", "customer_id:1": "P1", "hashed_phone:1": "P1", "customer_id:2": "P2"}
    events = [
        ["cookie:1", "customer_id:1"],
        ["hashed_phone:1"],
        ["device:tablet", "customer_id:1"],
        ["device:tablet", "customer_id:2"],  # the shared tablet links nobody
        ["customer_id:2", "cookie:1"],  # different persons on one event: not a link either
    ]
    labels = linkable_truth(truth, events)
    assert labels["cookie:1"] == labels["customer_id:1"] != labels["hashed_phone:1"]
    assert len({labels["customer_id:1"], labels["customer_id:2"], labels["hashed_phone:1"]}) == 3
    assert "device:tablet" not in labels

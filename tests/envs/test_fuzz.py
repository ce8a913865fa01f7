"""Hypothesis fuzz of configs and actions for every registered id (single and native vector env).

Asserts only the guarantee of issue 15: ``gym.make`` either accepts a config or raises a clean
``ValueError`` / ``TypeError`` naming a fuzzed field; with an accepted config, every finite action is
accepted and yields finite observations, rewards, costs and metrics inside the documented ranges,
and every bad action raises ``ValueError``. The default run covers >= 2,000 examples
(``FAST_EXAMPLES`` per id, deterministic: ``derandomize=True`` with a fixed seed per id); ``-m slow`` runs >= 20,000.
Outcome counts per id: ``python benchmarks/fuzz_counts.py --examples N``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.envs.fuzz_harness import ENV_IDS, example_strategy, fuzz_seed, run_example

#: examples per id in the default run (5 ids -> 2,500)
FAST_EXAMPLES = 500
#: examples per id in the slow run (5 ids -> 20,000)
SLOW_EXAMPLES = 4000


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _fuzz(env_id: str, n: int) -> int:
    count = 0

    @seed(fuzz_seed(env_id))
    @_settings(n)
    @given(example_strategy(env_id))
    def check(example):
        nonlocal count
        count += 1
        kwargs, vector, plan = example
        outcome, detail = run_example(env_id, kwargs, vector, plan)
        assert outcome != "other", f"{env_id} kwargs={kwargs!r} vector={vector} plan={plan}: {detail}"

    check()
    return count


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzz_configs_and_actions(env_id):
    # hypothesis may stop early only if it exhausts the strategy space, which it cannot here
    assert _fuzz(env_id, FAST_EXAMPLES) == FAST_EXAMPLES


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzz_configs_and_actions_slow(env_id):
    assert _fuzz(env_id, SLOW_EXAMPLES) == SLOW_EXAMPLES

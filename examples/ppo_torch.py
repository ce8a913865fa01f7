"""PPO on the torch vector env, tensors end to end (a CleanRL-style single-file script).

The environment steps on the same device as the policy: ``gym.make_vec(id, num_envs=B,
backend="torch", device=..., dtype=torch.complex64)`` takes the action tensor and returns the
observation, reward, truncation and info tensors on that device, so a rollout never copies through
NumPy and never waits for the host (the script reads the device once per iteration, to print).

Usage::

    python examples/ppo_torch.py                                   # RydbergISAC-v0, Table I, CPU
    python examples/ppo_torch.py --device cuda --num-envs 1024     # on a GPU
    python examples/ppo_torch.py --env-id isac_env/RydbergISAC-Discrete-v0  # Dict action
    python examples/ppo_torch.py --total-steps 2048 --num-envs 8 --num-steps 16 \\
        --set num_users=2 --set num_cells=4 --set num_ris=8 --set num_bs_antennas=4   # seconds

Each iteration prints the mean sum rate (RydbergISAC; the mean transmit power in dBm for
RobustISAC) and the CRB feasibility (the fraction of steps with ``info["feasible"]``, i.e. zero
constraint cost) over that iteration's rollout.

Policy: a Gaussian for the Box part of the action (the precoder, and the continuous phases
where the id has them) and, for ids whose phases are ``MultiDiscrete`` (``*-Discrete-v0``,
``RobustISAC-v0``), one categorical per RIS element; the log-probability is the sum. Actions are
passed unclipped: the env's decode is scale-invariant in ``W`` and 2-periodic in the phases, so any
finite value is valid. Rewards are divided by a running standard deviation of the discounted return
(CleanRL's ``NormalizeReward``, here on the device).

Adapter note (why this route): the torch vector env already is the adapter a GPU training loop
needs: tensors in and out, autoreset inside, Gymnasium's ``VectorEnv`` API and spaces. A
CleanRL-style loop consumes it directly, in one readable file, with no extra dependency. TorchRL's
``EnvBase`` would add ``TensorDict`` specs and a wrapper class to maintain for the same data path;
torchrl is not a dependency of isac-gym (not installed here), and its ``GymWrapper`` targets single
Gymnasium envs or NumPy vector envs, not a torch-native ``VectorEnv``. SB3 only runs on the NumPy
path (it copies through NumPy every step), which ``gym.make_vec(id)`` still serves.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal

import isac_env  # noqa: F401  (registers the ids)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env-id", default="isac_env/RydbergISAC-v0")
    p.add_argument("--total-steps", type=int, default=500_000, help="environment steps (all sub-envs)")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--num-steps", type=int, default=50, help="rollout length per sub-env")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=["complex64", "complex128"], default="complex64")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--gae-lambda", type=float, default=0.95)
    p.add_argument("--update-epochs", type=int, default=4)
    p.add_argument("--num-minibatches", type=int, default=4)
    p.add_argument("--clip-coef", type=float, default=0.2)
    p.add_argument("--ent-coef", type=float, default=0.0)
    p.add_argument("--vf-coef", type=float, default=0.5)
    p.add_argument("--max-grad-norm", type=float, default=0.5)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--bank-size", type=int, default=0, help="draw resets from a ChannelBank of this size")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="env keyword argument")
    return p.parse_args(argv)


def env_kwargs(pairs: list[str]) -> dict[str, Any]:
    """``--set key=value`` pairs as keyword arguments (ints, floats, then strings)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        out[key] = value
    return out


def layer(n_in: int, n_out: int, std: float = np.sqrt(2)) -> nn.Linear:
    lin = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(lin.weight, std)
    nn.init.zeros_(lin.bias)
    return lin


class Agent(nn.Module):
    """Actor-critic MLP: Gaussian Box part, optional per-element categorical phases."""

    def __init__(self, obs_dim: int, box_dim: int, n_cat: int, n_levels: int, hidden: int) -> None:
        super().__init__()
        self.n_cat, self.n_levels = n_cat, n_levels
        self.critic = nn.Sequential(
            layer(obs_dim, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(), layer(hidden, 1, 1.0)
        )
        self.trunk = nn.Sequential(layer(obs_dim, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh())
        self.mean = layer(hidden, box_dim, 0.01)
        self.logstd = nn.Parameter(torch.full((box_dim,), -0.5))
        self.logits = layer(hidden, n_cat * n_levels, 0.01) if n_cat else None

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def act(
        self, obs: torch.Tensor, box: torch.Tensor | None = None, cat: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample (or score the given) action: ``(box, cat, log_prob, entropy, value)``."""
        h = self.trunk(obs)
        mean = self.mean(h)
        dist = Normal(mean, self.logstd.exp().expand_as(mean))
        box = dist.sample() if box is None else box
        logp, ent = dist.log_prob(box).sum(-1), dist.entropy().sum(-1)
        if self.logits is not None:
            cdist = Categorical(logits=self.logits(h).reshape(*h.shape[:-1], self.n_cat, self.n_levels))
            cat = cdist.sample() if cat is None else cat
            logp = logp + cdist.log_prob(cat).sum(-1)
            ent = ent + cdist.entropy().sum(-1)
        return box, cat, logp, ent, self.value(obs)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    kwargs = env_kwargs(args.set)
    if args.bank_size:
        from isac_env.bank import ChannelBank

        spec_env = gym.make(args.env_id, **kwargs).unwrapped
        kwargs["channel_bank"] = ChannelBank.generate(spec_env.config, args.bank_size, args.seed)
    envs = gym.make_vec(
        args.env_id,
        num_envs=args.num_envs,
        backend="torch",
        device=device,
        dtype=getattr(torch, args.dtype),
        **kwargs,
    )
    space = envs.single_action_space
    dict_action = isinstance(space, gym.spaces.Dict)
    box_dim = space["precoder"].shape[0] if dict_action else space.shape[0]
    n_cat = space["phases"].shape[0] if dict_action else 0
    n_levels = int(space["phases"].nvec[0]) if dict_action else 0
    obs_dim = envs.single_observation_space.shape[0]
    agent = Agent(obs_dim, box_dim, n_cat, n_levels, args.hidden).to(device)
    opt = torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5)

    B, T = args.num_envs, args.num_steps
    batch = B * T
    minibatch = max(1, batch // args.num_minibatches)
    iterations = max(1, args.total_steps // batch)
    obs_buf = torch.zeros((T, B, obs_dim), device=device)
    box_buf = torch.zeros((T, B, box_dim), device=device)
    cat_buf = torch.zeros((T, B, n_cat), dtype=torch.int64, device=device)
    logp_buf, rew_buf, val_buf = (torch.zeros((T, B), device=device) for _ in range(3))
    done_buf = torch.zeros((T, B), device=device)
    # running std of the discounted return (reward scaling), kept on the device
    ret = torch.zeros(B, dtype=torch.float64, device=device)
    ret_stats = torch.tensor([0.0, 0.0, 1e-4], dtype=torch.float64, device=device)  # mean, M2, count

    obs, _ = envs.reset(seed=args.seed)
    done = torch.zeros(B, device=device)
    key = "sum_rate" if "Rydberg" in args.env_id else "power_dbm"
    print(f"{args.env_id}: B={B}, rollout {T}, {iterations} iterations, device {device}, {args.dtype}")
    print(f"{'iter':>5} {'steps':>9} {'SPS':>8} {'reward':>10} {key:>10} {'feasible':>8}")
    t0 = time.perf_counter()
    for it in range(1, iterations + 1):
        stats = torch.zeros(4, dtype=torch.float64, device=device)  # reward, metric, feasible, count
        for step in range(T):
            obs_buf[step], done_buf[step] = obs, done
            with torch.no_grad():
                box, cat, logp, _, value = agent.act(obs)
            box_buf[step], logp_buf[step], val_buf[step] = box, logp, value
            action: Any = box
            if dict_action:
                cat_buf[step] = cat
                action = {"precoder": box, "phases": cat}
            obs, reward, term, trunc, info = envs.step(action)
            done = (term | trunc).float()
            if "metrics" in info:  # rows that reset this step (NEXT_STEP) carry no transition
                m = info["_cost"].double()
                stats += torch.stack(
                    [
                        (reward * m).sum(),
                        (info["metrics"][key] * m).sum(),
                        (info["feasible"] * m).sum(),
                        m.sum(),
                    ]
                )
            # reward scaling: r / std(discounted return), Welford update on the device
            ret = ret * args.gamma * (1.0 - done.double()) + reward.double()
            mean, m2, count = ret_stats
            delta = ret.mean() - mean
            tot = count + B
            new_mean = mean + delta * B / tot
            new_m2 = m2 + ret.var(correction=0) * B + delta**2 * count * B / tot
            ret_stats = torch.stack([new_mean, new_m2, tot])
            rew_buf[step] = (reward / torch.sqrt(new_m2 / tot + 1e-8)).float()

        with torch.no_grad():  # GAE; a truncated episode bootstraps nothing (the horizon is the task's)
            next_value = agent.value(obs)
            adv = torch.zeros_like(rew_buf)
            last = torch.zeros(B, device=device)
            for t in reversed(range(T)):
                nonterminal = 1.0 - (done if t == T - 1 else done_buf[t + 1])
                nv = next_value if t == T - 1 else val_buf[t + 1]
                delta = rew_buf[t] + args.gamma * nv * nonterminal - val_buf[t]
                last = delta + args.gamma * args.gae_lambda * nonterminal * last
                adv[t] = last
            returns = adv + val_buf

        b_obs, b_box, b_cat = (
            obs_buf.reshape(batch, -1),
            box_buf.reshape(batch, -1),
            cat_buf.reshape(batch, -1),
        )
        b_logp, b_adv, b_ret = logp_buf.reshape(-1), adv.reshape(-1), returns.reshape(-1)
        for _ in range(args.update_epochs):
            perm = torch.randperm(batch, device=device)
            for start in range(0, batch, minibatch):
                mb = perm[start : start + minibatch]
                _, _, logp, ent, value = agent.act(b_obs[mb], b_box[mb], b_cat[mb] if dict_action else None)
                ratio = (logp - b_logp[mb]).exp()
                a = b_adv[mb]
                a = (a - a.mean()) / (a.std() + 1e-8)
                pg_loss = torch.max(
                    -a * ratio, -a * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                ).mean()
                v_loss = 0.5 * ((value - b_ret[mb]) ** 2).mean()
                loss = pg_loss - args.ent_coef * ent.mean() + args.vf_coef * v_loss
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                opt.step()

        s = stats.tolist()  # the one device read per iteration
        n = max(s[3], 1.0)
        sps = it * batch / (time.perf_counter() - t0)
        print(f"{it:>5} {it * batch:>9} {sps:>8.0f} {s[0] / n:>10.3f} {s[1] / n:>10.3f} {s[2] / n:>8.3f}")
    envs.close()


if __name__ == "__main__":
    main()

"""Learning-to-optimize (L2O) agent for the Rydberg task: a network trained through the physics.

The agent is a network that maps the environment's observation to a full design ``(W, phi)`` in
one forward pass. It is trained without labels or rewards, by backpropagation through the torch
backend of :mod:`isac_env.physics` on batches of seeded channel draws (the unsupervised loss of
Jiang, Cheng and Yu's IRS beamforming networks), and it serves SB3's ``predict`` protocol, so
``isac evaluate`` / ``isac compare`` score it like every other policy.

**Observation.** The env's own observation of the first step of an episode (what ``isac evaluate``
plays on), computed for the training draws with the task's functions
(:meth:`isac_env.envs.rydberg.RydbergTask.observe`, ``phi_prev = 1``, zero metric tail). The run
chooses the env's ``obs_mode`` (hyperparameter ``obs_mode``, default ``"full"``; it is stored in the
run's ``env_kwargs``, so ``make_env_from_run`` / ``isac evaluate`` rebuild the same observation):

* ``"full"`` (default, ``features="cascade"``): ``H_BR / beta_t``, ``H_RU / g_ru`` and ``H_BU,k / g_bu,k``.
  It holds the cascaded channels, so the RIS phases can be designed per draw (model-based MM layers,
  :func:`build_network`). Not observed: the per-user direct-link scale ``g_bu,k`` (it depends on the
  user's position; a learned common ratio stands in) and the noise power.
* ``"effective"`` (``features="eig"``, ``"gram"`` or ``"obs"``): ``H_eff,k(1)`` and ``v_t(1)`` normalised by
  their random-phase RMS. At fixed phases the sum rate depends on ``H_k`` only through
  ``Q_k = H_k^H H_k`` (the ``"gram"`` / ``"eig"`` features), but the observation cannot tell how the
  phases change the channels (``H_RU`` and ``H_BR`` are not separable from ``H_eff(1)``), nor the
  users' relative SNRs (each ``H_eff,k`` is normalised by its own scale): measured on Table I, this
  caps the agent near the best single-user MRT at ``phi = 1`` (about 9.1-9.4 bit/s/Hz against 10.2
  for ``best_user_mrt``, which designs the phases).

**Design.** The network's output is an env action ``a = [a_W (2 Nt K), a_phi (N)]`` and the design
is the env's own decode of it (:func:`isac_env.codecs.decode_precoder` /
:func:`~isac_env.codecs.decode_phases`): ``W = sqrt(P_max) A / ||A||_F`` and ``phi = exp(j pi a_phi)``,
so ``||W||_F^2 = P_max`` and ``|phi_n| = 1`` hold by construction for every input, and the action
that :meth:`L2OPolicy.predict` returns decodes in the env to the same design (up to float32
rounding of the action). Precoder heads start at per-user MRT and phase heads at ``phi = 1`` (the
phases the observation was taken at).

**Loss.** ``-U_com + lambda * relu(g) + rho / 2 * relu(g)^2`` per draw, averaged over the batch, with
``g = log(tr CRB / (eps (1 - crb_margin)))``: a penalty with continuation (``rho`` grows
geometrically from ``rho_init`` to ``rho_final`` over the run) plus a multiplier ``lambda`` learned
by multiplicative dual ascent on the fraction of infeasible draws in the batch against the allowed
fraction ``violation_target`` (a chance-constraint form of the CRB constraint: ``lambda`` rises while
more than that fraction of draws violate the margin-tightened CRB and falls otherwise).

**Run folder** (like the RL agents, :mod:`isac_gym.agents.train`): ``config.yaml`` (algo ``l2o``,
env id and kwargs, hyperparameters, versions, the training history and ``policy_spec``: the
network's constructor keywords and spaces as plain data), ``policy.pth`` (the state dict of the
best validation checkpoint, tensors only), ``checkpoints/l2o_<step>_steps.pth`` and ``tb/``
(TensorBoard events and ``progress.csv``: ``train/*`` loss terms, ``lagrangian/*``, ``val/*`` on
held-out draws). :func:`load_l2o_policy` rebuilds the network from the spec and reads the weights with
``torch.load(weights_only=True)``: nothing is unpickled.

Example:
    >>> from isac_gym.agents.train import train, load_policy
    >>> run = train("isac_env/RydbergISAC-v0", "l2o", seed=0)  # doctest: +SKIP
    >>> policy = load_policy(run)  # predict(obs) -> env action  # doctest: +SKIP
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = [
    "ALGO",
    "DEFAULT_HYPERPARAMS",
    "L2OPolicy",
    "build_network",
    "draw_scenarios",
    "l2o_loss",
    "load_l2o_hyperparams",
    "load_l2o_policy",
    "train_l2o",
]

ALGO = "l2o"
HYPERPARAMS_FILE = Path(__file__).resolve().parent / "hyperparams" / "l2o.yml"
POLICY_CLASS = "L2OPolicy"

#: Hyperparameters of :func:`train_l2o` (overridden by ``agents/hyperparams/l2o.yml`` per env id, then by
#: the ``hyperparams`` argument).
DEFAULT_HYPERPARAMS: dict[str, Any] = {
    "n_timesteps": 1000,  # gradient steps (one batch of draws each)
    "batch_size": 64,
    "n_train": 1000,  # training draws (seeded; never the evaluation seeds)
    "n_val": 100,  # held-out validation draws
    "learning_rate": 1.0e-3,
    "learning_rate_final": 1.0e-4,  # cosine decay to this
    "weight_decay": 0.0,
    "grad_clip": 1.0,
    "obs_mode": "full",  # the env observation the agent reads (an env kwarg given to train() wins)
    "features": "auto",  # "eig" for obs_mode="effective", "cascade" for "full" (see build_network)
    "net_arch": [256, 256],
    "activation": "silu",
    "phase_head": "mlp",  # "mlp": phases from the features; "constant": one learned phase vector
    "mm_steps": 10,  # unrolled MM phase steps of features="cascade"
    "zf_basis": False,  # add each user's regularised-ZF column to its precoder basis (eig / cascade)
    "crb_margin": 0.1,
    "violation_target": 0.01,
    "lambda_init": 10.0,
    "lambda_lr": 0.05,
    "lambda_max": 1.0e4,
    "rho_init": 1.0,
    "rho_final": 100.0,
    "eval_freq": 100,
    "feasible_target": 0.95,
    "max_time_s": None,  # stop training after this wall time (data generation excluded)
}

_ACTIVATIONS = ("relu", "tanh", "silu", "elu", "gelu")
_FEATURES = ("cascade", "eig", "gram", "obs")
_PHASE_HEADS = ("mlp", "constant")
_INT_KEYS = ("n_timesteps", "batch_size", "n_train", "n_val", "eval_freq")
_NONNEG_INT_KEYS = ("mm_steps",)
_FLOAT_KEYS = (
    "learning_rate", "learning_rate_final", "weight_decay", "grad_clip", "crb_margin", "violation_target",
    "lambda_init", "lambda_lr", "lambda_max", "rho_init", "rho_final", "feasible_target",
)  # fmt: skip
#: spawn key of the training / validation draws: SeedSequence(seed, spawn_key=(_DRAW_KEY, i)) can never
#: equal an evaluation draw (children of SeedSequence(root_seed), spawn keys (i,)).
_DRAW_KEY = 0x4C324F


# ------------------------------------------------------------------------------ hyperparameters
def load_l2o_hyperparams(env_id: str, path: str | Path | None = None) -> dict[str, Any]:
    """:data:`DEFAULT_HYPERPARAMS` updated by the entry of ``env_id`` in ``agents/hyperparams/l2o.yml``."""
    hp = dict(DEFAULT_HYPERPARAMS)
    file = Path(path) if path is not None else HYPERPARAMS_FILE
    if file.exists():
        data = yaml.safe_load(file.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{file} must hold a mapping of env id -> settings")
        entry = data.get(env_id) or {}
        if not isinstance(entry, dict):
            raise ValueError(f"{file}: the entry of {env_id} must be a mapping")
        hp.update(entry)
    return hp


def _check_hyperparams(hp: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(hp) - set(DEFAULT_HYPERPARAMS))
    if unknown:
        raise ValueError(f"unknown l2o hyperparameters {unknown}; known: {sorted(DEFAULT_HYPERPARAMS)}")
    out = dict(hp)
    for k in _INT_KEYS:
        v = float(out[k])
        if not v.is_integer() or v < 1:
            raise ValueError(f"{k} must be a positive integer, got {out[k]!r}")
        out[k] = int(v)
    for k in _NONNEG_INT_KEYS:
        v = float(out[k])
        if not v.is_integer() or v < 0:
            raise ValueError(f"{k} must be a non-negative integer, got {out[k]!r}")
        out[k] = int(v)
    for k in _FLOAT_KEYS:
        out[k] = float(out[k])
        if not math.isfinite(out[k]) or out[k] < 0:
            raise ValueError(f"{k} must be a finite non-negative number, got {hp[k]!r}")
    if not 0 <= out["crb_margin"] < 1:
        raise ValueError(f"crb_margin must be in [0, 1), got {out['crb_margin']}")
    if out["max_time_s"] is not None:
        out["max_time_s"] = float(out["max_time_s"])
    arch = out["net_arch"]
    if not isinstance(arch, list | tuple) or not all(isinstance(h, int) and h > 0 for h in arch):
        raise ValueError(f"net_arch must be a list of positive ints, got {arch!r}")
    out["net_arch"] = [int(h) for h in arch]
    for key, allowed in (("activation", _ACTIVATIONS), ("phase_head", _PHASE_HEADS)):
        if out[key] not in allowed:
            raise ValueError(f"{key} must be one of {allowed}, got {out[key]!r}")
    if not isinstance(out["zf_basis"], bool):
        raise ValueError(f"zf_basis must be true or false, got {out['zf_basis']!r}")
    if out["obs_mode"] not in ("effective", "full"):
        raise ValueError(f"obs_mode must be 'effective' or 'full', got {out['obs_mode']!r}")
    if out["features"] not in ("auto", *_FEATURES):
        raise ValueError(f"features must be 'auto' or one of {_FEATURES}, got {out['features']!r}")
    return out


# ------------------------------------------------------------------------------------- network
def _layout(task: Any) -> dict[str, Any]:
    """Sizes the network needs, as plain data (stored in ``policy_spec``)."""
    ec = task.env_config
    return {
        "Nt": int(task.Nt),
        "K": int(task.K),
        "M": int(task.M),
        "N": int(task.N),
        "obs_dim": int(task.observation_space().shape[0]),
        "obs_mode": str(ec.obs_mode),
        "phase_bits": int(ec.phase_bits),
        "phase_mode": str(task.phase_mode),
    }


def build_network(
    Nt: int,
    K: int,
    M: int,
    N: int,
    obs_dim: int,
    obs_mode: str = "effective",
    features: str = "eig",
    net_arch: list[int] | tuple[int, ...] = (256, 256),
    activation: str = "silu",
    phase_head: str = "mlp",
    mm_steps: int = 10,
    cascade_log_scale: float = 0.0,
    zf_basis: bool = False,
    **_: Any,
) -> Any:
    """The L2O network ``obs [..., obs_dim] float32 -> raw action [..., 2 Nt K + N]`` (a ``torch.nn.Module``).

    Feature maps (``features``):

    * ``"obs"``: the observation vector into an MLP that outputs the action (any ``obs_mode``).
    * ``"gram"`` (``obs_mode="effective"``): the per-user Gram matrices ``Q_k = H_k^H H_k / M`` of the
      observed effective channels and ``v_t`` into the MLP.
    * ``"eig"`` (``obs_mode="effective"``): the Gram features plus each ``Q_k``'s eigenvalues and the
      projections of its eigenvectors on ``v_t``; the MLP outputs the precoder column of user k in the
      eigenbasis of ``Q_k`` (phase-fixed so ``e^H v_t >= 0``), initialised at MRT for every user.
    * ``"cascade"`` (``obs_mode="full"``): model-based. From the normalised ``H_BR``, ``H_RU``, ``H_BU`` of
      the observation, a first MLP weighs K + 2 terms (softmax ``alpha``): the users' channel gains
      ``||H_BU,k + c H_RU,k diag(phi) H_BR||_F^2`` (the quadratic forms of
      :func:`isac_env.physics.channels.phase_gain_quadratics`, as in
      :func:`isac_gym.baselines.heuristics.bf_only_phases`; ``c`` the learned cascade-to-direct amplitude
      ratio, started at ``exp(cascade_log_scale)``, the training draws' mean) and the target illumination
      ``||v_t(phi)||^2``, ``||v_R(phi)||^2`` (:func:`isac_env.physics.sensing.phase_sensing_quadratics`), each
      normalised by its mean diagonal gain. The phases are
      ``mm_steps`` unrolled MM steps ``phi <- exp(j angle(2 A phi + b))`` on that weighted sum, from ``phi = 1``
      (differentiable in ``alpha`` and ``c``). Then the ``"eig"`` head on ``H_eff(phi)``, with the sensing vectors
      ``V = [v_t, v_B, v_R](phi)`` of :func:`isac_env.physics.sensing.sensing_vectors` (the target
      constants ``h_dt``, ``h_rt``, ``dh_dt``, ``dh_rt``, ``beta_t`` are buffers of the state dict).

    Args:
        Nt, K, M, N: task dimensions.
        obs_dim: observation length.
        obs_mode: the env's ``obs_mode`` (``"effective"`` or ``"full"``).
        features: ``"obs"``, ``"gram"``, ``"eig"`` or ``"cascade"`` (see above).
        net_arch: hidden layer widths of the MLPs.
        activation: ``relu``, ``tanh``, ``silu``, ``elu`` or ``gelu``.
        phase_head: ``"mlp"`` (phases from the features) or ``"constant"`` (one learned phase vector);
            with ``"cascade"`` the phases come from the MM layers instead.
        mm_steps: MM steps of ``"cascade"``.
        zf_basis: ``"eig"`` / ``"cascade"`` only: each precoder column gets one more basis vector, user
            k's column of the regularised zero-forcing precoder on the users' dominant directions
            ``sqrt(lambda_max,k) e_max,k^H`` (regulariser ``exp(log_reg)`` times their mean gain, learned),
            so that multi-user designs are one coefficient away (its coefficient starts at 0).
        cascade_log_scale: initial ``log c`` of ``"cascade"``.
    """
    import torch
    from torch import nn

    from isac_env.physics.channels import phase_gain_quadratics
    from isac_env.physics.sensing import phase_sensing_quadratics, sensing_vectors

    if features not in _FEATURES:
        raise ValueError(f"features must be one of {_FEATURES}, got {features!r}")
    need = "full" if features == "cascade" else "effective" if features in ("gram", "eig") else obs_mode
    if obs_mode != need:
        raise ValueError(
            f"features={features!r} reads obs_mode={need!r} observations, got obs_mode={obs_mode!r}"
        )
    if phase_head not in _PHASE_HEADS:
        raise ValueError(f"phase_head must be one of {_PHASE_HEADS}, got {phase_head!r}")
    if isinstance(mm_steps, bool) or not isinstance(mm_steps, int) or mm_steps < 0:
        raise ValueError(f"mm_steps must be a non-negative int, got {mm_steps!r}")
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "elu": nn.ELU, "gelu": nn.GELU}[activation]
    n_csi = 2 * K * M * Nt + 2 * Nt if obs_mode == "effective" else 2 * (N * Nt + K * M * N + K * M * Nt)
    tail = obs_dim - n_csi  # the metric tail (zeros after a reset)
    if tail < 0:
        raise ValueError(
            f"obs_dim {obs_dim} is smaller than the channel part {n_csi} of obs_mode={obs_mode!r}"
        )
    # sensing vectors seen by the eigen features: v_t (observed), v_B (a constant); cascade also v_R
    J = {"cascade": 3, "eig": 2}.get(features, 1)
    eigen = features in ("eig", "cascade")

    def _unit(z: Any) -> Any:
        """``z / |z|`` (``exp(j angle(z))``) over the last axis, smoothed for entries far below the mean
        magnitude (``|z|^2 < 1e-6 mean |z|^2``), so gradients stay bounded; the phases the network outputs
        are made exactly unit-modulus by the env's decode ``exp(j pi a)``."""
        mag2 = z.real**2 + z.imag**2
        floor = 1e-6 * mag2.mean(-1, keepdim=True).detach() + 1e-37
        return z * torch.rsqrt(mag2 + floor)

    def mlp(d_in: int, d_out: int) -> tuple[nn.Module, nn.Linear]:
        layers: list[nn.Module] = []
        d = d_in
        for h in net_arch:
            layers += [nn.Linear(d, h), act()]
            d = h
        return nn.Sequential(*layers), nn.Linear(d, d_out)

    class L2ONet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.Nt, self.K, self.M, self.N = Nt, K, M, N
            self.features = features
            self.n_w = 2 * Nt * K
            self.n_csi = n_csi
            self.register_buffer("iu", torch.triu_indices(Nt, Nt, 0), persistent=False)
            self.register_buffer("su", torch.triu_indices(Nt, Nt, 1), persistent=False)
            self.register_buffer("ku", torch.triu_indices(K, K, 1), persistent=False)
            n_gram = K * Nt * Nt + 2 * Nt * J
            n_eig = n_gram + K * Nt + 2 * K * Nt * J + K * (K - 1) + J
            in_dim = {"obs": obs_dim, "gram": n_gram, "eig": n_eig, "cascade": n_eig}[features]
            in_dim += 0 if features == "obs" else tail
            # eigen heads: column k = E_k c_k + S d_k (eigenbasis of Q_k and the sensing vectors)
            self.n_basis = Nt + J + int(zf_basis)  # per-user basis: eigenvectors, sensing vectors[, ZF]
            self.body, self.w_head = mlp(in_dim, 2 * K * self.n_basis if eigen else self.n_w)
            if zf_basis:
                self.log_reg = nn.Parameter(torch.tensor(math.log(0.1)))
            d = self.w_head.in_features
            if eigen:  # start at MRT for every user: c_k = top eigenvector's coordinate
                with torch.no_grad():
                    self.w_head.weight.mul_(0.1)
                    self.w_head.bias.zero_()
                    self.w_head.bias[: self.n_basis * K].view(K, self.n_basis)[:, Nt - 1] = 1.0
            self.phi_head = self.phi_const = None
            if features == "eig":  # v_B = d h_dt / d theta_B, a constant of the geometry
                self.register_buffer("dh_dt", torch.zeros(Nt, dtype=torch.complex64))
            if features == "cascade":
                self.alpha_body, self.alpha_head = mlp(n_eig + 2 * K + 2 + tail, K + 2)
                nn.init.zeros_(self.alpha_head.weight)  # start with equal user weights
                nn.init.zeros_(self.alpha_head.bias)
                self.log_scale = nn.Parameter(torch.tensor(float(cascade_log_scale)))
                cz = torch.zeros((), dtype=torch.complex64)
                for name, n in (("h_dt", Nt), ("dh_dt", Nt), ("h_rt", N), ("dh_rt", N)):
                    self.register_buffer(name, cz.new_zeros(n))
                self.register_buffer("beta_t", torch.zeros(()))
            elif phase_head == "mlp":
                self.phi_head = nn.Linear(d, N)
                nn.init.zeros_(self.phi_head.weight)  # start at phi = 1: the phases of the observation
                nn.init.zeros_(self.phi_head.bias)
            else:
                self.phi_const = nn.Parameter(torch.zeros(N))

        # ------------------------------------------------------------------ observation parsing
        def _cplx(self, obs: Any, start: int, shape: tuple[int, ...]) -> tuple[Any, int]:
            n = math.prod(shape)
            z = torch.complex(obs[..., start : start + n], obs[..., start + n : start + 2 * n])
            return z.reshape(*obs.shape[:-1], *shape), start + 2 * n

        def _effective(self, obs: Any) -> tuple[Any, Any]:
            """``H_eff`` ``[..., K, M, Nt]`` and ``v_t`` ``[..., Nt, 1]`` (normalised) of an effective observation."""
            H, i = self._cplx(obs, 0, (K, M, Nt))
            v, _ = self._cplx(obs, i, (Nt,))
            return H, v[..., None]

        def _full(self, obs: Any) -> tuple[Any, Any, Any]:
            """``H_BR / beta_t``, ``H_RU / g_ru``, ``H_BU,k / g_bu,k`` of a full observation."""
            G_BR, i = self._cplx(obs, 0, (N, Nt))
            G_RU, i = self._cplx(obs, i, (K, M, N))
            G_BU, _ = self._cplx(obs, i, (K, M, Nt))
            return G_BR, G_RU, G_BU

        # ------------------------------------------------------------------ features
        def _gram(self, Q: Any, S: Any) -> Any:
            iu, su = self.iu, self.su
            q = torch.cat([Q.real[..., iu[0], iu[1]], Q.imag[..., su[0], su[1]]], dim=-1)
            return torch.cat([q.flatten(-2), S.real.flatten(-2), S.imag.flatten(-2)], dim=-1)

        def _eig(self, H: Any, S: Any) -> tuple[Any, Any]:
            """Features of ``H`` ``[..., K, M, Nt]`` and sensing vectors ``S`` ``[..., Nt, J]``, and the
            eigenbases ``E`` ``[..., K, Nt, Nt]`` of ``Q_k`` (ascending; columns phase-fixed: ``e^H s_1 >= 0``)."""
            Q = H.mH @ H / M
            nrm = torch.linalg.vector_norm(S, dim=-2, keepdim=True).clamp_min(1e-30)
            Sn = S / nrm
            with torch.no_grad():
                lam, E = torch.linalg.eigh(Q)
                p = (E.conj().unsqueeze(-1) * Sn[..., None, :, None, :]).sum(-3)  # [..., K, Nt, J]: e_j^H s
                p0 = p[..., 0]
                mag0 = p0.abs()
                unit = torch.where(mag0 > 0, p0 / mag0.clamp_min(1e-30), torch.ones_like(p0))
                E = E * unit[..., None, :]
                proj = torch.cat([p.real, p.imag], dim=-1)
            top = E[..., :, -1]  # [..., K, Nt]
            G = top.conj() @ top.mT
            ku = self.ku
            x = torch.cat(
                [
                    self._gram(Q, Sn),
                    torch.log(lam.clamp_min(1e-6)).flatten(-2),
                    proj.flatten(-3),
                    G.real[..., ku[0], ku[1]],
                    G.imag[..., ku[0], ku[1]],
                    torch.log(nrm[..., 0, :]),
                ],
                dim=-1,
            )
            Z = None
            if zf_basis:  # RZF on the dominant directions h_k^H = sqrt(lambda_max,k) e_max,k^H
                lam_top = lam[..., -1].clamp_min(0.0)
                Hbar = lam_top.sqrt()[..., None].to(top.dtype) * top.conj()  # [..., K, Nt]
                eye = torch.eye(K, dtype=top.dtype, device=top.device)
                reg = (torch.exp(self.log_reg) * lam_top.mean(-1).clamp_min(1e-12))[..., None, None]
                Z = Hbar.mH @ torch.linalg.solve(
                    Hbar @ Hbar.mH + reg.to(top.dtype) * eye, eye
                )  # [..., Nt, K]
                Z = Z / torch.linalg.vector_norm(Z, dim=-2, keepdim=True).clamp_min(1e-30)
            return x, (E, Sn, Z)

        def featurize(self, obs: Any) -> tuple[Any, Any, Any]:
            """MLP input ``[..., in_dim]``, the eigenbases (``"eig"``/``"cascade"``, else ``None``) and the
            phases chosen by the model-based layers (``"cascade"``, else ``None``)."""
            tail_x = obs[..., self.n_csi :]
            if self.features == "obs":
                return obs, None, None
            if self.features in ("gram", "eig"):
                H, v = self._effective(obs)
                if self.features == "gram":
                    return torch.cat([self._gram(H.mH @ H / M, v), tail_x], dim=-1), None, None
                S = torch.cat([v, self.dh_dt.expand(*v.shape[:-2], Nt)[..., None]], dim=-1)
                x, E = self._eig(H, S)
                return torch.cat([x, tail_x], dim=-1), E, None
            phi = self._cascade_phases(obs, tail_x)
            G_BR, G_RU, G_BU = self._full(obs)
            c = self._scale()
            H = G_BU + c * (G_RU @ (phi[..., :, None] * G_BR)[..., None, :, :])
            x, E = self._eig(H, self._sensing(G_BR, phi))
            return torch.cat([x, tail_x], dim=-1), E, phi

        def _scale(self) -> Any:
            """The cascade-to-direct amplitude ratio ``c`` (``log c`` kept within +-20 of its start)."""
            lo, hi = cascade_log_scale - 20.0, cascade_log_scale + 20.0
            return torch.exp(self.log_scale.clamp(lo, hi))

        def _sensing(self, G_BR: Any, phi: Any) -> Any:
            return sensing_vectors(self.beta_t * G_BR, phi, self.h_dt, self.h_rt, self.dh_dt, self.dh_rt)

        def _cascade_phases(self, obs: Any, tail_x: Any) -> Any:
            """MM phases on ``sum_j w_j (phi^H A_j phi + Re{b_j^H phi})`` over the K user gains (in units of
            ``g_bu,k^2``, with the learned scale ``c``) and the target illumination ``||v_t(phi)||^2`` and
            ``||v_R(phi)||^2``; ``w_j = alpha_j / (tr A_j / N)``, ``alpha`` a softmax over the K + 2 terms. The forms
            come from :func:`~isac_env.physics.channels.phase_gain_quadratics` (on the normalised channels, divided
            by M; with the scale c user k's form is ``(c^2 A_k, c b_k)``, hence ``b / c`` after the weights
            ``1 / (c^2 tr A_k / N)``) and :func:`~isac_env.physics.sensing.phase_sensing_quadratics`."""
            G_BR, G_RU, G_BU = self._full(obs)
            c = self._scale()
            with torch.no_grad():  # quadratic forms of the gains (functions of the observation only)
                A, b, _ = phase_gain_quadratics(G_BU, G_RU, G_BR)  # user k's gain at c = 1
                A, b = A / M, b / M  # [..., K, N, N], [..., K, N]
                # ||v_t(phi)||^2, ||v_R(phi)||^2: [..., 2, N, N], [..., 2, N]
                A_s, b_s, _ = phase_sensing_quadratics(self.beta_t * G_BR, self.h_dt, self.h_rt, self.dh_rt)
                tr_u = A.diagonal(0, -2, -1).real.sum(-1)  # [..., K]
                tr_s = A_s.diagonal(0, -2, -1).real.sum(-1)  # [..., 2]
                ones = torch.ones(*obs.shape[:-1], N, dtype=G_BR.dtype, device=obs.device)
                H1 = G_BU + c * (G_RU @ G_BR[..., None, :, :])
                x1, _ = self._eig(H1, self._sensing(G_BR, ones))
                energy = torch.cat(
                    [
                        torch.log(tr_u.clamp_min(1e-30)),
                        torch.log(torch.linalg.vector_norm(b, dim=-1).clamp_min(1e-30)),
                        torch.log(tr_s.clamp_min(1e-30)),
                    ],
                    dim=-1,
                )
            logits = self.alpha_head(self.alpha_body(torch.cat([x1, energy, tail_x], -1)))
            alpha = 1e-3 + (1.0 - 1e-3 * (K + 2)) * torch.softmax(logits, -1)  # every term keeps a weight
            # term j normalised by its mean diagonal gain tr(A_j) / N (user k: c^2 tr(A_k) / N)
            w_u = (alpha[..., :K] / (tr_u / N).clamp_min(1e-30)).to(A.dtype)
            w_s = (alpha[..., K:] / (tr_s / N).clamp_min(1e-30)).to(A.dtype)
            A_w = (w_u[..., None, None] * A).sum(-3) + (w_s[..., None, None] * A_s).sum(-3)
            b_w = (w_u[..., None] * b).sum(-2) / c + (w_s[..., None] * b_s).sum(-2)
            phi = ones  # MM from phi = 1, the phases of the observation
            for _ in range(mm_steps):
                phi = _unit(2.0 * (A_w @ phi[..., None])[..., 0] + b_w)
            return phi

        def forward(self, obs: Any) -> Any:
            x, E, phi = self.featurize(obs)
            z = self.body(x)
            a_w = self.w_head(z)
            if E is not None:  # column k = E_k c_k + S d_k -> W [..., Nt, K] -> [Re vec W, Im vec W]
                E, Sn, Z = E
                n, m = Nt * K, self.n_basis * K
                coef = torch.complex(a_w[..., :m], a_w[..., m:]).reshape(*a_w.shape[:-1], K, self.n_basis)
                W = (E @ coef[..., :Nt, None])[..., 0].mT + Sn @ coef[..., Nt : Nt + J].mT
                if Z is not None:
                    W = W + Z * coef[..., -1][..., None, :]
                flat = W.reshape(*W.shape[:-2], n)
                a_w = torch.cat([flat.real, flat.imag], dim=-1)
            if phi is not None:
                a_phi = torch.angle(phi) / math.pi
            elif self.phi_head is not None:
                a_phi = self.phi_head(z)
            else:
                a_phi = self.phi_const.expand(*z.shape[:-1], N)
            return torch.cat([a_w, a_phi], dim=-1)

        def set_target_constants(self, scenario: Any) -> None:
            """Copy the draw-independent target constants of ``scenario`` (one draw of the training config)."""
            if self.features not in ("cascade", "eig"):
                return
            with torch.no_grad():
                for name in ("h_dt", "dh_dt", "h_rt", "dh_rt") if self.features == "cascade" else ("dh_dt",):
                    getattr(self, name).copy_(torch.as_tensor(np.array(getattr(scenario, name))))
                if self.features == "cascade":
                    self.beta_t.copy_(torch.as_tensor(float(np.asarray(scenario.beta_t))))

    return L2ONet()


def _design(net: Any, obs: Any, p_max: Any) -> tuple[Any, Any]:
    """``(W, phi)`` of the network at ``obs`` (torch): the env's decode of the raw action, continuous phases."""
    from isac_env import codecs

    a = net(obs)
    n_w = net.n_w
    W = codecs.decode_precoder(a[..., :n_w], net.Nt, net.K, p_max)
    phi = codecs.decode_phases(a[..., n_w:])
    return W, phi


def _to_env_action(raw: np.ndarray, layout: Mapping[str, Any]) -> Any:
    """Raw network output ``[..., 2 Nt K + N]`` -> an action in the env's space that decodes to the same design.

    ``a_W`` is scaled into ``[-1, 1]`` (the decode is scale-invariant) and ``a_phi`` wrapped into
    ``(-1, 1]`` (the decode is 2-periodic); discrete phases (``phase_mode="discrete"``) become the nearest
    level indices.
    """
    from isac_env import codecs

    raw = np.asarray(raw, dtype=np.float64)
    n_w = 2 * layout["Nt"] * layout["K"]
    a_w = raw[..., :n_w]
    peak = np.max(np.abs(a_w), axis=-1, keepdims=True)
    a_w = a_w / np.where(peak > 0, peak, 1.0)
    a_phi = codecs.wrap_phase_action(raw[..., n_w:])
    if layout["phase_mode"] == "discrete":
        idx = codecs.encode_phases(np.exp(1j * np.pi * a_phi), layout["phase_bits"], "discrete")
        return {"precoder": a_w.astype(np.float32), "phases": idx.astype(np.int64)}
    return np.concatenate([a_w, a_phi], axis=-1).astype(np.float32)


# -------------------------------------------------------------------------------------- policy
class L2OPolicy:
    """A trained L2O network with SB3's ``predict(observation, state, episode_start, deterministic)``.

    ``predict`` maps one observation ``[obs_dim]`` or a batch ``[n, obs_dim]`` to env actions (a Box
    action in ``[-1, 1]``, or the ``Dict`` action of discrete-phase ids) whose decode is the network's
    design; it is deterministic (``deterministic`` and ``state`` are accepted for the protocol and
    ignored). :meth:`design` returns ``(W, phi)`` as complex128 NumPy arrays.

    Attributes:
        net: the ``torch.nn.Module`` (evaluation mode, float32).
        layout: task sizes and action/observation modes (plain data).
        observation_space, action_space: the env's spaces.
    """

    def __init__(
        self, net: Any, layout: Mapping[str, Any], observation_space: Any, action_space: Any
    ) -> None:
        self.net = net.eval()
        self.layout = dict(layout)
        self.observation_space = observation_space
        self.action_space = action_space

    def _raw(self, observation: Any) -> np.ndarray:
        import torch

        obs = np.asarray(observation, dtype=np.float32)
        dim = self.layout["obs_dim"]
        if obs.shape[-1:] != (dim,) or obs.ndim not in (1, 2):
            raise ValueError(f"observation must have shape ({dim},) or (n, {dim}), got {obs.shape}")
        with torch.inference_mode():  # no autograd bookkeeping at all (faster than no_grad)
            return self.net(torch.from_numpy(obs)).numpy()

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[Any, Any]:
        """Env action(s) for ``observation`` (``[obs_dim]`` or ``[n, obs_dim]``); returns ``(action, state)``."""
        return _to_env_action(self._raw(observation), self.layout), state

    def design(self, observation: Any, p_max: float) -> tuple[np.ndarray, np.ndarray]:
        """The design ``(W [..., Nt, K], phi [..., N])`` (complex128) the env decodes from :meth:`predict`'s action,
        for power budget ``p_max`` (W)."""
        from isac_env import codecs

        a = self.predict(observation)[0]
        n_w = 2 * self.layout["Nt"] * self.layout["K"]
        if isinstance(a, dict):
            a_w = a["precoder"]
            phi = codecs.decode_phases(a["phases"], self.layout["phase_bits"], "discrete")
        else:
            a_w = a[..., :n_w]
            phi = codecs.decode_phases(a[..., n_w:], self.layout["phase_bits"], self.layout["phase_mode"])
        return codecs.decode_precoder(a_w, self.layout["Nt"], self.layout["K"], p_max), phi


def _policy_kwargs(
    layout: Mapping[str, Any], hp: Mapping[str, Any], cascade_log_scale: float
) -> dict[str, Any]:
    return {
        **dict(layout),
        "features": hp["features"],
        "net_arch": list(hp["net_arch"]),
        "activation": hp["activation"],
        "phase_head": hp["phase_head"],
        "mm_steps": int(hp["mm_steps"]),
        "cascade_log_scale": float(cascade_log_scale),
        "zf_basis": bool(hp["zf_basis"]),
    }


def l2o_policy_spec(kwargs: Mapping[str, Any], observation_space: Any, action_space: Any) -> dict[str, Any]:
    """The ``policy_spec`` of an L2O run (plain data; :func:`load_l2o_policy` reads it)."""
    from .serialization import FORMAT_VERSION, POLICY_FILE, space_to_dict

    return {
        "format": FORMAT_VERSION,
        "algo": ALGO,
        "policy": POLICY_CLASS,
        "policy_class": POLICY_CLASS,
        "weights": POLICY_FILE,
        "kwargs": dict(kwargs),
        "observation_space": space_to_dict(observation_space),
        "action_space": space_to_dict(action_space),
        "vecnormalize": None,
    }


_SPEC_TYPES: dict[str, tuple[type, ...]] = {
    "Nt": (int,), "K": (int,), "M": (int,), "N": (int,), "obs_dim": (int,), "obs_mode": (str,),
    "phase_bits": (int,), "phase_mode": (str,), "features": (str,), "net_arch": (list,),
    "activation": (str,), "phase_head": (str,), "mm_steps": (int,), "cascade_log_scale": (float,),
    "zf_basis": (bool,),
}  # fmt: skip


#: spec keywords added after the first runs, with the value those runs had
_SPEC_OPTIONAL: dict[str, Any] = {"zf_basis": False}


def load_l2o_policy(
    spec: Any, weights: str | Path, *, config_file: str | Path, device: str = "cpu"
) -> L2OPolicy:
    """Rebuild the :class:`L2OPolicy` of a run from its ``policy_spec`` and ``policy.pth``, unpickling nothing.

    The network is built from the spec's plain-data keywords (each checked for its type) and the
    weights are read with ``torch.load(weights_only=True)`` and loaded strictly.

    Raises:
        ValueError: a malformed spec (names ``config_file``) or weights file (names ``weights``).
        FileNotFoundError: ``weights`` does not exist.
    """
    import torch

    from .serialization import check_spec_header, space_from_dict

    bad = check_spec_header(spec, config_file)
    if spec.get("policy") != POLICY_CLASS:
        raise bad(f"policy must be {POLICY_CLASS!r} for algo l2o, got {spec.get('policy')!r}")
    kw = spec.get("kwargs")
    required = set(_SPEC_TYPES) - set(_SPEC_OPTIONAL)
    if not isinstance(kw, Mapping) or not required <= set(kw) <= set(_SPEC_TYPES):
        raise bad(
            f"kwargs must be a mapping with the keys {sorted(required)} (optional: {sorted(_SPEC_OPTIONAL)})"
        )
    kw = {**_SPEC_OPTIONAL, **kw}
    for k, types in _SPEC_TYPES.items():
        if not isinstance(kw[k], types) or (isinstance(kw[k], bool) and bool not in types):
            raise bad(f"kwargs.{k} must be {types[0].__name__}, got {kw[k]!r:.60}")
    try:
        obs_space = space_from_dict(spec.get("observation_space"))
        act_space = space_from_dict(spec.get("action_space"))
        with torch.random.fork_rng(devices=[]):  # building the net must not move the caller's seeds
            net = build_network(**kw)
    except (ValueError, TypeError) as exc:
        raise bad(" ".join(str(exc).split())) from None
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"no policy weights at {weights}")
    try:
        state = torch.load(weights, map_location=device, weights_only=True)
        if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise TypeError("not a state dict of tensors")
        net.load_state_dict(state, strict=True)
    except Exception as exc:
        raise ValueError(
            f"{weights}: not a valid L2O state dict ({' '.join(f'{type(exc).__name__}: {exc}'.split())})"
        ) from None
    net.to(device)
    return L2OPolicy(net, kw, obs_space, act_space)


# --------------------------------------------------------------------------------------- data
def draw_scenarios(config: Any, n: int, seed: int, stream: int) -> Any:
    """``n`` seeded NumPy draws stacked ``[n]``: draw ``i`` uses ``SeedSequence(seed, spawn_key=(KEY, stream, i))``.

    ``stream`` 0 is the training set and 1 the validation set; the spawn key ``KEY`` keeps both apart
    from every evaluation draw (:class:`isac_gym.agents.evaluate.EvalSet` spawns ``(i,)`` children).
    """
    from isac_env.physics import rar

    seqs = [np.random.SeedSequence(int(seed), spawn_key=(_DRAW_KEY, int(stream), i)) for i in range(int(n))]
    return rar.stack_scenarios([rar.sample_scenario(config, np.random.default_rng(s)) for s in seqs])


def _first_observations(task: Any, scenario: Any) -> np.ndarray:
    """The env's observation after a reset for each draw of the batched NumPy ``scenario``, float32 ``[B, D]``."""
    ones = np.ones((*scenario.batch_shape, task.N), dtype=np.complex128)
    return np.asarray(task.observe(scenario, task.scenario_features(scenario), ones, None), dtype=np.float32)


def l2o_loss(
    scenario: Any, W: Any, phi: Any, lam: float, rho: float, crb_margin: float
) -> tuple[Any, dict[str, Any]]:
    """Batch loss ``mean(-U_com + lam relu(g) + rho/2 relu(g)^2)``, ``g = log(tr CRB / (eps (1 - margin)))``.

    Args:
        scenario: batched torch scenario ``[B]``; W ``[B, Nt, K]``, phi ``[B, N]`` (torch, differentiable).
        lam, rho: multiplier and penalty weight; crb_margin: relative tightening of ``eps``.

    Returns:
        ``(loss, parts)`` with detached tensors ``sum_rate``, ``crb_ratio`` (tr CRB / eps) and ``violated``
        (the margin-tightened constraint) ``[B]``.
    """
    import torch

    from isac_env.physics import rar

    rate = rar.sum_rate(scenario, W, phi)
    tr = rar.crb_trace(scenario, W, phi)
    g = torch.log(tr / (scenario.eps * (1.0 - crb_margin)))
    viol = torch.relu(g)
    loss = (-rate + lam * viol + 0.5 * rho * viol**2).mean()
    return loss, {
        "sum_rate": rate.detach(),
        "crb_ratio": (tr / scenario.eps).detach(),
        "violated": (g > 0).detach(),
    }


def _validate(policy: L2OPolicy, task: Any, scen_np: Any, obs_val: np.ndarray) -> dict[str, float]:
    """Env-exact metrics of the policy on the validation draws (NumPy, float64, the env's decode and metrics)."""
    action = policy.predict(obs_val)[0]
    B = scen_np.batch_shape
    W, phi = task.decode(action, scen_np.P_max, B)
    m = task.metrics(scen_np, W, phi)
    feas = np.asarray(m["crb_violation"]) == 0.0
    rate = np.asarray(m["sum_rate"])
    return {
        "sum_rate": float(rate.mean()),
        "feasible_rate": float(feas.mean()),
        "sum_rate_feasible_only": float(np.where(feas, rate, 0.0).mean()),
        "crb_ratio_median": float(np.median(np.asarray(m["crb_trace"]) / np.asarray(scen_np.eps))),
    }


def _score(val: Mapping[str, float], target: float) -> tuple[bool, float]:
    """Checkpoint order: meeting the feasibility target first, then the sum rate (else the feasibility)."""
    ok = val["feasible_rate"] >= target
    return ok, val["sum_rate"] if ok else val["feasible_rate"]


# -------------------------------------------------------------------------------------- train
def train_l2o(
    env_id: str,
    *,
    total_timesteps: int | None = None,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    hyperparams: Mapping[str, Any] | None = None,
    run_dir: str | Path = "runs",
    run_name: str | None = None,
    checkpoint_freq: int | None = None,
    overwrite: bool = False,
    hyperparams_file: str | Path | None = None,
    device: str = "cpu",
    num_threads: int | None = 1,
    progress_bar: bool = False,
    verbose: int = 0,
) -> Path:
    """Train an L2O network on a Rydberg id through the torch physics; write a run folder (see the module).

    Called by :func:`isac_gym.agents.train.train` for ``algo="l2o"`` (CLI ``isac train ID --algo l2o``).

    Args:
        env_id: a Rydberg id with a continuous or quantized Box action, or discrete phases (then the
            phases are trained continuous and rounded to the nearest level by the env / :meth:`L2OPolicy.predict`).
        total_timesteps: gradient steps (each on ``batch_size`` training draws); ``None``: ``n_timesteps``.
        seed: seeds the network, the batch order and the training / validation draws.
        env_kwargs: ``gym.make`` keyword arguments over the id's training scenario
            (``agents/hyperparams/env_kwargs.yml``); the observation is the env's.
        hyperparams: overrides of :data:`DEFAULT_HYPERPARAMS` / ``agents/hyperparams/l2o.yml``.
        run_dir, run_name, overwrite: where the run folder goes (as for the RL agents).
        checkpoint_freq: write ``checkpoints/l2o_<step>_steps.pth`` every this many steps (``None``: 4 per
            run, ``0``: none).
        hyperparams_file: a YAML file to read instead of ``agents/hyperparams/l2o.yml``.
        device: torch device of the training.
        num_threads: ``torch.set_num_threads`` (``None`` leaves it).
        progress_bar: print one line per validation.
        verbose: 1 prints the validation lines too.

    Returns:
        The run folder.

    Raises:
        ValueError: not a Rydberg id, an invalid hyperparameter, ``features="gram"`` with ``obs_mode="full"``.
    """
    import gymnasium as gym
    import torch
    from stable_baselines3.common.logger import configure

    from isac_env.envs.rydberg import RydbergISACEnv

    from . import train as tr
    from .serialization import POLICY_FILE

    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    hp = load_l2o_hyperparams(env_id, hyperparams_file)
    hp.update(dict(hyperparams or {}))
    if total_timesteps is not None:
        hp["n_timesteps"] = total_timesteps
    hp = _check_hyperparams(hp)
    ekw = tr.default_env_kwargs(env_id)
    ekw.update(dict(env_kwargs or {}))
    if "obs_mode" in ekw:
        hp["obs_mode"] = ekw["obs_mode"]
    ekw["obs_mode"] = hp["obs_mode"]
    env = gym.make(env_id, **ekw)
    base = env.unwrapped
    if not isinstance(base, RydbergISACEnv):
        env.close()
        raise ValueError(f"algo l2o trains on the Rydberg task ids only, {env_id} is a {type(base).__name__}")
    task = base.task
    layout = _layout(task)
    if hp["features"] == "auto":
        hp["features"] = "eig" if layout["obs_mode"] == "effective" else "cascade"
    n_steps = hp["n_timesteps"]
    if checkpoint_freq is None:
        checkpoint_freq = max(n_steps // 4, 1)

    name = run_name or tr.run_name_for(ALGO, env_id, seed)
    run = tr._unique_dir(Path(run_dir) / name, overwrite)
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "algo": ALGO,
        "env_id": env_id,
        "env_name": tr.env_name(env_id),
        "run_name": run.name,
        "seed": seed,
        "total_timesteps": n_steps,
        "env_kwargs": tr._plain(ekw),
        "env_wrapper": None,
        "hyperparams": tr._plain(hp),
        "observation": f"env observation at reset (obs_mode={layout['obs_mode']!r}), features {hp['features']!r}",
        "scenario": tr._scenario_of(env),
        "observation_space": repr(env.observation_space),
        "action_space": repr(env.action_space),
        "device": device,
        "versions": tr._versions(),
        "git_commit": tr._git_commit(),
    }
    tr._write_config(run, config)

    t_data = time.perf_counter()
    scen_train = draw_scenarios(task.config, hp["n_train"], seed, 0)
    scen_val = draw_scenarios(task.config, hp["n_val"], seed, 1)
    obs_train = torch.from_numpy(_first_observations(task, scen_train)).to(device)
    obs_val = _first_observations(task, scen_val)
    st_train = scen_train.to("torch", device=device, dtype=torch.complex64)
    data_time = time.perf_counter() - t_data
    K = layout["K"]
    sc = np.asarray(scen_train.obs_scale, dtype=np.float64)  # [beta_t, g_ru (K), g_bu (K)]
    kwargs = _policy_kwargs(layout, hp, float(np.mean(np.log(sc[:, :1] * sc[:, 1 : 1 + K] / sc[:, 1 + K :]))))

    torch.manual_seed(seed)
    net = build_network(**kwargs)
    net.set_target_constants(scen_train[0])
    net = net.to(device)
    policy = L2OPolicy(net, kwargs, env.observation_space, env.action_space)
    opt = torch.optim.Adam(net.parameters(), lr=hp["learning_rate"], weight_decay=hp["weight_decay"])
    lr0, lr1 = hp["learning_rate"], hp["learning_rate_final"]
    logger = configure(str(run / "tb"), ["tensorboard", "csv"] + (["stdout"] if verbose else []))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    lam = hp["lambda_init"]
    skipped = 0
    best: tuple[tuple[bool, float], int, dict[str, Any], dict[str, float]] | None = None
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    step = 0

    def validate(step: int) -> None:
        nonlocal best
        net.eval()
        val = _validate(policy, task, scen_val, obs_val)
        net.train()
        score = _score(val, hp["feasible_target"])
        for k, v in val.items():
            logger.record(f"val/{k}", v)
        history.append({"step": step, "time_s": round(time.perf_counter() - t0, 2), **val})
        if best is None or score > best[0]:
            state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
            best = (score, step, state, val)
        logger.record("val/best_step", best[1])
        if progress_bar or verbose:
            print(
                f"[l2o] step {step}/{n_steps} val sum_rate {val['sum_rate']:.3f} "
                f"feasible {val['feasible_rate']:.2f} lambda {lam:.3g}",
                file=sys.stderr,
                flush=True,
            )

    net.train()
    for step in range(1, n_steps + 1):
        frac = (step - 1) / max(n_steps - 1, 1)
        lr = lr1 + 0.5 * (lr0 - lr1) * (1.0 + math.cos(math.pi * frac))
        rho = hp["rho_init"] * (hp["rho_final"] / hp["rho_init"]) ** frac if hp["rho_init"] > 0 else 0.0
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, hp["n_train"], (hp["batch_size"],), generator=gen).to(device)
        s_b = st_train[idx]
        W, phi = _design(net, obs_train[idx], s_b.P_max)
        loss, parts = l2o_loss(s_b, W, phi, lam, rho, hp["crb_margin"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(
            net.parameters(), hp["grad_clip"] if hp["grad_clip"] > 0 else math.inf
        )
        if torch.isfinite(loss) and torch.isfinite(norm):
            opt.step()
        else:  # a degenerate batch (e.g. an infinite CRB): skip the update
            skipped += 1
        viol_rate = float(parts["violated"].float().mean())
        lam = min(
            max(lam * math.exp(hp["lambda_lr"] * (viol_rate - hp["violation_target"])), 1e-3),
            hp["lambda_max"],
        )
        logger.record_mean("train/loss", float(loss.detach()))
        logger.record_mean("train/sum_rate", float(parts["sum_rate"].mean()))
        logger.record_mean("train/crb_ratio_median", float(parts["crb_ratio"].median()))
        logger.record_mean("train/violation_rate", viol_rate)
        stop = hp["max_time_s"] is not None and time.perf_counter() - t0 > hp["max_time_s"]
        if step % hp["eval_freq"] == 0 or step == n_steps or stop:
            logger.record("lagrangian/lambda", lam)
            logger.record("lagrangian/rho", rho)
            logger.record("train/learning_rate", lr)
            validate(step)
            logger.dump(step)
        if checkpoint_freq > 0 and (step % checkpoint_freq == 0 or step == n_steps):
            torch.save(
                {k: v.detach().cpu() for k, v in net.state_dict().items()},
                run / "checkpoints" / f"l2o_{step}_steps.pth",
            )
        if stop:
            break
    wall = time.perf_counter() - t0
    logger.close()
    assert best is not None
    torch.save(best[2], run / POLICY_FILE)
    config["policy_spec"] = l2o_policy_spec(kwargs, env.observation_space, env.action_space)
    config.update(
        steps_done=step,
        wall_time_s=round(wall, 2),
        data_time_s=round(data_time, 2),
        steps_per_s=round(step / max(wall, 1e-9), 1),
        best_step=best[1],
        best_validation=best[3],
        final_lambda=lam,
        skipped_steps=skipped,
        validation_history=history,
    )
    tr._write_config(run, config)
    env.close()
    return run

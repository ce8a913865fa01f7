"""Frames of the isac-gym environments (``render_mode="rgb_array"`` and ``"human"``).

Pure drawing: every number drawn comes from the scenario, the config, the last design ``(W, phi)``
and the last ``info["metrics"]``; the beam patterns and node positions are computed by
:mod:`isac_env.physics` (:func:`~isac_env.physics.rar.beam_patterns`,
:func:`~isac_env.physics.rar.node_positions`, :func:`~isac_env.physics.robust.beam_patterns`, ...).
Nothing here draws random numbers. Matplotlib is imported lazily (inside the functions) and only
its object-oriented Agg canvas is used, so frames render on a headless machine and ``import
isac_env`` stays light.

A frame is a uint8 RGB array ``[FRAME_HEIGHT, FRAME_WIDTH, 3]`` with six panels: (1) top view of
the geometry, (2) the BS transmit beam pattern, (3) the RIS-reflected pattern, (4) the
communication metrics, (5) the sensing metrics, (6) a text summary. Before the first step (after
``reset``) only the geometry is drawn and the other panels say "no design yet".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .config import RobustISACConfig, RydbergISACConfig
from .physics import rar, robust

__all__ = ["FRAME_HEIGHT", "FRAME_WIDTH", "HumanView", "render_robust", "render_rydberg", "show_frame"]

_DPI = 80
_FIG_IN = (14.0, 9.0)
#: frame size in pixels (even, as video codecs such as libx264 require)
FRAME_WIDTH = int(_FIG_IN[0] * _DPI)
FRAME_HEIGHT = int(_FIG_IN[1] * _DPI)

_NO_DESIGN = "no design yet\n(reset: call step to see one)"
_TARGET_C = "tab:red"
_RIS_C = "tab:green"
_BS_C = "black"
#: gain floor of the pattern plots (dBi)
_FLOOR_DB = -30.0
_GRID = np.deg2rad(np.linspace(-90.0, 90.0, 721))


def _user_colors(K: int) -> list[Any]:
    """K distinct colours, none red or green (kept for the target and the RIS)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    idx = [i for i in range(10) if i not in (2, 3)]
    return [cmap(idx[k % len(idx)]) for k in range(K)]


def _figure() -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIG_IN, dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.89, bottom=0.08, wspace=0.30, hspace=0.7)
    return fig


def _to_array(fig: Any) -> NDArray[np.uint8]:
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3], dtype=np.uint8)


def _db(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.maximum(10.0 * np.log10(np.maximum(x, 1e-30)), _FLOOR_DB)


def _placeholder(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.text(0.5, 0.5, _NO_DESIGN, ha="center", va="center", fontsize=12, color="0.35", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _pattern(
    ax: Any,
    grid_deg: NDArray[np.float64],
    gains: NDArray[np.float64],
    markers: list[tuple[float, str, Any, str]],
    title: str,
    xlabel: str,
    max_gain: float,
) -> None:
    """Per-stream gains ``[A, K]`` (thin), their sum (thick) and vertical node markers."""
    colors = _user_colors(gains.shape[-1])
    for k in range(gains.shape[-1]):
        ax.plot(grid_deg, _db(gains[:, k]), lw=1.0, color=colors[k], alpha=0.8, label=f"stream {k + 1}")
    ax.plot(grid_deg, _db(gains.sum(axis=-1)), lw=2.0, color="0.15", label="sum of streams")
    seen: set[str] = set()
    for ang, label, color, ls in markers:
        ax.axvline(np.rad2deg(ang), color=color, ls=ls, lw=1.3, label=None if label in seen else label)
        seen.add(label)
    ax.set_xlim(grid_deg[0], grid_deg[-1])
    ax.set_ylim(_FLOOR_DB, 10.0 * np.log10(max_gain) + 3.0)
    ax.set_title(title, fontsize=10.5)
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel("array gain [dBi]", fontsize=10)
    ax.set_xticks(np.linspace(grid_deg[0], grid_deg[-1], 7))
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=9)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3, frameon=False)


def _geometry(
    ax: Any,
    bs: NDArray[np.float64],
    ris: NDArray[np.float64],
    users: NDArray[np.float64],
    targets: NDArray[np.float64],
    links: bool = True,
) -> None:
    """Top view: BS, RIS, users ``[K, 2]`` and targets ``[T, 2]`` (m), with the LoS links."""
    colors = _user_colors(len(users))
    if links:
        ax.plot(*np.stack([bs, ris]).T, color=_RIS_C, lw=0.8, ls=":")
        for u in users:
            ax.plot(*np.stack([ris, u]).T, color="0.6", lw=0.6, ls=":")
        for t in targets:
            ax.plot(*np.stack([bs, t]).T, color=_TARGET_C, lw=0.6, ls=":")
    ax.scatter(*bs, marker="s", s=70, color=_BS_C, label="BS", zorder=3)
    ax.scatter(*ris, marker="D", s=60, color=_RIS_C, label="RIS", zorder=3)
    for k, u in enumerate(users):
        ax.scatter(*u, s=40, color=colors[k], label=f"user {k + 1}", zorder=3)
    for t in targets:
        ax.scatter(*t, marker="*", s=130, color=_TARGET_C, zorder=4)
    ax.scatter([], [], marker="*", s=130, color=_TARGET_C, label="target")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x [m]", fontsize=10)
    ax.set_ylabel("y [m]", fontsize=10)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=9)


def _bars(ax: Any, values: list[float], labels: list[str], colors: list[Any], ylabel: str, title: str) -> Any:
    x = np.arange(len(values))
    b = ax.bar(x, values, color=colors, width=0.6)
    ax.set_xticks(x, labels, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.set_title(title, fontsize=11)
    ax.tick_params(labelsize=9)
    ax.grid(axis="y", alpha=0.3)
    return b


def _summary(ax: Any, lines: list[str]) -> None:
    ax.axis("off")
    ax.set_title("summary", fontsize=11)
    ax.text(
        0.02,
        0.95,
        "\n".join(lines),
        ha="left",
        va="top",
        fontsize=10.5,
        family="monospace",
        transform=ax.transAxes,
    )


def _crb_panel(
    ax: Any, crb: list[float], eps: list[float], labels: list[str], title: str, ylabel: str
) -> None:
    """CRB bars (log scale) with each threshold ``eps`` as a horizontal line."""
    crb_a = np.maximum(np.asarray(crb, dtype=np.float64), 1e-30)
    ok = crb_a <= np.asarray(eps)
    _bars(ax, list(crb_a), labels, ["tab:purple" if o else "tab:orange" for o in ok], ylabel, title)
    ax.set_yscale("log")
    for i, e in enumerate(eps):
        ax.hlines(
            e, i - 0.45, i + 0.45, color="k", ls="--", lw=1.6, label="threshold eps" if i == 0 else None
        )
    lo = min(float(crb_a.min()), min(eps)) / 10.0
    hi = max(float(crb_a.max()), max(eps)) * 10.0
    ax.set_ylim(lo, hi)
    ax.legend(fontsize=8, loc="upper right")


# --------------------------------------------------------------------------- RydbergISAC
def render_rydberg(
    config: RydbergISACConfig,
    scenario: rar.RydbergScenario,
    W: NDArray[np.complex128] | None,
    phi: NDArray[np.complex128] | None,
    metrics: dict[str, Any] | None,
    step: int = 0,
) -> NDArray[np.uint8]:
    """One frame of ``RydbergISAC``: geometry, BS and RIS beam patterns, rates, CRB.

    The RAR model only has distances and angles; the positions are placed from them by
    :func:`~isac_env.physics.rar.node_positions` (BS at the origin, broadside ``+y``). The pattern
    markers are the angles of :func:`~isac_env.physics.rar.link_angles`, the directions the
    model's LoS steering vectors point to (the RIS appears at ``-phi_Bt`` on the BS side because
    ``H_BR``'s LoS uses ``a^H``). Users' links are clustered (``H_RU``, ``H_BU``; LoS only with
    ``rar_los_k_factor > 0``), so their markers give the geometric direction only.

    Args:
        config: scenario parameters.
        scenario: unbatched channels.
        W: last precoder ``[Nt, K]`` (sqrt(W)) or ``None`` before the first step.
        phi: last RIS phases ``[N]`` or ``None``.
        metrics: last ``info["metrics"]`` (``rate`` [K] bit/s/Hz, ``sum_rate``, ``crb_trace`` rad^2,
            ``power_dbm``) or ``None``.
        step: steps taken in the episode (shown in the title).

    Returns:
        uint8 ``[FRAME_HEIGHT, FRAME_WIDTH, 3]``.
    """
    c = config
    K, Nt, N = c.num_users, c.num_bs_antennas, c.num_ris
    pos = rar.node_positions(c, scenario.user_angles)
    ang = rar.link_angles(c, scenario.user_angles)
    colors = _user_colors(K)
    fig = _figure()
    gs = fig.add_gridspec(2, 3)
    fig.suptitle(
        f"RydbergISAC  |  step {step}  |  K={K} users, Nt={Nt} BS antennas, N={N} RIS elements, "
        f"M={c.num_cells} cells",
        fontsize=13,
    )

    ax = fig.add_subplot(gs[0, 0])
    _geometry(ax, pos["bs"], pos["ris"], pos["users"], pos["target"][None])
    ax.set_title("geometry (top view, from d/angles)", fontsize=11)
    ax.legend(fontsize=7.5, loc="upper left", framealpha=0.85)
    ins = ax.inset_axes((0.56, 0.05, 0.42, 0.42))
    _geometry(ins, pos["bs"], pos["ris"], pos["users"], pos["target"][None], links=True)
    ins.set_aspect("equal", adjustable="box")
    r = max(c.d_ru_m, c.d_rt_m) * 1.25
    ins.set_xlim(pos["ris"][0] - r, pos["ris"][0] + r)
    ins.set_ylim(pos["ris"][1] - r, pos["ris"][1] + r)
    ins.set_xlabel("")
    ins.set_ylabel("")
    ins.tick_params(labelsize=7)
    ins.set_title("around the RIS", fontsize=8, pad=2)

    ax_bs, ax_ris = fig.add_subplot(gs[0, 1]), fig.add_subplot(gs[0, 2])
    ax_rate, ax_crb = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])
    lines = [f"P_max       {c.p_max_dbm:7.2f} dBm", f"eps         {float(scenario.eps):.3g} rad^2"]
    if W is None or phi is None or metrics is None:
        _placeholder(ax_bs, "BS transmit pattern")
        _placeholder(ax_ris, "RIS reflected pattern")
        _placeholder(ax_rate, "per-user rate")
        _placeholder(ax_crb, "CRB of the target DoAs")
        lines += ["", "no design yet (after reset)"]
    else:
        pat = rar.beam_patterns(scenario, W, phi, _GRID, _GRID)
        deg = np.rad2deg(_GRID)
        bs_mk = [(float(ang["bs_target"]), "target theta_B", _TARGET_C, "-")]
        bs_mk += [(float(ang["bs_ris"]), "RIS (-phi_Bt, H_BR LoS)", _RIS_C, "-")]
        bs_mk += [
            (float(a), f"user {k + 1} (H_BU DoD)", colors[k], "--") for k, a in enumerate(ang["bs_users"])
        ]
        _pattern(ax_bs, deg, pat["bs"], bs_mk, "BS transmit pattern\n" r"$|a_{N_t}(\theta)^T w_k|^2\,/\,\|W\|_F^2$",
                 "BS angle from broadside [deg]", Nt)  # fmt: skip
        ris_mk = [(float(ang["ris_target"]), "target theta_R", _TARGET_C, "-")]
        ris_mk += [(float(ang["ris_bs"]), "BS (illumination)", _BS_C, ":")]
        ris_mk += [(float(a), f"user {k + 1}", colors[k], "--") for k, a in enumerate(ang["ris_users"])]
        _pattern(ax_ris, deg, pat["ris"], ris_mk, "RIS reflected pattern\n" r"$|a_N(\theta)^T \mathrm{diag}(\phi) H_{BR} w_k|^2\,/\,\|H_{BR} W\|_F^2$",
                 "RIS angle theta [deg]", N)  # fmt: skip
        rates = [float(x) for x in metrics["rate"]]
        b = _bars(ax_rate, rates, [f"user {k + 1}" for k in range(K)], colors, "rate [bit/s/Hz]",
                  f"per-user rate (sum {float(metrics['sum_rate']):.3g} bit/s/Hz)")  # fmt: skip
        ax_rate.bar_label(b, fmt="%.3g", fontsize=9)
        ax_rate.set_ylim(0.0, max(max(rates), 1e-3) * 1.2)
        _crb_panel(ax_crb, [float(metrics["crb_trace"])], [float(scenario.eps)], ["tr CRB"],
                   "CRB of the target DoAs vs threshold", "tr CRB(theta_B, theta_R) [rad^2]")  # fmt: skip
        feas = float(metrics["crb_trace"]) <= float(scenario.eps)
        lines += [
            f"power       {float(metrics['power_dbm']):7.2f} dBm",
            f"sum rate    {float(metrics['sum_rate']):7.3f} bit/s/Hz",
            f"tr CRB      {float(metrics['crb_trace']):.3g} rad^2",
            f"tr CRB/eps  {float(metrics['crb_trace']) / float(scenario.eps):.3g}",
            f"CRB ok      {'yes' if feas else 'NO'}",
        ]
    _summary(fig.add_subplot(gs[1, 2]), lines)
    return _to_array(fig)


# --------------------------------------------------------------------------- RobustISAC
def render_robust(
    config: RobustISACConfig,
    scenario: robust.RobustScenario,
    W: NDArray[np.complex128] | None,
    phi: NDArray[np.complex128] | None,
    metrics: dict[str, Any] | None,
    step: int = 0,
) -> NDArray[np.uint8]:
    """One frame of ``RobustISAC``: geometry, BS and RIS patterns, rate/outage, CRB/failure.

    Positions are the scenario's ``user_pos`` / ``target_pos`` and the config's RIS position (BS at
    the origin, ULA along ``y``, broadside ``+x``). Pattern markers are
    :func:`~isac_env.physics.robust.link_angles`; the patterns use the **estimated** ``H_BR`` (the
    designer's view). Targets are sensed on the direct path only, so the RIS panel marks users.

    Args:
        config: scenario parameters.
        scenario: unbatched scenario.
        W: last precoder ``[Nt, K]`` (sqrt(W)) or ``None`` before the first step.
        phi: last reflection vector ``[N]`` or ``None``.
        metrics: last ``info["metrics"]`` (``rate_est`` [K] bit/s/Hz, ``outage`` [K], ``crb_est``
            [T] rad^2, ``crb_failure`` [T], ``power_dbm``, ``certified``) or ``None``.
        step: steps taken in the episode.

    Returns:
        uint8 ``[FRAME_HEIGHT, FRAME_WIDTH, 3]``.
    """
    c = config
    K, T, Nt, N = c.num_users, c.num_targets, c.num_bs_antennas, c.num_ris
    ris_p = np.array([c.ris_x_m, c.ris_y_m])
    users, targets = np.asarray(scenario.user_pos), np.asarray(scenario.target_pos)
    ang = robust.link_angles(c, scenario)
    colors = _user_colors(K)
    fig = _figure()
    gs = fig.add_gridspec(2, 3)
    bits = f"{c.phase_bits}-bit" if c.phase_bits else "continuous"
    fig.suptitle(
        f"RobustISAC  |  step {step}  |  K={K} users, T={T} targets, Nt={Nt}, N={N} ({bits} RIS)", fontsize=13
    )

    ax = fig.add_subplot(gs[0, 0])
    _geometry(ax, np.zeros(2), ris_p, users, targets)
    for t, p in enumerate(targets):
        ax.annotate(f"T{t + 1}", p, textcoords="offset points", xytext=(5, 4), fontsize=8, color=_TARGET_C)
    ax.set_title("geometry (top view)", fontsize=11)
    ax.legend(fontsize=7.5, loc="best", framealpha=0.85)

    ax_bs, ax_ris = fig.add_subplot(gs[0, 1]), fig.add_subplot(gs[0, 2])
    ax_com, ax_sen = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])
    eps = [float(e) for e in np.atleast_1d(scenario.eps)]
    lines = [
        f"rate thr.   {c.rate_threshold:.3g} bit/s/Hz",
        f"rho_c/rho_s {c.rho_c:.3g} / {c.rho_s:.3g}",
        f"eps         {', '.join(f'{e:.3g}' for e in eps)} rad^2",
    ]
    if W is None or phi is None or metrics is None:
        _placeholder(ax_bs, "BS transmit pattern")
        _placeholder(ax_ris, "RIS reflected pattern")
        _placeholder(ax_com, "per-user rate / outage")
        _placeholder(ax_sen, "per-target CRB / failure")
        lines += ["", "no design yet (after reset)"]
    else:
        psi = np.deg2rad(np.linspace(-180.0, 0.0, 721))
        grid = np.deg2rad(np.linspace(-180.0, 180.0, 1441))  # targets lie all around the BS
        pat = robust.beam_patterns(scenario, W, phi, grid, psi)
        bs_mk = [(float(a), "target theta_t", _TARGET_C, "-") for a in np.atleast_1d(ang["bs_target"])]
        bs_mk += [(float(ang["bs_ris"]), "RIS", _RIS_C, "-")]
        bs_mk += [
            (float(a), f"user {k + 1} (-theta, h_d LoS)", colors[k], "--")
            for k, a in enumerate(ang["bs_users"])
        ]
        _pattern(ax_bs, np.rad2deg(grid), pat["bs"], bs_mk, "BS transmit pattern (direct path)\n" r"$|a(\theta)^H w_k|^2\,/\,\|W\|_F^2$",
                 "BS angle from broadside +x [deg] (ULA: mirror about 90 deg)", Nt)  # fmt: skip
        ris_mk = [(float(ang["ris_bs"]), "BS (illumination)", _BS_C, ":")]
        ris_mk += [(float(a), f"user {k + 1}", colors[k], "--") for k, a in enumerate(ang["ris_users"])]
        _pattern(ax_ris, np.rad2deg(psi), pat["ris"], ris_mk, "RIS reflected pattern (estimated G)\n" r"$|a_N(\pi/2-\psi)^T \mathrm{diag}(\phi) G w_k|^2\,/\,\|G W\|_F^2$",
                 "direction from the RIS psi = atan2(dy, dx) [deg]", N)  # fmt: skip
        rates = [float(x) for x in metrics["rate_est"]]
        out = [float(x) for x in metrics["outage"]]
        b = _bars(ax_com, rates, [f"user {k + 1}\nout {o:.2f}" for k, o in enumerate(out)], colors,
                  "rate on estimated CSI [bit/s/Hz]", f"per-user rate, outage vs rho_c={c.rho_c:g}")  # fmt: skip
        ax_com.bar_label(b, fmt="%.3g", fontsize=9)
        ax_com.axhline(
            c.rate_threshold, color="k", ls="--", lw=1.6, label=f"rate threshold {c.rate_threshold:g}"
        )
        ax_com.set_ylim(0.0, max(max(rates), c.rate_threshold) * 1.3)
        ax_com.legend(fontsize=8, loc="upper right")
        fail = [float(x) for x in metrics["crb_failure"]]
        _crb_panel(ax_sen, [float(x) for x in metrics["crb_est"]], eps,
                   [f"target {t + 1}\nfail {f:.2f}" for t, f in enumerate(fail)],
                   f"per-target CRB, failure vs rho_s={c.rho_s:g}", "CRB(theta_t) [rad^2]")  # fmt: skip
        ok_out = all(o <= c.rho_c for o in out)
        ok_fail = all(f <= c.rho_s for f in fail)
        lines += [
            "",
            f"power       {float(metrics['power_dbm']):7.2f} dBm",
            f"max outage  {max(out):.3f} ({'ok' if ok_out else 'VIOLATED'})",
            f"max failure {max(fail):.3f} ({'ok' if ok_fail else 'VIOLATED'})",
            f"certified   {'yes' if metrics.get('certified') else 'no'} (safe approx.)",
        ]
    _summary(fig.add_subplot(gs[1, 2]), lines)
    return _to_array(fig)


# --------------------------------------------------------------------------- human mode
class HumanView:
    """A pyplot window that shows frames (``render_mode="human"``); inert on a headless backend."""

    def __init__(self) -> None:
        self._fig: Any = None
        self._img: Any = None

    def show(self, frame: NDArray[np.uint8], fps: float) -> None:
        """Show ``frame`` ``[H, W, 3]`` and pause ``1 / fps`` s; only draws on a non-interactive backend."""
        import matplotlib
        import matplotlib.pyplot as plt

        if not _interactive_backend(matplotlib.get_backend()):
            return
        if self._fig is None or not plt.fignum_exists(self._fig.number):
            self._fig = plt.figure(figsize=(frame.shape[1] / _DPI, frame.shape[0] / _DPI), dpi=_DPI)
            ax = self._fig.add_axes((0.0, 0.0, 1.0, 1.0))
            ax.axis("off")
            self._img = ax.imshow(frame)
        else:
            self._img.set_data(frame)
        plt.pause(1.0 / fps)

    def close(self) -> None:
        if self._fig is not None:
            import matplotlib.pyplot as plt

            plt.close(self._fig)
            self._fig = self._img = None


def _interactive_backend(name: str) -> bool:
    try:
        from matplotlib.backends import BackendFilter, backend_registry

        non_interactive = set(backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE))
    except ImportError:  # matplotlib < 3.9
        non_interactive = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
    return name.lower() not in non_interactive


def show_frame(view: HumanView | None, frame: NDArray[np.uint8], fps: float) -> HumanView:
    """Show ``frame`` in ``view`` (created on first use) and return the view."""
    view = view if view is not None else HumanView()
    view.show(frame, fps)
    return view

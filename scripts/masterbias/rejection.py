"""Rejecting outlying values of a pixel across frames before they are combined.

The guide's rejection (one pass of median/MAD clipping at every pixel, ``ccdproc`` mode,
:func:`masterbias.combine.sigma_clip_mask`) estimates the spread of each pixel from its own
few values: with six frames it clips about 7 % of good values, and it cannot reject
anything of 5 sigma below ~26 frames.  Bias frames differ from each other by noise alone,
so the spread is better known beforehand:

``ccdclip``
    from a noise model, the read noise of each amplifier measured from differences of the
    frames themselves (:mod:`masterbias.noise`), IRAF's ``ccdclip`` idea;
``avsigclip``
    pooled robustly along each row of each amplifier (the clipped rms residual of all its
    pixels and frames), IRAF's ``avsigclip`` idea;
``minmax``
    the ``nlow`` lowest and ``nhigh`` highest values of every pixel, whatever they are.

The two sigma rejections test each value against the mean of the *other* values of its
pixel: ``z = (x - mean) / sigma * sqrt(n / (n - 1))`` has unit variance for good values
whatever ``n`` is, and an outlier cannot drag the centre it is tested against.  The most
deviant value beyond the threshold is rejected and the test repeated on the rest, one value
at a time, while at least three values remain (two values cannot tell which is wrong).
"""

from __future__ import annotations

import numpy as np

from .stats import MAD_TO_STD, OUTLIER_SIGMAS

__all__ = ["clip_with_spread", "pooled_row_spread", "minmax_mask"]


def clip_with_spread(
    stack: np.ndarray, spread: np.ndarray, low: float | None, high: float | None
) -> np.ndarray:
    """Reject values beyond ``low``/``high`` sigmas of the mean of the other values.

    Parameters
    ----------
    stack : ndarray, shape (frames, rows, columns)
    spread : ndarray, shape (rows, columns) or broadcastable to it
        Standard deviation of one good value of each pixel, in the stack's unit.
    low, high : float or None
        Thresholds below and above; ``None`` rejects nothing on that side.

    Returns
    -------
    ndarray of bool, shape of ``stack``
        True for rejected values, non-finite values included.
    """
    frames = stack.shape[0]
    values = stack.reshape(frames, -1)
    pixels = values.shape[1]
    if low is None and high is None:
        return ~np.isfinite(stack)
    spread = np.broadcast_to(np.asarray(spread, dtype=np.float64), stack.shape[1:]).reshape(-1)
    # A side without a limit still sets its far values aside, by the other side's limit:
    # they stay in the master but do not drag the centre the other values are tested
    # against (else one unrejectable low value makes every good value look high).
    limits = (float(high if low is None else low), float(low if high is None else high))

    # First pass over every pixel with reductions of whole frames only: the most deviant
    # value of a pixel is its largest or its smallest, and a NaN or an infinity shows in
    # them too.
    largest, smallest = values.max(axis=0), values.min(axis=0)
    finite = np.isfinite(largest) & np.isfinite(smallest)
    if frames >= 3:
        mean = values.sum(axis=0, dtype=np.float64) / frames
        scale = np.sqrt(frames / (frames - 1.0)) / spread
        with np.errstate(invalid="ignore", divide="ignore"):
            above = (largest - mean) * scale / limits[1]
            below = (mean - smallest) * scale / limits[0]
            suspect = (np.maximum(above, below) > 1.0) & finite
        del mean, scale, above, below
    else:
        suspect = np.zeros(pixels, dtype=bool)
    rejected = np.zeros(values.shape, dtype=bool)
    # pixels with non-finite values are handled with the suspects, value by value
    todo = np.flatnonzero(suspect | ~finite)
    if todo.size:
        found = _clip_pixels(values[:, todo].T, spread[todo], limits, (low, high))
        rejected[:, todo] = found.T
    return rejected.reshape(stack.shape)


def _clip_pixels(values: np.ndarray, spread: np.ndarray, limits, sides) -> np.ndarray:
    """The one-value-at-a-time rejection of :func:`clip_with_spread` for a few pixels.

    ``values`` has shape (pixels, frames); ``limits`` are the (low, high) thresholds that
    single a value out, ``sides`` the configured ones (None: set aside, not rejected).
    Returns the rejection mask of the shape of ``values``.
    """
    values = values.astype(np.float64)
    rejected = ~np.isfinite(values)
    excluded = rejected.copy()  # rejected or set aside: not part of the centre
    active = np.arange(values.shape[0])
    rows = np.arange(values.shape[0])
    while active.size:
        current = values[active]
        dropped = excluded[active]
        kept = (~dropped).sum(axis=1)
        current[dropped] = 0.0
        mean = current.sum(axis=1) / np.maximum(kept, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.sqrt(kept / (kept - 1.0)) / spread[active]
            z = (current - mean[:, np.newaxis]) * scale[:, np.newaxis]
            badness = np.where(z > 0, z / limits[1], -z / limits[0])
        badness[dropped] = -np.inf
        worst = badness.argmax(axis=1)
        hit = (badness[rows[: active.size], worst] > 1.0) & (kept >= 3)
        pixel, frame = active[hit], worst[hit]
        excluded[pixel, frame] = True
        high_side = z[rows[: active.size], worst][hit] > 0
        counts = np.where(high_side, sides[1] is not None, sides[0] is not None)
        rejected[pixel[counts], frame[counts]] = True
        active = pixel
    return rejected


def pooled_row_spread(stack: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The standard deviation of one value, pooled along each row of each amplifier.

    For every row and amplifier, the residuals of all its values from their pixel's mean,
    scaled by ``sqrt(n / (n - 1))`` to unit variance, give the spread as their rms within
    five robust (1.4826 MAD) sigmas: outliers barely move it.

    Parameters
    ----------
    stack : ndarray, shape (frames, rows, columns)
    labels : ndarray of int, shape (rows, columns)
        The amplifier of each pixel; pixels of one label in a row share a spread.

    Returns
    -------
    ndarray of float64, shape (rows, columns)
        NaN where a row of an amplifier has no usable values (nothing is rejected there).
    """
    spread = np.full(stack.shape[1:], np.nan)
    for row in range(stack.shape[1]):
        values = stack[:, row, :].T.astype(np.float64)
        dropped = ~np.isfinite(values)
        kept = (~dropped).sum(axis=1)
        values[dropped] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = values.sum(axis=1) / kept
            scale = np.sqrt(kept / (kept - 1.0))
        residual = np.abs(values - mean[:, np.newaxis]) * scale[:, np.newaxis]
        residual[dropped | (kept < 2)[:, np.newaxis]] = np.nan
        for label in np.unique(labels[row]):
            columns = labels[row] == label
            usable = residual[columns]
            usable = usable[np.isfinite(usable)]
            if usable.size:
                # the MAD finds the core; the rms of the core (within 5 of its sigmas)
                # measures it with half the scatter of the MAD
                core = usable[usable <= OUTLIER_SIGMAS * np.median(usable) * MAD_TO_STD]
                spread[row, columns] = np.sqrt(np.mean(core**2))
    return spread


def minmax_mask(stack: np.ndarray, nlow: int, nhigh: int) -> np.ndarray:
    """Reject the ``nlow`` lowest and ``nhigh`` highest values of every pixel.

    Non-finite values are rejected first and count towards neither end.  At least one value
    of a pixel is always kept.

    Parameters
    ----------
    stack : ndarray, shape (frames, rows, columns)
    nlow, nhigh : int

    Returns
    -------
    ndarray of bool, shape of ``stack``
    """
    rejected = ~np.isfinite(stack)
    index = np.indices(stack.shape[1:])
    for count, pick, fill in ((nhigh, np.argmax, -np.inf), (nlow, np.argmin, np.inf)):
        for _ in range(count):
            remaining = stack.shape[0] - rejected.sum(axis=0)
            candidates = np.where(rejected, fill, stack)
            chosen = pick(candidates, axis=0)
            del candidates
            allowed = remaining > 1
            rejected[chosen[allowed], index[0][allowed], index[1][allowed]] = True
    return rejected

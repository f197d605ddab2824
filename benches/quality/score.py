"""Scoring: time alignment by cross-correlation and PESQ (ITU-T P.862)."""

import numpy as np
from pesq import pesq
from scipy.signal import fftconvolve


def _xcorr_lag(ref, deg, lo, hi):
    """Lag L in [lo, hi] (samples) maximising sum ref[n] * deg[n + L]."""
    lo = max(lo, -len(ref) + 1)
    seg = deg[max(lo, 0) : hi + len(ref)]
    c = fftconvolve(seg, ref[::-1], mode="full")
    # c[k] = sum ref[n] seg[n + k - (len(ref)-1)]; lag = k - (len(ref)-1) + max(lo, 0)
    base = max(lo, 0) - (len(ref) - 1)
    ks = np.arange(len(c)) + base
    mask = (ks >= lo) & (ks <= hi)
    k = np.argmax(np.where(mask, c, -np.inf))
    return int(ks[k])


def delays(ref, deg, fs, max_delay_s=1.5, block_s=0.5):
    """(global lag, mean block lag) in seconds: where deg repeats ref. Blocks of
    `block_s` with speech energy are aligned separately (±300 ms around the global
    lag), so time-stretching shows as a varying lag and its mean is the mean delay."""
    ref = ref.astype(np.float64)
    deg = deg.astype(np.float64)
    g = _xcorr_lag(ref, deg, 0, int(max_delay_s * fs))
    n = int(block_s * fs)
    thresh = 0.1 * np.sqrt(np.mean(ref**2))
    lags = []
    for s in range(0, len(ref) - n, n):
        blk = ref[s : s + n]
        if np.sqrt(np.mean(blk**2)) < thresh:
            continue
        w = int(0.3 * fs)
        lo, hi = g - w, g + w
        start = s + lo
        if start < 0 or s + hi + n > len(deg):
            continue
        seg = deg[start : s + hi + n]
        c = fftconvolve(seg, blk[::-1], mode="valid")
        lags.append(lo + int(np.argmax(c)))
    mean = float(np.mean(lags)) / fs if lags else g / fs
    return g / fs, mean


def pesq_score(ref, deg, fs, lag_s):
    """PESQ MOS-LQO of deg (shifted back by lag_s) against ref; nb at 8 kHz, wb at 16 kHz."""
    lag = int(round(lag_s * fs))
    d = deg[lag : lag + len(ref)]
    if len(d) < len(ref):
        d = np.concatenate([d, np.zeros(len(ref) - len(d), dtype=d.dtype)])
    mode = "nb" if fs == 8000 else "wb"
    return float(pesq(fs, ref.astype(np.float32) / 32768.0, d.astype(np.float32) / 32768.0, mode))

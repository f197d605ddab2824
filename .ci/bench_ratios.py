#!/usr/bin/env python3
"""Runs the criterion benches in short mode and checks each pipeline's cost as a ratio to
the bare codec cost measured in the same run (ratios, not absolute times: CI machines are
noisy). Prints every ratio; exits 1 if one is past its stated threshold.

    python3 .ci/bench_ratios.py            # runs the benches (JYQQ_BENCH_QUICK=1), then checks
    python3 .ci/bench_ratios.py --no-run   # checks the estimates already in target/criterion
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ["record_pipeline", "session", "codecs", "g722", "ffi", "jitter", "runtime"]

# (pipeline, baseline, threshold, why[, baseline multiplier: the codec group times one 20 ms
# frame, the pipelines one call-second = 50 frames]). Measured figures on the development machine are in
# the README's "Measured" section; thresholds leave room for a short run's noise.
RATIOS = [
    ("record_pipeline/engine", "record_pipeline/bare_opus", 1.30,
     "recording a call vs the bare libopus encode of the same audio (target 1.15)"),
    ("session_10s/g711_g711_tap_recording", "session_10s/bare_opus_recording_encode", 1.80,
     "G.711<->G.711 call, tap and stereo recording vs the recording's bare encode"),
    ("session_10s/g711_opus_tap_recording", "session_10s/bare_opus_recording_encode", 5.00,
     "G.711<->Opus call (an Opus encode per frame) vs the recording's bare encode"),
    ("session_10s/opus_opus_tap_recording", "session_10s/opus_opus_transcoded_tap_recording", 0.85,
     "Opus<->Opus with passthrough vs the same call transcoded: passthrough must save"),
    ("transcode/pcmu_opus_per_call_second", "codec/encode/opus_8k", 1.30,
     "PCMU->Opus transcoder vs the bare Opus encode of 50 frames", 50),
    ("g722_call_second/encode/ours", "g722_call_second/encode/spandsp", 1.00,
     "our G.722 encoder vs spandsp's"),
    ("g722_call_second/decode/ours", "g722_call_second/decode/spandsp", 1.00,
     "our G.722 decoder vs spandsp's"),
    ("ffi_10s_g711_call/c_abi", "ffi_10s_g711_call/rust_call_session", 1.15,
     "the same call through the C ABI vs the Rust API"),
    ("runtime_20calls_10s/shard_g711_g711_recording", "runtime_20calls_10s/bare_sessions_g711_g711_recording", 1.30,
     "20 calls on a runtime shard vs the same sessions driven bare"),
    ("jitter_loss10_g711/receiver_8k", "jitter_loss10_g711/bare_g711_decode", 120.0,
     "NetEq-class receiver under 10 % loss vs the bare G.711 decode"),
    ("jitter_loss10_opus16k/receiver_deep_plc", "jitter_loss10_opus16k/bare_opus_decode", 4.0,
     "Opus receiver with libopus' deep PLC under 10 % loss vs the bare Opus decode (measured 2.5)"),
]


def estimates():
    """full_id -> mean time in ns, from target/criterion/**/new/."""
    out = {}
    for bj in (ROOT / "target" / "criterion").glob("**/new/benchmark.json"):
        est = bj.parent / "estimates.json"
        if not est.is_file():
            continue
        full_id = json.loads(bj.read_text())["full_id"]
        out[full_id] = json.loads(est.read_text())["mean"]["point_estimate"]
    return out


def main():
    if "--no-run" not in sys.argv:
        cmd = ["cargo", "bench", "--features", "runtime"]
        for b in BENCHES:
            cmd += ["--bench", b]
        cmd += ["--", "--noplot"]
        env = dict(os.environ, JYQQ_BENCH_QUICK="1")
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    est = estimates()
    failed = []
    print(f"{'pipeline / baseline':<100} {'ratio':>8} {'limit':>7}")
    for num, den, limit, why, *scale in RATIOS:
        if num not in est or den not in est:
            print(f"MISSING {num} or {den}")
            failed.append(num)
            continue
        r = est[num] / (est[den] * (scale[0] if scale else 1))
        ok = r <= limit
        print(f"{num + ' / ' + den:<100} {r:>8.3f} {limit:>7.2f} {'ok' if ok else 'REGRESSED'}  ({why})")
        if not ok:
            failed.append(num)
    if failed:
        print("ratio check failed:", ", ".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

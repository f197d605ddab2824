#!/usr/bin/env python3
"""Quality bench: this crate's jitter buffer against GStreamer's rtpjitterbuffer.

For each impairment profile of `jyqq_media::testing::netsim` and each codec
(G.711 µ-law at 8 kHz, scored with narrow-band PESQ; Opus at 16 kHz with in-band
FEC, scored with wide-band PESQ):

1. clean speech from ../shared/data/speech is encoded and impaired by the seeded
   simulator, which writes the arriving packets as a classic pcap
   (`examples/netsim_pcap.rs`);
2. (a) `examples/playout.rs` plays the pcap through `AudioReceiver` on the
   capture's clock and writes a WAV; (b) the pcap is replayed in real time over
   UDP on localhost into `gst-launch-1.0 udpsrc ! rtpjitterbuffer do-lost=true !
   <depay> ! <decoder> ! audiorate` (rtpjitterbuffer at its default 200 ms latency;
   opusdec with plc and use-inband-fec on, mulawdec has no concealment);
3. each output is aligned to the reference by cross-correlation and scored with
   PESQ (python `pesq`); the mean mouth-to-ear delay added on top of the fastest
   network transit is measured on 0.5 s blocks by cross-correlation, the same way
   for both, and reported with our receiver's own mean playout delay statistic.

See benches/quality/README.md. Usage: python3 benches/quality/run.py [--profiles a,b]
[--codecs pcmu,opus] [--no-gst] [--seeds 1,2,3] [--out table.md] [--keep DIR] [--gst-from DIR]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.io.wavfile as wavfile
from scipy.signal import resample_poly

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from replay import replay  # noqa: E402
from score import delays, pesq_score  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SPEECH = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "speech"))
FILES = [
    "speechbrain/example1.wav",
    "speechbrain/spk1_snt1.wav",
    "mandarin/BAC009S0764W0121.wav",
    "pjsip/input.16.wav",
]
PROFILES = ["clean", "loss3", "loss10", "bursty5", "jitter40", "skew200"]
GST_LATENCY_MS = 200  # rtpjitterbuffer's default


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--example", "playout", "--example", "netsim_pcap"],
        cwd=ROOT,
        check=True,
    )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "examples")


def make_reference(tmp):
    """16 kHz reference: the utterances with 0.4 s pauses, 0.5 s lead-in; and its 8 kHz version."""
    parts = [np.zeros(8000, np.int16)]
    for f in FILES:
        rate, x = wavfile.read(os.path.join(SPEECH, f))
        assert rate == 16000 and x.ndim == 1, f
        parts += [x.astype(np.int16), np.zeros(6400, np.int16)]
    ref16 = np.concatenate(parts + [np.zeros(1600, np.int16)])
    ref8 = np.clip(np.round(resample_poly(ref16.astype(np.float64), 1, 2)), -32768, 32767).astype(np.int16)
    p16, p8 = os.path.join(tmp, "ref16.wav"), os.path.join(tmp, "ref8.wav")
    wavfile.write(p16, 16000, ref16)
    wavfile.write(p8, 8000, ref8)
    return {"pcmu": (p8, ref8, 8000), "opus": (p16, ref16, 16000)}


def gst_chain(codec, port):
    if codec == "pcmu":
        caps = "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0"
        dec = "rtppcmudepay ! mulawdec"
        rate = 8000
    else:
        caps = "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111"
        dec = "rtpopusdepay ! opusdec plc=true use-inband-fec=true"
        rate = 16000
    return (
        f'udpsrc port={port} caps="{caps}" ! rtpjitterbuffer do-lost=true latency={GST_LATENCY_MS} ! {dec} '
        f"! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate={rate},channels=1 "
        "! audiorate skip-to-first=true ! wavenc"
    )


def run_gst(pcap, out, codec, port):
    """Live GStreamer pipeline fed by a real-time replay (both SCHED_FIFO when allowed)."""
    rt = ["chrt", "-f", "10"] if subprocess.run(["chrt", "-f", "10", "true"]).returncode == 0 else []
    cmd = rt + ["sh", "-c", f"exec gst-launch-1.0 -e -q {gst_chain(codec, port)} ! filesink location={out}"]
    p = subprocess.Popen(cmd, start_new_session=True)
    time.sleep(1.0)
    if rt:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    try:
        worst = replay(pcap, port)
    finally:
        if rt:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGINT)
    p.wait(timeout=20)
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", default=",".join(PROFILES))
    ap.add_argument("--codecs", default="pcmu,opus")
    ap.add_argument("--seeds", default="1,2,3", help="simulator seeds; results are averaged")
    ap.add_argument("--no-gst", action="store_true", help="skip the GStreamer reference")
    ap.add_argument("--out", help="also write the Markdown table here")
    ap.add_argument("--keep", help="keep pcaps and WAVs in this directory")
    ap.add_argument(
        "--gst-from",
        help="reuse GStreamer WAVs (<profile>_<codec>_<seed>_gst.wav) kept by an earlier run with the same seeds",
    )
    args = ap.parse_args()

    bindir = build()
    tmp = args.keep or tempfile.mkdtemp(prefix="jyqq-quality-")
    os.makedirs(tmp, exist_ok=True)
    refs = make_reference(tmp)
    rows = []
    port = 47000
    for codec in args.codecs.split(","):
        ref_path, ref, fs = refs[codec]
        for prof in args.profiles.split(","):
            runs = []
            for seed in [int(x) for x in args.seeds.split(",")]:
                base = os.path.join(tmp, f"{prof}_{codec}_{seed}")
                subprocess.run(
                    [os.path.join(bindir, "netsim_pcap"), "--input", ref_path, "--codec", codec, "--profile", prof,
                     "--seed", str(seed), "--out", base + ".pcap", "--meta", base + ".json"],
                    check=True,
                )
                meta = json.load(open(base + ".json"))
                # Our WAV starts at the first arrival; the fastest transit is the base to subtract.
                first, fastest = meta["first_arrival_ms"], meta["min_delay_ms"]
                res = subprocess.run(
                    [os.path.join(bindir, "playout"), base + ".pcap", base + "_ours.wav", "--rate", str(fs)]
                    + os.environ.get("JYQQ_PLAYOUT_ARGS", "").split(),
                    check=True, capture_output=True, text=True,
                )
                stats = json.loads(res.stdout.strip().splitlines()[-1])
                _, ours = wavfile.read(base + "_ours.wav")
                g, mean = delays(ref, ours, fs)
                run = {
                    "profile": prof, "codec": codec, "seed": seed, "lost": meta["lost"], "sent": meta["sent"],
                    "ours_pesq": pesq_score(ref, ours, fs, g),
                    "ours_delay": first + mean * 1000 - fastest,
                    "ours_stat": stats["mean_delay_ms"],
                    "ours_concealed": stats["concealed_ms"],
                    "ours_stretched": stats["accelerated_ms"] + stats["expanded_ms"],
                }
                if not args.no_gst:
                    gst_wav = base + "_gst.wav"
                    if args.gst_from:
                        gst_wav = os.path.join(args.gst_from, f"{prof}_{codec}_{seed}_gst.wav")
                        worst = 0.0
                    else:
                        port += 1
                        worst = run_gst(base + ".pcap", gst_wav, codec, port)
                    _, gst = wavfile.read(gst_wav)
                    gg, gmean = delays(ref, gst, fs)
                    # GStreamer's WAV starts at the first packet's PTS; the sink plays it `latency` later.
                    run.update(
                        gst_pesq=pesq_score(ref, gst, fs, gg),
                        gst_delay=first + gmean * 1000 + GST_LATENCY_MS - fastest,
                        replay_late_ms=worst * 1000,
                    )
                runs.append(run)
                print(json.dumps(run), flush=True)
            row = {"profile": prof, "codec": codec}
            for k in runs[0]:
                if k not in ("profile", "codec", "seed"):
                    row[k] = float(np.mean([r[k] for r in runs]))
            rows.append(row)

    lines = [
        "| profile | codec | lost | PESQ ours | PESQ GStreamer | added delay ours (ms) | added delay GStreamer (ms) | ours: mean playout delay stat (ms) | ours: concealed / stretched (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['profile']} | {'G.711 µ-law (NB)' if r['codec'] == 'pcmu' else 'Opus 16 kHz (WB)'} "
            f"| {r['lost'] / r['sent'] * 100:.1f} % | {r['ours_pesq']:.2f} | {r.get('gst_pesq', float('nan')):.2f} "
            f"| {r['ours_delay']:.0f} | {r.get('gst_delay', float('nan')):.0f} | {r['ours_stat']:.0f} "
            f"| {r['ours_concealed']:.0f} / {r['ours_stretched']:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()

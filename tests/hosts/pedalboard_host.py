"""Drives the Unweave VST3 through pedalboard (Spotify's JUCE-based host).

Run by tests/pedalboard.rs, which scores what this writes; this script only hosts.
    pedalboard_host.py PLUGIN.vst3 MIX.wav OUT_DIR
Writes, all float32 WAV at the mix's rate:
    fresh_repet.wav         a fresh instance: REPET, Balance +100 % (the lead)
    switch.wav              HPSS for the first half, then Algorithm -> REPET while running
    switch_reference.wav    the same input through a fresh REPET instance from the start
    preset_restored.wav     a fresh instance loaded from a .vstpreset of REPET, Lookahead 2 s
    mono.wav                a fresh instance given one channel (REPET, Balance +100 %)
    block_64.wav, block_333.wav, block_4096.wav   REPET in blocks of that size
and report.json with what the host read back (parameters after a preset round trip).
"""

import json
import os
import sys

import numpy as np
from pedalboard import load_plugin
from pedalboard.io import AudioFile


def fresh(path):
    return load_plugin(path)


def write(out_dir, name, audio, rate):
    with AudioFile(os.path.join(out_dir, name), "w", rate, audio.shape[0], bit_depth=32) as f:
        f.write(audio.astype(np.float32))


def run_blocks(plugin, audio, rate, block):
    out = []
    for start in range(0, audio.shape[1], block):
        out.append(plugin.process(audio[:, start : start + block], rate, buffer_size=block, reset=False))
    return np.concatenate(out, axis=1)


def main():
    plugin_path, mix_path, out_dir = sys.argv[1:4]
    with AudioFile(mix_path) as f:
        rate = f.samplerate
        mix = f.read(f.frames)
    report = {"rate": rate}

    p = fresh(plugin_path)
    report["parameters"] = sorted(p.parameters.keys())
    p.algorithm = "REPET"
    p.balance = 100.0
    write(out_dir, "fresh_repet.wav", p.process(mix, rate), rate)

    # An algorithm change while processing runs, in a host that never re-activates.
    half = (mix.shape[1] // 2) // 512 * 512
    p = fresh(plugin_path)
    p.balance = 100.0
    first = run_blocks(p, mix[:, :half], rate, 512)
    p.algorithm = "REPET"
    second = run_blocks(p, mix[:, half:], rate, 512)
    write(out_dir, "switch.wav", np.concatenate([first, second], axis=1), rate)
    report["switch_at"] = half
    q = fresh(plugin_path)
    q.algorithm = "REPET"
    q.balance = 100.0
    write(out_dir, "switch_reference.wav", run_blocks(q, mix, rate, 512), rate)

    # A .vstpreset round trip.
    p = fresh(plugin_path)
    p.algorithm = "REPET"
    p.lookahead_s = 2.0
    p.balance = 100.0
    preset = p.preset_data
    preset_file = os.path.join(out_dir, "unweave.vstpreset")
    with open(preset_file, "wb") as f:
        f.write(preset)
    q = fresh(plugin_path)
    q.load_preset(preset_file)
    report["preset"] = {
        "bytes": len(preset),
        "algorithm": str(q.algorithm),
        "lookahead": float(q.lookahead_s),
        "balance": float(q.balance),
    }
    write(out_dir, "preset_restored.wav", q.process(mix, rate), rate)

    # Mono: the host picks the plugin's mono layout.
    p = fresh(plugin_path)
    p.algorithm = "REPET"
    p.balance = 100.0
    write(out_dir, "mono.wav", p.process(mix[:1], rate), rate)

    # Stems, the lead soloed: the main output is the lead alone.
    p = fresh(plugin_path)
    p.algorithm = "Stems"
    p.lead_solo = True
    write(out_dir, "stems_lead_solo.wav", p.process(mix, rate), rate)

    for block in (64, 333, 4096):
        p = fresh(plugin_path)
        p.algorithm = "REPET"
        p.balance = 100.0
        write(out_dir, f"block_{block}.wav", run_blocks(p, mix, rate, block), rate)

    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()

"""The "Portrait" section of docs/benchmarks.md from bench_portrait's results (its report half)."""
from __future__ import annotations

from _report import machine_line

SPEECH_FRAMES = 12  # speech frames scored per held-out person (bench_portrait)


def compare_table(compare: dict) -> list[str]:
    lines = ["| checkpoint | px | steps | train s | speech frames / person | prototypes L1 / SSIM | changed region L1 "
             "(copy) | speech L1 / SSIM | speech changed region L1 (copy) | identity kept | interp. max/mean |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, c in compare.items():
        r, ch, sp = c["reconstruction"], c["changed_region"], c["speech"]
        speech = (f"{sp['l1']:.4f} / {sp['ssim']:.3f} | {sp['changed_region']['l1_generated']:.4f} "
                  f"({sp['changed_region']['l1_input_copied']:.4f})") if sp else "not measured | not measured"
        lines.append(f"| {label} | {c['size']} | {c['trained'].get('steps')} | {c['trained'].get('seconds')} | "
                     f"{c['corpus_frames']} | {r['l1']:.4f} / {r['ssim']:.3f} | {ch['l1_generated']:.4f} "
                     f"({ch['l1_input_copied']:.4f}) | {speech} | {c['identity_kept'] * 100:.0f}% | "
                     f"{c['interpolation']['max_over_mean_step']:.2f} |")
    return lines


def _speech(entry) -> str:
    if not entry:
        return "not measured (no corpus; build one with `dtsdk corpus build default -o data/corpus`)"
    ch = entry["changed_region"]
    return (f"L1 {entry['l1']:.4f}, PSNR {entry['psnr_db']:.2f} dB, SSIM {entry['ssim']:.3f} (input copied "
            f"{entry['input_copied']['l1']:.4f}, {entry['input_copied']['psnr_db']:.2f} dB, "
            f"{entry['input_copied']['ssim']:.3f}); in the {ch['share_of_pixels'] * 100:.1f}% of pixels the frame "
            f"changes, L1 {ch['l1_generated']:.4f} against {ch['l1_input_copied']:.4f} for the copy "
            f"({_relative(ch['l1_generated'], ch['l1_input_copied'])})")


def _lm(entry) -> str:
    if not entry:
        return "not measured (mediapipe not installed)"
    return (f"{entry['all_pct']:.1f}% (inner face {entry['inner_pct']:.1f}%; "
            f"{entry['missed']}/{entry['images']} not found)")


def _relative(ours: float, floor: float) -> str:
    change = (floor - ours) / floor * 100
    return f"{abs(change):.0f}% {'better' if change > 0 else 'worse'} than copying the input"


def report(results: dict, names) -> str:
    s = results["shipped"]
    r, c = s["reconstruction"], s["input_copied"]
    trained = results["trained"]
    lines = [
        "## Portrait (GC-GAN plugin)",
        "",
        f"`python benchmarks/bench_portrait.py` on {results['people']} held-out synthetic people (numbers "
        f"{results['first_person']}+; the models trained on 0-299), the default shipped `{results['name']}` "
        f"checkpoint ({results['size']} px, {trained.get('steps')} steps, {trained.get('seconds')} s on one CPU "
        f"thread) unless said. {machine_line()}. Raw numbers: plugins/dtsdk-gcgan/docs/bench_portrait.json; "
        "pictures beside it.",
        "",
        "Checkpoints side by side (each at its own size; L1 on 0..1; \"changed region\": the pixels the "
        "expression or speech frame changes, where copying the input is the floor to beat; speech: "
        f"{SPEECH_FRAMES} frames of the corpus's test clips per person):",
        "",
        *compare_table(results["compare"]),
        "",
        f"The `{results['name']}` checkpoint in detail:",
        "",
        "| neutral image drawn at each prototype's landmarks | L1 (0..1) | PSNR dB | SSIM |",
        "|---|---|---|---|",
        f"| generated | {r['l1']:.4f} | {r['psnr_db']:.2f} | {r['ssim']:.3f} |",
        f"| input copied (floor to beat) | {c['l1']:.4f} | {c['psnr_db']:.2f} | {c['ssim']:.3f} |",
        "",
        f"Where the expression changes the picture ({s['changed_region']['share_of_pixels'] * 100:.1f}% of the "
        f"pixels): L1 generated {s['changed_region']['l1_generated']:.4f}, input copied "
        f"{s['changed_region']['l1_input_copied']:.4f}. The whole-image scores favour copying the input, "
        "because an expression moves few pixels and the generator blurs all of them; in the changed region "
        f"the generator is {_relative(s['changed_region']['l1_generated'], s['changed_region']['l1_input_copied'])}.",
        "",
        "By expression (generated): " + ", ".join(f"{n} {e['l1']:.4f} / {e['ssim']:.3f}"
                                                  for n, e in zip(names, s["reconstruction_by_expression"]))
        + " (L1 / SSIM).",
        "",
        f"- Landmark error (MediaPipe face mesh on the image, % of the eye-corner distance): generated "
        f"{_lm(s.get('landmarks_generated'))}; the renders themselves {_lm(s.get('landmarks_renders'))} "
        "(the detector's own floor).",
        f"- Identity kept (nearest held-out person's render at that expression is its own): "
        f"{s['identity_kept'] * 100:.0f}% (chance {100 / results['people']:.0f}%).",
        f"- Interpolation, {s['interpolation']['steps']} steps neutral -> expression: largest image step / mean "
        f"step {s['interpolation']['max_over_mean_step']:.2f} (1 = even), step CV "
        f"{s['interpolation']['step_cv']:.2f}.",
        f"- Geometry codes: squared distance different / same expression {s['geometry_code_distance_ratio']:.1f}.",
        f"- Speech frames: {_speech(s.get('speech'))}.",
        "",
        "| transfer, B's prototypes onto A | target landmarks vs A's true (% eye distance) | L1 | SSIM |",
        "|---|---|---|---|",
    ]
    for mode, label in (("displacement", "displacement from each neutral (default)"),
                        ("raw", "B's raw landmarks (official code)")):
        t = s["transfer"][mode]
        lines.append(f"| {label} | {t['target_landmark_error_pct']:.1f} | {t['l1']:.4f} | {t['ssim']:.3f} |")
    ab = results["ablation"]
    lines.append("")
    if ab:
        lines += [f"Ablation at {ab['with_contrastive']['steps']} steps each (same recipe, contrastive weight 0.1 "
                  "vs 0; full-precision checkpoints, not the shipped one):", "",
                  "| | L1 | SSIM | identity kept | interp. max/mean | code ratio diff/same | landmark error |",
                  "|---|---|---|---|---|---|---|"]
        for name in ("with_contrastive", "without_contrastive"):
            a = ab[name]
            lines.append(f"| {name.replace('_', ' ')} | {a['reconstruction']['l1']:.4f} | "
                         f"{a['reconstruction']['ssim']:.3f} | {a['identity_kept'] * 100:.0f}% | "
                         f"{a['interpolation']['max_over_mean_step']:.2f} | {a['geometry_code_distance_ratio']:.1f} | "
                         f"{_lm(a.get('landmarks_generated'))} |")
    else:
        lines.append("Ablation: not run (the checkpoints of `shipped` at 1500 steps and `shipped-no-contrastive` "
                     "were not found).")
    d, raw = s["transfer"]["displacement"], s["transfer"]["raw"]
    lines += ["", "Reading these:",
              f"- The two transfer modes give target landmarks {raw['target_landmark_error_pct']:.1f}% vs "
              f"{d['target_landmark_error_pct']:.1f}% away from A's true expression, but images within "
              f"{abs(raw['l1'] - d['l1']):.1e} L1 of each other: the geometry code is semantic, as the paper "
              "intends (different-expression pairs are "
              f"{s['geometry_code_distance_ratio']:.0f}x further apart, squared, than same-expression pairs of "
              "different people), so it keeps the expression and all but drops the other face's shape; the "
              "generator takes the shape from the image. Feeding raw landmarks (the official code) therefore "
              "costs nothing in pixels here; displacement transfer is right in the geometry, which matters for "
              "whatever reads the landmarks, and would matter for a generator that followed face shape.",
              "- Identity kept is a weak measure on this population: people differ in skin tone, light and "
              "background, which the skips carry through; it says the face is not replaced, not that fine "
              "shape survives.",
              "- Landmark error is within a few points of the detector's own error on the renders; the "
              f"detector was not built for {results['size']} px renders (they are enlarged to 256 px for it)."]
    if ab:
        w, wo = ab["with_contrastive"], ab["without_contrastive"]
        lines.append(f"- Ablation: at {w['steps']} steps the contrastive term changes L1 by "
                     f"{w['reconstruction']['l1'] - wo['reconstruction']['l1']:+.4f} and the interpolation "
                     f"evenness from {wo['interpolation']['max_over_mean_step']:.2f} to "
                     f"{w['interpolation']['max_over_mean_step']:.2f}; the geometry codes separate expressions "
                     "without it too (L_gr and the generator's losses shape them). No benefit is shown at this "
                     "length and size; one seed each, so differences this small are not significant.")
    lines += ["", f"Real photograph (scikit-image's astronaut, aligned by its MediaPipe landmarks): "
                  f"{results['astronaut']}; see plugins/dtsdk-gcgan/docs/astronaut.png and the plugin README."]
    return "\n".join(lines)


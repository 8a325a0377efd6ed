"""``dtsdk corpus build``: speak sentences with real TTS voices, articulate them, write the corpus.

Speakers are spoken by a pool of worker processes (spawn start method, so no worker inherits a
parent's half-used TTS library); every clip is reproducible on its own because
:mod:`dtsdk.corpus.tts.espeak` speaks each message from a freshly initialised library state. The
whole corpus is assembled in a temporary folder next to the output and moved into place at the
end, so an interrupted build leaves no half-written corpus.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import soundfile as sf

from dtsdk.corpus.extras import plan_extra_jobs, speak_extra_clips, swap_voices
from dtsdk.corpus.manifest import CORPUS_FORMAT_VERSION, MANIFEST_NAME, file_sha256, write_yaml
from dtsdk.corpus.recipe import CorpusRecipe
from dtsdk.corpus.splits import SPLITS, plan_speakers, speaker_ids, split_sentences
from dtsdk.errors import DtsdkError
from dtsdk.utils.atomic import atomic_dir

log = logging.getLogger("dtsdk.corpus")


def assign_voices(recipe: CorpusRecipe, count: int):
    """``count`` distinct voices from the engines the recipe names, shuffled by the seed."""
    from dtsdk.corpus.tts import default_voice_pool

    pool = [v for v in default_voice_pool() if v.engine in recipe.engines]
    if len(pool) < count:
        raise DtsdkError(f"the voice pool of {', '.join(recipe.engines)} has {len(pool)} voices; "
                         f"the recipe needs {count} speakers")
    order = np.random.default_rng([recipe.seed, 3]).permutation(len(pool))
    return [pool[i] for i in order[:count]]


def _speak_speaker(job: dict) -> dict:
    """Worker: synthesize and articulate every clip of one speaker into ``job['dir']``."""
    import torch

    from dtsdk.corpus.articulation import motion_for_utterance
    from dtsdk.corpus.sentences import load_sentences
    from dtsdk.corpus.style import SpeakerStyle
    from dtsdk.corpus.tts import Voice, synthesize

    torch.set_num_threads(1)
    sentences = load_sentences()
    voice = Voice(**job["voice"])
    style = SpeakerStyle.from_dict(job["style"])
    out = Path(job["dir"])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(job["seed"])
    clips = []
    for split in job["order"]:
        budget_s = job["minutes"].get(split, 0.0) * 60.0
        count = job["counts"].get(split)
        spoken = 0.0
        for sentence_id in job["order"][split]:
            if count is not None and sum(c["split"] == split for c in clips) >= count:
                break
            if count is None and spoken >= budget_s:
                break
            utt = synthesize(sentences[sentence_id], voice)
            anim = motion_for_utterance(utt.phones, utt.audio, utt.sample_rate, job["fps"], style, rng)
            anim.meta.update({"speaker": job["speaker"], "sentence_id": int(sentence_id), "text": utt.text})
            clip = f"{job['speaker']}_{split}_{len([c for c in clips if c['split'] == split]):03d}"
            sf.write(out / f"{clip}.wav", utt.audio, utt.sample_rate, subtype="PCM_16")
            anim.save(out / f"{clip}.npz")
            duration = len(utt.audio) / utt.sample_rate
            spoken += duration
            clips.append({"clip": clip, "speaker": job["speaker"], "split": split, "sentence_id": int(sentence_id),
                          "text": utt.text, "duration_s": round(duration, 3), "frames": anim.num_frames})
    speaker_yaml = {"speaker": job["speaker"], "role": job["role"], "voice": job["voice"], "style": job["style"]}
    write_yaml(out / "speaker.yaml", speaker_yaml)
    return {"speaker": job["speaker"], "clips": clips}


@contextlib.contextmanager
def _spawnable_main():
    """Let spawned workers start when the parent's main module is not a file.

    spawn re-runs the parent's main file in every worker; when it is not a file (``python -`` with
    a heredoc, some embedded interpreters) each worker dies on start and the pool respawns them
    forever. Hiding that non-file path while the pool runs makes the workers skip the re-run.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or os.path.isfile(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: exit when the building process is gone (killed, even with SIGKILL), so no
    orphaned worker goes on speaking into a temporary folder nobody will move into place."""
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _as_completed(futures):
    """``as_completed`` that wakes every second: a signal may be delivered to another thread, and its
    Python handler (SIGTERM -> interrupt) runs only when the main thread runs."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
        yield from done


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the workers and wait for them, so none writes into the folder being removed."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API before 3.14
    pool.shutdown(wait=False, cancel_futures=True)  # (it forgets the processes)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


def build_corpus(recipe: CorpusRecipe, output: str | os.PathLike, overwrite: bool = False, progress=None) -> dict:
    """Build the corpus the recipe describes into ``output``; returns a summary dict."""
    from dtsdk._version import __version__
    from dtsdk.corpus.sentences import load_sentences
    from dtsdk.corpus.style import sample_style

    output = Path(output)
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise DtsdkError(f"{output}: already exists and is not empty (pass --overwrite to replace it)")
    started = time.perf_counter()
    sentences = load_sentences()
    pools = split_sentences(len(sentences), recipe.test_sentence_fraction, recipe.seed)
    train_ids, heldout_ids = speaker_ids(recipe.train_speakers, recipe.heldout_speakers)
    plans = plan_speakers(pools, train_ids, heldout_ids, seed=recipe.seed, train_minutes=recipe.train_minutes,
                          test_sentences=recipe.test_sentences, enroll_minutes=recipe.enroll_minutes,
                          heldout_test_sentences=recipe.heldout_test_sentences)
    voices = assign_voices(recipe, len(plans))
    workers = recipe.workers or os.cpu_count() or 1
    with atomic_dir(output) as tmp:
        jobs = []
        for plan, voice in zip(plans, voices):
            style = sample_style(np.random.default_rng([plan.seed, 4]))
            jobs.append({"speaker": plan.speaker, "role": plan.role, "seed": plan.seed, "fps": recipe.fps,
                         "voice": dataclasses.asdict(voice), "style": style.to_dict(),
                         "order": plan.sentence_order, "minutes": plan.minutes, "counts": plan.counts,
                         "dir": str(tmp / "speakers" / plan.speaker)})
        # Extra clips (swapped, pauses) in jobs of their own with their own streams: the natural jobs
        # above are exactly what they were before extra clips existed, so their clips stay byte-identical.
        extra_jobs = plan_extra_jobs(recipe, plans, jobs, pools)
        results, extra_results = [], []
        # concurrent.futures, not multiprocessing.Pool: a worker that dies (for instance a script
        # without an `if __name__ == "__main__":` guard, re-run by spawn) breaks the pool with an
        # error instead of being respawned forever.
        spawn = mp.get_context("spawn")
        with _spawnable_main(), ProcessPoolExecutor(min(workers, len(jobs)), mp_context=spawn,
                                                    initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
            try:
                natural = [pool.submit(_speak_speaker, job) for job in jobs]
                extra = [pool.submit(speak_extra_clips, job) for job in extra_jobs]
                for future in _as_completed(natural):
                    results.append(future.result())
                    if progress:
                        progress(1)
                extra_results = [future.result() for future in extra]
            except BrokenProcessPool:
                raise DtsdkError("a corpus worker process died while starting or speaking; when calling "
                                 "build_corpus from a script, put the call under `if __name__ == \"__main__\":` "
                                 "(worker processes re-import the main script)") from None
            except BaseException:  # interrupted: stop the speakers now, not after each one's last clip
                _stop_workers(pool)
                raise
        results.sort(key=lambda r: r["speaker"])
        clips = [c for r in results for c in r["clips"]]
        for clip in clips:
            clip.update({"voice_speaker": clip["speaker"], "style_speaker": clip["speaker"], "kind": "natural"})
        clips += _link_natural_clips(clips, [c for r in extra_results for c in r["clips"]])
        for clip in clips:
            folder = tmp / "speakers" / clip["speaker"]
            clip["wav"] = f"speakers/{clip['speaker']}/{clip['clip']}.wav"
            clip["motion"] = f"speakers/{clip['speaker']}/{clip['clip']}.npz"
            clip["sha256"] = {"wav": file_sha256(folder / f"{clip['clip']}.wav"),
                              "motion": file_sha256(folder / f"{clip['clip']}.npz")}
        manifest = {
            "format_version": CORPUS_FORMAT_VERSION,
            "generator": f"dtsdk {__version__}",
            "recipe": recipe.to_dict(),
            "synthetic": True,
            "fps": recipe.fps,
            "sample_rate": recipe.sample_rate,
            "speakers": [{"speaker": j["speaker"], "role": j["role"], "engine": j["voice"]["engine"],
                          "voice": j["voice"]["name"]} for j in jobs],
            "sentences": {"train_pool": len(pools.train), "test_pool": len(pools.test)},
            # style speaker -> the voice speakers of its swapped clips (dtsdk/corpus/extras.py)
            "swaps": {"swapped_test": swap_voices(train_ids, recipe.seed, "test"),
                      "train": (swap_voices(train_ids, recipe.seed, recipe.swapped_train_pairing)
                                if recipe.swapped_train_share > 0 else {})},
            "splits": {s: _split_summary(clips, s) for s in SPLITS},
            "clips": clips,
        }
        write_yaml(tmp / MANIFEST_NAME, manifest)
    seconds = time.perf_counter() - started
    return {"output": str(output), "speakers": len(plans), "clips": len(clips),
            "hours": round(sum(c["duration_s"] for c in clips) / 3600, 3), "build_seconds": round(seconds, 1),
            "splits": {s: manifest["splits"][s] for s in SPLITS}}


def _link_natural_clips(natural: list[dict], extra: list[dict]) -> list[dict]:
    """Extra clips, each swapped clip with ``natural_clip``: the voice speaker's natural clip of the
    same sentence (same audio, the voice's own style), when one exists."""
    by_key = {(c["speaker"], c["split"], c["sentence_id"]): c["clip"] for c in natural}
    out = []
    for clip in extra:
        clip = dict(clip)
        natural_split = clip.pop("natural_split", None)
        if clip["kind"] == "swapped":
            clip["natural_clip"] = by_key.get((clip["voice_speaker"], natural_split, clip["sentence_id"]))
        out.append(clip)
    return out


def _split_summary(clips, split) -> dict:
    chosen = [c for c in clips if c["split"] == split]
    return {"clips": len(chosen), "speakers": len({c["speaker"] for c in chosen}),
            "minutes": round(sum(c["duration_s"] for c in chosen) / 60, 2)}

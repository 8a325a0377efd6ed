"""Progressive distillation on a tiny teacher: the grid, the two-step target, one round that makes the
student's one step approach the teacher's two, frozen parts, resume, the ``distilled`` sampler's
refusals, recipes and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dtsdk.cli import main
from dtsdk.diffusion import NoiseSchedule
from dtsdk.distill import DistillRecipe, distill
from dtsdk.distill.common import frozen_inputs
from dtsdk.distill.progressive import student_step_pairs, two_step_target
from dtsdk.errors import DtsdkError
from dtsdk.inference import Talker
from dtsdk.model import DiffusionTalker
from dtsdk.samplers.distilled import ddim_update, distilled_timesteps, sample_distilled

SR = 16000


@pytest.fixture(scope="module")
def teacher(tiny_corpus, tmp_path_factory):
    """A tiny residual teacher trained a few dozen steps on the tiny corpus (seconds)."""
    from dtsdk.train import TrainRecipe, train

    out = tmp_path_factory.mktemp("teacher")
    recipe = TrainRecipe.from_yaml("teacher-tiny")
    recipe.corpus, recipe.steps, recipe.checkpoint_every, recipe.log_every = str(tiny_corpus), 40, 0, 20
    train(recipe, output=str(out))
    return out / "final"


def _recipe(teacher, corpus, **overrides) -> DistillRecipe:
    settings = dict(teacher=str(teacher), corpus=str(corpus), teacher_steps=4, final_steps=2, steps_per_round=150,
                    window_s=1.0, batch_size=4, lr=3e-3, warmup_steps=5, log_every=50, device="cpu")
    return DistillRecipe.from_dict({**settings, **overrides})


@pytest.fixture(scope="module")
def one_round(teacher, tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("distill")
    summary = distill(_recipe(teacher, tiny_corpus), output=str(out))
    return out, summary


def test_grids_nest_and_end_before_clean():
    for n in (50, 500, 1000):
        for k in (k for k in (1, 2, 4, 8, 16, 32) if 2 * k <= n):
            student, teacher = distilled_timesteps(n, k), distilled_timesteps(n, 2 * k)
            assert student[0] == n - 1 and len(student) == k
            assert all(a > b for a, b in zip(student, student[1:])), student
            assert teacher[::2] == student, f"the {2 * k}-step grid must hold the {k}-step grid at even positions"
    pairs = student_step_pairs(500, 2).tolist()
    assert pairs == [[499, 374, 249], [249, 124, -1]], pairs  # start, midpoint, end (-1 = clean)
    with pytest.raises(DtsdkError):
        distilled_timesteps(50, 51)


def test_two_step_target_makes_one_step_land_where_two_do():
    schedule = NoiseSchedule.cosine(500)
    abar = schedule.alphas_cumprod.float()
    gen = torch.Generator().manual_seed(0)
    x_t = torch.randn(3, 7, 5, generator=gen)
    t, t_mid, t_next = (torch.tensor([499, 249, 124]), torch.tensor([374, 186, 61]), torch.tensor([249, 124, -1]))

    def teacher(x, t, cond):  # any smooth nonlinear denoiser will do
        return torch.tanh(x) * (1 + t.view(-1, 1, 1) / 500)

    target = two_step_target(teacher, x_t, t, t_mid, t_next, {}, abar)
    one = torch.cat([abar, abar.new_ones(1)])
    a = lambda s: one[s].view(-1, 1, 1)  # noqa: E731
    two = ddim_update(x_t, teacher(x_t, t, {}), a(t), a(t_mid))
    two = ddim_update(two, teacher(two, t_mid, {}), a(t_mid), a(t_next))
    torch.testing.assert_close(ddim_update(x_t, target, a(t), a(t_next)), two, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(target[2], two[2])  # the last step lands on clean motion: the target is it


def _one_vs_two_error(student, teacher, corpus) -> float:
    """MSE of the student's one DDIM step against the teacher's two, over every student step, fixed batch."""
    from dtsdk.data.dataset import TalkingFaceDataset

    data = TalkingFaceDataset.from_corpus(corpus, "train", window_s=1.0, random_crop=False,
                                          speakers=teacher.config.identities)
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=8)))
    gen = torch.Generator().manual_seed(123)
    x0, cond = frozen_inputs(teacher, batch, 0.0, gen, "cpu")
    abar = teacher.schedule.alphas_cumprod.float()
    one = torch.cat([abar, abar.new_ones(1)])
    errors = []
    for t, t_mid, t_next in student_step_pairs(abar.shape[0], 2).tolist():
        tb = lambda s: torch.full((x0.shape[0],), s, dtype=torch.long)  # noqa: E731
        a_t = one[t]
        x_t = a_t.sqrt() * x0 + (1 - a_t).sqrt() * torch.randn(x0.shape, generator=gen)
        with torch.no_grad():
            target = two_step_target(teacher.objective.denoise, x_t, tb(t), tb(t_mid), tb(t_next), cond, abar)
            estimate = student.objective.denoise(x_t, tb(t), cond)
        errors.append(float(((estimate - target) ** 2).mean()))
    return float(np.mean(errors))


def test_one_round_makes_one_student_step_match_two_teacher_steps(one_round, teacher, tiny_corpus):
    out, summary = one_round
    teacher_model = DiffusionTalker.from_pretrained(teacher).eval()
    student = DiffusionTalker.from_pretrained(out / "student-2").eval()
    before = _one_vs_two_error(teacher_model, teacher_model, tiny_corpus)  # the student starts as the teacher
    after = _one_vs_two_error(student, teacher_model, tiny_corpus)
    assert after < 0.5 * before, f"one round took the one-vs-two-step error from {before:.5f} only to {after:.5f}"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [50, 100, 150] and all(r["student_steps"] == 2 for r in rows)
    assert summary["rounds"][0]["student_steps"] == 2 and (out / "rounds.json").is_file()


def test_student_keeps_everything_but_the_denoiser_and_names_its_sampler(one_round, teacher):
    out, _ = one_round
    before = DiffusionTalker.from_pretrained(teacher).state_dict()
    student = DiffusionTalker.from_pretrained(out / "student-2")
    after = student.state_dict()
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"denoiser"}, f"distillation changed {sorted(changed)}; only the denoiser may learn"
    config = student.config
    assert (config.default_sampler, config.default_steps, config.distilled_steps) == ("distilled", 2, [2])


def test_distilled_sampler_runs_its_count_and_refuses_others(one_round, teacher):
    out, _ = one_round
    wave = (0.1 * np.sin(np.arange(SR) / SR * 2 * np.pi * 150)).astype(np.float32)
    anim = Talker(out / "student-2", device="cpu").animate(wave, sr=SR, seed=0)
    assert anim.weights.shape == (30, 52) and anim.meta["sampler"] == "distilled" and anim.meta["steps"] == 2
    with pytest.raises(DtsdkError, match=r"distilled for 2 step\(s\), not 4"):
        Talker(out / "student-2", steps=4, device="cpu").animate(wave, sr=SR, seed=0)
    with pytest.raises(DtsdkError, match="not one"):  # a teacher is not a student
        Talker(teacher, sampler="distilled", device="cpu").animate(wave, sr=SR, seed=0)


def test_eta_adds_ancestral_noise_only_when_asked():
    schedule = NoiseSchedule.cosine(50)
    cond = {"distilled_steps": (4,)}
    model = lambda x_t, t, c: 0.5 * x_t  # noqa: E731
    x = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(0))
    runs = [sample_distilled(model, x, schedule, cond, steps=4, eta=eta, generator=torch.Generator().manual_seed(s))
            for eta, s in ((0.0, 1), (0.0, 2), (1.0, 1), (1.0, 2))]
    torch.testing.assert_close(runs[0], runs[1], atol=0, rtol=0)  # eta 0: the seed does not matter
    assert not torch.allclose(runs[2], runs[3])  # eta 1: it does


def test_a_finished_round_is_not_redone(one_round, teacher, tiny_corpus):
    out, _ = one_round
    stamp = (out / "student-2" / "model.safetensors").stat().st_mtime_ns
    first = json.loads((out / "rounds.json").read_text())[0]
    summary = distill(_recipe(teacher, tiny_corpus), output=str(out))
    assert summary["rounds"][0].get("resumed") is True
    assert summary["rounds"][0]["loss"] == first["loss"], "a resumed round must keep its earlier record"
    assert (out / "student-2" / "model.safetensors").stat().st_mtime_ns == stamp


def test_recipe_checks_the_halving_and_the_teacher(teacher, tiny_corpus, tmp_path):
    with pytest.raises(DtsdkError, match="power of 2"):
        DistillRecipe.from_dict({"teacher_steps": 12, "final_steps": 1})
    assert DistillRecipe.from_dict({"teacher_steps": 32, "final_steps": 2}).rounds == [16, 8, 4, 2]
    with pytest.raises(DtsdkError, match="unknown|not a field|no such"):
        DistillRecipe.from_dict({"teacher_stepz": 8})
    student_dir = tmp_path / "again"
    distill(_recipe(teacher, tiny_corpus, steps_per_round=2, warmup_steps=0), output=str(student_dir))
    with pytest.raises(DtsdkError, match="already a distilled student"):
        distill(_recipe(student_dir / "student-2", tiny_corpus), output=str(tmp_path / "twice"))


def test_cli_runs_a_recipe_file(teacher, tiny_corpus, tmp_path, capsys):
    recipe = tmp_path / "distill.yaml"
    recipe.write_text(f"distill:\n  teacher: {teacher}\n  corpus: {tiny_corpus}\n  teacher_steps: 2\n"
                      "  final_steps: 1\n  steps_per_round: 3\n  warmup_steps: 0\n  window_s: 1.0\n"
                      "  batch_size: 2\n  device: cpu\n")
    assert main(["distill", str(recipe), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "student-1" / "model.safetensors").is_file()
    assert main(["distill", str(tmp_path / "missing.yaml")]) != 0
    assert "missing.yaml" in capsys.readouterr().err


def test_compact_student_is_smaller_keeps_identities_and_learns(one_round, teacher, tiny_corpus):
    out, _ = one_round
    compact = {"from_steps": 2, "steps": 60, "lr": 3e-3, "warmup_steps": 5,
               "model": {"encoder_config": {"dim": 16, "num_conv_layers": 1, "num_transformer_layers": 0},
                         "denoiser": {"d_model": 16}}}
    summary = distill(_recipe(teacher, tiny_corpus, compact=compact, log_every=10), output=str(out))
    record = summary["rounds"][-1]
    full = DiffusionTalker.from_pretrained(out / "student-2")
    small = DiffusionTalker.from_pretrained(out / "compact-2")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(small) < 0.6 * count(full) and record["parameters"] == count(small)
    assert torch.equal(small.personalizer.bank, full.personalizer.bank)
    assert (small.config.default_sampler, small.config.distilled_steps) == ("distilled", [2])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()
            if json.loads(line)["round"] == "compact"]
    assert rows[-1]["mean"] < 0.5 * rows[0]["mean"], "the compact mean network did not learn the full one's"
    wave = (0.1 * np.sin(np.arange(SR) / SR * 2 * np.pi * 150)).astype(np.float32)
    assert Talker(out / "compact-2", device="cpu").animate(wave, sr=SR, seed=0).weights.shape == (30, 52)
    with pytest.raises(DtsdkError, match="from_steps 4"):
        _recipe(teacher, tiny_corpus, compact={"from_steps": 4})


def test_torchrun_two_gloo_processes_keep_the_ranks_in_lockstep(teacher, tiny_corpus, tmp_path):
    """`torchrun -m dtsdk distill`: both ranks end every round (and the compact student) with the same weights,
    only rank 0 writes, and the students are those of a complete run."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    recipe = tmp_path / "ddp.yaml"
    recipe.write_text(f"distill:\n  teacher: {teacher}\n  corpus: {tiny_corpus}\n  teacher_steps: 2\n"
                      "  final_steps: 1\n  steps_per_round: 4\n  warmup_steps: 0\n  window_s: 1.0\n"
                      "  batch_size: 2\n  log_every: 2\n  eval_every: 0\n  device: cpu\n"
                      "  compact:\n    from_steps: 1\n    steps: 3\n    warmup_steps: 0\n"
                      "    model: {denoiser: {d_model: 16, num_layers: 1, num_heads: 2}}\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          "--master_addr=127.0.0.1", f"--master_port={port}", "-m", "dtsdk", "distill", str(recipe),
                          "-o", str(tmp_path / "out")], cwd=Path(__file__).resolve().parents[1],
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    rounds = json.loads((tmp_path / "out" / "rounds.json").read_text())
    assert [r["student_steps"] for r in rounds] == [1, 1] and rounds[-1]["round"] == "compact"
    for record in rounds:
        digests = record["weights_sha256_per_rank"]
        assert len(digests) == 2 and digests[0] == digests[1], record
    student = DiffusionTalker.from_pretrained(tmp_path / "out" / "student-1")
    assert student.config.distilled_steps == [1]
    rows = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r.get("round") != "compact"] == [2, 4]  # one writer: no duplicate rows

"""Training on a folder of face images with landmark files (a user's photos, CK+-style data):
the layout, labels from names or labels.csv, alignment, a recipe that trains on it, one-line errors."""
import numpy as np
import pytest
import yaml
from PIL import Image

from dtsdk.cli import main
from dtsdk.errors import DtsdkError
from dtsdk_gcgan.folder import read_folder
from dtsdk_gcgan.landmarks import mediapipe_available
from dtsdk_gcgan.synthetic import EXPRESSION_NAMES
from dtsdk_gcgan.train import find_portrait_recipe


def write_person(folder, data, person, names):
    """``data``'s images of ``person`` as PNGs in ``folder`` with pixel landmarks in NAME.npy beside each
    (no sidecar: the reader must use the landmark file)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = np.flatnonzero(data.identities == person)
    for row, name in zip(rows, names):
        Image.fromarray(data.images[row]).save(folder / f"{name}.png")
        size = data.images.shape[1]
        np.save(folder / f"{name}.npy", (data.landmarks[row] + 1) / 2 * size)  # pixels
    return rows


@pytest.fixture
def faces(small_set, tmp_path):
    """Two people of the small set: anna by file names, ben by labels.csv; plus clutter to skip."""
    root = tmp_path / "faces"
    names = [EXPRESSION_NAMES[k] for k in small_set.labels[small_set.identities == 0][:3]]
    write_person(root / "anna", small_set, 0, [f"{n}_1" for n in names])
    write_person(root / "ben", small_set, 1, ["a", "b", "c"])
    ben = small_set.labels[small_set.identities == 1][:3]
    (root / "labels.csv").write_text("image,expression\n" + "".join(
        f"ben/{n}.png,{EXPRESSION_NAMES[k]}\n" for n, k in zip("abc", ben)))
    (root / "anna" / "notes.txt").write_text("not an image, not landmarks: skipped")
    (root / "anna" / "._smile_1.png").write_bytes(b"resource fork")  # hidden: skipped
    return root


def test_a_folder_reads_as_people_with_labels_and_aligned_landmarks(faces, small_set):
    data = read_folder(faces, 64)
    assert data.images.shape == (6, 64, 64, 3) and data.landmarks.shape == (6, 68, 2)
    assert data.identities.tolist() == [0, 0, 0, 1, 1, 1]
    anna = sorted(EXPRESSION_NAMES[k] for k in small_set.labels[small_set.identities == 0][:3])  # file order
    assert data.labels[:3].tolist() == [EXPRESSION_NAMES.index(n) for n in anna]  # from the names
    assert data.labels[3:].tolist() == small_set.labels[small_set.identities == 1][:3].tolist()  # labels.csv
    assert np.abs(data.landmarks).max() < 1  # normalised to the model's frame, on the image
    # Aligned as photos are: the stable points sit near the population's mean neutral face.
    from dtsdk_gcgan.synthetic import mean_neutral_landmarks

    stable = [0, 16, 27, 30, 36, 45]
    assert np.abs(data.landmarks[:, stable] - mean_neutral_landmarks()[stable]).mean() < 0.08


def test_a_recipe_trains_on_the_folder(faces, tmp_path, capsys):
    recipe = yaml.safe_load(find_portrait_recipe("tiny").read_text())
    recipe["portrait"]["data"] = {"folder": str(faces)}
    recipe["portrait"]["steps"] = 2
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["portrait", "train", str(tmp_path / "mine.yaml"), "-o", str(tmp_path / "ckpt"), "--json"]) == 0
    assert (tmp_path / "ckpt" / "model.safetensors").is_file()
    assert '"samples": 6' in capsys.readouterr().out


def test_folder_errors_name_the_file(faces, tmp_path):
    with pytest.raises(DtsdkError, match=r"nowhere: no such folder"):
        read_folder(tmp_path / "nowhere", 64)
    (faces / "anna" / "grin.png").write_bytes((faces / "anna" / f"{EXPRESSION_NAMES[0]}_1.png").read_bytes())
    with pytest.raises(DtsdkError, match=r"grin\.png: no expression label: start its name with one of neutral"):
        read_folder(faces, 64)
    (faces / "anna" / "grin.png").unlink()
    (faces / "labels.csv").write_text("ben/a.png,happy\n")
    with pytest.raises(DtsdkError, match=r"labels\.csv: line 1: 'happy' is not an expression; use one of"):
        read_folder(faces, 64)
    (faces / "labels.csv").write_text("ben/a.png\n")
    with pytest.raises(DtsdkError, match=r"labels\.csv: line 1: give 'image,expression'"):
        read_folder(faces, 64)
    (faces / "labels.csv").unlink()
    for extra in ("b", "c"):
        (faces / "ben" / f"{extra}.png").unlink()
    (faces / "ben" / "a.png").rename(faces / "ben" / "smile.png")
    (faces / "ben" / "a.npy").rename(faces / "ben" / "smile.npy")
    with pytest.raises(DtsdkError, match=r"ben: 1 image\(s\); a person needs two or more"):
        read_folder(faces, 64)
    (faces / "ben" / "surprise.png").write_bytes((faces / "ben" / "smile.png").read_bytes())  # no landmarks
    if not mediapipe_available():  # with it, MediaPipe finds them
        with pytest.raises(DtsdkError, match=r"surprise\.png: no landmarks for this image"):
            read_folder(faces, 64)
    np.save(faces / "ben" / "surprise.npy", np.zeros((60, 2)))
    with pytest.raises(DtsdkError, match=r"surprise\.npy"):
        read_folder(faces, 64)

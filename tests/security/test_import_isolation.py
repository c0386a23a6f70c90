"""Issue 18.1: an import never writes into, nor reads through, another owner's dataset.

Owner A (alice) has "Dataset A": one source pair, its caption and its image file. Owner B (bob)
tries, through the API, the admin and the command line: (1) to import into "Dataset A"; (2) to
import into a dataset of his own a record naming A's image path (which used to link his item to
A's source pair: overwriting A's caption, then reading it and downloading A's image).
"""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from audit.datasets import selectors
from audit.datasets.models import Dataset, Image, ImportJob, Item, SourcePair
from audit.datasets.services import dataset_import, import_job_create, import_job_run
from tests.conftest import png_bytes, write_json, write_zip
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

A_PATH = "images/patient_a.png"
A_CAPTION = "Alice's unpublished caption: CT of the chest, lesion in the left lobe."
B_CAPTION = "Bob was here."
IMPORT_PERMISSIONS = ("add_importjob", "view_importjob", "view_dataset")


def caption_record(rid: str, caption: str, path: str = A_PATH) -> dict:
    return {
        "id": rid,
        "image": [path],
        "Original_Caption": caption,
        "modality": "Computed Tomography",
        "body_part": "Chest",
    }


def importer(username: str, *, staff: bool = False):
    user = UserFactory(username=username, is_staff=staff)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="datasets", codename__in=IMPORT_PERMISSIONS
        )
    )
    return user


@pytest.fixture
def alice_dataset(tmp_path):
    alice = importer("alice")
    images = write_zip(tmp_path / "a.zip", {A_PATH: png_bytes(colour=(1, 2, 3))})
    path = write_json(tmp_path / "a.json", [caption_record("a1", A_CAPTION)])
    dataset_import(path=path, dataset_name="Dataset A", image_sources=[images], owner=alice)
    dataset = Dataset.objects.get(name="Dataset A")
    return alice, dataset, dataset.items.get().source_pair, Image.objects.get()


def assert_a_untouched(dataset, pair, image):
    """A's dataset, source pair and image link are as A imported them."""
    assert dataset.items.count() == 1
    pair.refresh_from_db()
    assert pair.caption == A_CAPTION
    assert list(pair.images.values_list("path", "image_id")) == [(A_PATH, image.pk)]
    assert Item.objects.filter(source_pair=pair).exclude(dataset=dataset).count() == 0


def assert_b_isolated(client, bob, b_name, pair, image):
    """B's item has a source pair of B's own; B can read neither A's caption nor A's image."""
    item = Item.objects.get(dataset__name=b_name)
    assert item.source_pair_id != pair.pk
    assert item.source_pair.caption == B_CAPTION
    assert not selectors.user_can_view_image(bob, image)
    client.force_login(bob)
    assert client.get(f"/api/source-pairs/{pair.pk}/").status_code == 404
    body = client.get(f"/api/items/{item.pk}/").json()
    assert all(ref["url"] is None for ref in body["images"])
    assert A_CAPTION not in client.get("/api/items/").content.decode()
    assert client.get(selectors.image_url(image)).status_code == 404


def b_file(tmp_path, name="b.json") -> bytes:
    return write_json(tmp_path / name, [caption_record("b1", B_CAPTION)]).read_bytes()


# --- through the API ------------------------------------------------------------------------


def test_api_refuses_an_import_into_another_owners_dataset(client, tmp_path, alice_dataset):
    _, dataset, pair, image = alice_dataset
    bob = importer("bob")
    client.force_login(bob)
    upload = SimpleUploadedFile("b.json", b_file(tmp_path))
    response = client.post("/api/import-jobs/", {"file": upload, "dataset": "Dataset A"})
    assert response.status_code == 400
    assert "not yours" in response.json()["dataset"][0]
    assert not ImportJob.objects.exists()
    assert_a_untouched(dataset, pair, image)


def test_a_job_into_another_owners_dataset_fails_when_it_runs(tmp_path, alice_dataset):
    """The check is made again by the import itself (a job asked for before A made the
    dataset, or one that bypassed the form)."""
    _, dataset, pair, image = alice_dataset
    job = import_job_create(
        upload=SimpleUploadedFile("b.json", b_file(tmp_path)),
        dataset_name="Dataset A",
        created_by=importer("bob"),
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == "failed" and "not yours" in job.error
    assert_a_untouched(dataset, pair, image)


def test_api_import_naming_another_owners_image_path_gets_its_own_pair(
    client, tmp_path, alice_dataset
):
    _, dataset, pair, image = alice_dataset
    bob = importer("bob")
    client.force_login(bob)
    upload = SimpleUploadedFile("b.json", b_file(tmp_path))
    response = client.post("/api/import-jobs/", {"file": upload, "dataset": "Dataset B"})
    assert response.status_code == 202, response.content
    job = import_job_run(job_id=response.json()["id"])
    assert job.status == "succeeded", job.error
    assert job.summary["source_pairs_created"] == 1 and job.summary["source_pairs_reused"] == 0
    assert_a_untouched(dataset, pair, image)
    assert_b_isolated(client, bob, "Dataset B", pair, image)


def test_own_image_file_under_another_owners_path_links_only_bobs_pair(
    client, tmp_path, alice_dataset
):
    """B names A's path and brings a different file under it: B's pair links B's image."""
    _, dataset, pair, image = alice_dataset
    bob = importer("bob")
    client.force_login(bob)
    zipped = write_zip(tmp_path / "b.zip", {A_PATH: png_bytes(colour=(200, 0, 0))}).read_bytes()
    response = client.post(
        "/api/import-jobs/",
        {
            "file": SimpleUploadedFile("b.json", b_file(tmp_path)),
            "images": [SimpleUploadedFile("b.zip", zipped)],
            "dataset": "Dataset B",
        },
    )
    assert import_job_run(job_id=response.json()["id"]).status == "succeeded"
    assert_a_untouched(dataset, pair, image)
    bobs = Item.objects.get(dataset__name="Dataset B").source_pair.images.get().image
    assert bobs.pk != image.pk and selectors.user_can_view_image(bob, bobs)
    assert not selectors.user_can_view_image(bob, image)


def test_same_image_bytes_stored_once_and_each_owner_reaches_it_through_own_pair(
    tmp_path, alice_dataset
):
    """Content-addressed files are shared on disk; access comes from each owner's own pair."""
    _alice, dataset, pair, image = alice_dataset
    bob = importer("bob")
    images = write_zip(tmp_path / "b.zip", {"mine/copy.png": png_bytes(colour=(1, 2, 3))})
    path = write_json(tmp_path / "b.json", [caption_record("b1", B_CAPTION, "mine/copy.png")])
    dataset_import(path=path, dataset_name="Dataset B", image_sources=[images], owner=bob)
    assert Image.objects.count() == 1
    bob_pair = Item.objects.get(dataset__name="Dataset B").source_pair
    assert bob_pair.pk != pair.pk and bob_pair.images.get().image_id == image.pk
    assert selectors.user_can_view_image(bob, image)  # he holds the very bytes
    assert_a_untouched(dataset, pair, image)


def test_superuser_may_import_into_an_owners_dataset_in_that_owners_scope(
    client, tmp_path, alice_dataset
):
    alice, dataset, pair, _image = alice_dataset
    client.force_login(StaffFactory(username="root"))
    content = write_json(tmp_path / "s.json", [caption_record("s1", "Corrected caption")])
    upload = SimpleUploadedFile("s.json", content.read_bytes())
    response = client.post("/api/import-jobs/", {"file": upload, "dataset": "Dataset A"})
    assert response.status_code == 202, response.content
    assert import_job_run(job_id=response.json()["id"]).status == "succeeded"
    dataset.refresh_from_db()
    assert dataset.owner == alice  # still A's: the import is made for the dataset's owner
    pair.refresh_from_db()
    assert pair.caption == "Corrected caption"  # A's own pair, updated for A
    assert SourcePair.objects.count() == 1 and pair.key.startswith(f"{alice.pk}:")


# --- through the admin ----------------------------------------------------------------------


def admin_post(client, tmp_path, dataset: str):
    upload = SimpleUploadedFile("b.json", b_file(tmp_path))
    return client.post(
        "/admin/datasets/importjob/add/",
        {"file": upload, "dataset": dataset, "format": "auto", "method": ""},
    )


def test_admin_refuses_an_import_into_another_owners_dataset(client, tmp_path, alice_dataset):
    """A staff owner (admin access, not a superuser) may read every dataset but write only
    his own."""
    _, dataset, pair, image = alice_dataset
    client.force_login(importer("bob", staff=True))
    response = admin_post(client, tmp_path, "Dataset A")
    assert response.status_code == 200
    assert "already exists and is not yours" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert_a_untouched(dataset, pair, image)


def test_admin_import_naming_another_owners_image_path_gets_its_own_pair(
    client, tmp_path, alice_dataset
):
    _, dataset, pair, image = alice_dataset
    bob = importer("bob", staff=True)
    client.force_login(bob)
    response = admin_post(client, tmp_path, "Dataset B")
    assert response.status_code == 302, response.content.decode()[:2000]
    job = import_job_run(job_id=ImportJob.objects.get().pk)
    assert job.status == "succeeded", job.error
    assert_a_untouched(dataset, pair, image)
    item = Item.objects.get(dataset__name="Dataset B")
    assert item.source_pair_id != pair.pk and item.source_pair.caption == B_CAPTION
    assert item.source_pair.key.startswith(f"{bob.pk}:")


# --- through the command line ---------------------------------------------------------------


def test_cli_as_another_owner_refuses_their_dataset(tmp_path, alice_dataset):
    _, dataset, pair, image = alice_dataset
    importer("bob")
    path = tmp_path / "b.json"
    path.write_bytes(b_file(tmp_path))
    with pytest.raises(CommandError):
        call_command(
            "import_dataset", str(path), "--dataset", "Dataset A", "--owner", "bob",
            "--no-progress",
        )  # fmt: skip
    assert_a_untouched(dataset, pair, image)


def test_cli_naming_another_owners_image_path_gets_its_own_pair(client, tmp_path, alice_dataset):
    _, dataset, pair, image = alice_dataset
    bob = importer("bob")
    path = tmp_path / "b.json"
    path.write_bytes(b_file(tmp_path))
    call_command(
        "import_dataset", str(path), "--dataset", "Dataset B", "--owner", "bob", "--no-progress"
    )
    assert Dataset.objects.get(name="Dataset B").owner == bob
    assert_a_untouched(dataset, pair, image)
    assert_b_isolated(client, bob, "Dataset B", pair, image)


def test_cli_owner_must_be_an_active_user(tmp_path, alice_dataset):
    path = tmp_path / "b.json"
    path.write_bytes(b_file(tmp_path))
    with pytest.raises(CommandError, match="no active user"):
        call_command(
            "import_dataset", str(path), "--dataset", "X", "--owner", "nobody", "--no-progress"
        )


def test_cli_without_owner_is_the_operator_and_keeps_the_datasets_scope(tmp_path, alice_dataset):
    """The operator may add to any dataset; its pairs stay in its owner's scope, and a new
    dataset without owner has pairs of its own."""
    alice, dataset, pair, _image = alice_dataset
    path = write_json(tmp_path / "o.json", [caption_record("o1", "Operator's caption")])
    call_command("import_dataset", str(path), "--dataset", "Dataset A", "--no-progress")
    assert dataset.items.count() == 2 and SourcePair.objects.count() == 1
    dataset.refresh_from_db()
    assert dataset.owner == alice and dataset.items.filter(source_pair=pair).count() == 2
    call_command("import_dataset", str(path), "--dataset", "Nobody's", "--no-progress")
    ownerless = Item.objects.get(dataset__name="Nobody's").source_pair
    assert ownerless.pk != pair.pk and ":" not in ownerless.key


def test_a_job_whose_user_is_gone_imports_nothing(tmp_path, alice_dataset):
    """A job outliving its user must not run as the operator (who may write anything)."""
    _, dataset, pair, image = alice_dataset
    bob = importer("bob")
    job = import_job_create(
        upload=SimpleUploadedFile("b.json", b_file(tmp_path)), dataset_name="Dataset A",
        created_by=bob,
    )  # fmt: skip
    bob.is_active = False
    bob.save()
    assert import_job_run(job_id=job.pk).status == "failed"
    bob.delete()
    job.refresh_from_db()
    assert job.created_by is None
    job = import_job_run(job_id=job.pk)
    assert job.status == "failed" and "deleted or deactivated" in job.error
    assert_a_untouched(dataset, pair, image)

"""CDK's BucketDeployment in the local cloud: source files copied into the destination bucket."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnOutput, CfnParameter, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment

# The LocalCloud front registers the service modules it imports; until it imports this one,
# importing it here registers its resource type.
import lambda_blueprints.testing.s3_deployment  # noqa: F401
from lambda_blueprints.testing import LocalCloud
from lambda_blueprints.testing.s3_deployment import content_type, included, replace_markers
from tests.conftest import CDK_CONTEXT

INDEX = "<!doctype html><title>Site</title><script src=app.js></script>"
SCRIPT = "fetch('config.json')"
#: A marker's value with quotes, which only JSON escaping keeps valid inside a JSON string.
GREETING = 'say "hi"'


def new_stack(name: str) -> Stack:
    return Stack(
        App(context=CDK_CONTEXT),
        name,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


@pytest.fixture(scope="module")
def site_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    (folder / "index.html").write_text(INDEX)
    (folder / "app.js").write_text(SCRIPT)
    (folder / "img").mkdir()
    (folder / "img" / "logo.svg").write_text("<svg/>")
    (folder / "LICENSE").write_text("MIT")
    return folder


def site_stack(folder: Path) -> Stack:
    """A site under ``web/`` with a generated config, and notes at the root of another bucket."""
    stack = new_stack("Site")
    site = s3.Bucket(stack, "Site")
    other = s3.Bucket(stack, "Other")
    greeting = CfnParameter(stack, "Greeting", default=GREETING)
    web = s3_deployment.BucketDeployment(
        stack,
        "Web",
        destination_bucket=site,
        destination_key_prefix="web",
        sources=[
            s3_deployment.Source.asset(str(folder)),
            s3_deployment.Source.json_data(
                "config.json", {"bucket": other.bucket_name, "region": stack.region}
            ),
            # A later source's file replaces an earlier one's.
            s3_deployment.Source.data("LICENSE", "Apache-2.0"),
            # The value inside a JSON string of the file: escaped, it keeps the JSON valid.
            s3_deployment.Source.data(
                "greeting.json",
                '{"greeting": "' + greeting.value_as_string + '"}',
                json_escape=True,
            ),
        ],
    )
    CfnOutput(stack, "DeployedBucket", value=web.deployed_bucket.bucket_name)
    s3_deployment.BucketDeployment(
        stack,
        "Notes",
        destination_bucket=other,
        sources=[s3_deployment.Source.data("notes.txt", f"site bucket: {site.bucket_name}")],
        cache_control=[s3_deployment.CacheControl.max_age(Duration.minutes(5))],
        metadata={"Team": "web"},
    )
    return stack


@pytest.fixture(scope="module")
def stack(site_folder: Path) -> Stack:
    return site_stack(site_folder)


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as local:
        yield local


def get(cloud: LocalCloud, bucket: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = cloud.client("s3").get_object(Bucket=bucket, Key=key)
    return found


def keys(cloud: LocalCloud, bucket: str) -> list[str]:
    listed = cloud.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(str(o["Key"]) for o in listed)


def test_the_files_of_a_folder_arrive_under_the_prefix_with_their_content_types(
    cloud: LocalCloud, stack: Stack
) -> None:
    deployed = cloud.deploy(stack)
    site = deployed.physical_id("Site")

    assert keys(cloud, site) == [
        "web/LICENSE",
        "web/app.js",
        "web/config.json",
        "web/greeting.json",
        "web/img/logo.svg",
        "web/index.html",
    ]
    index = get(cloud, site, "web/index.html")
    assert index["Body"].read().decode() == INDEX
    assert index["ContentType"] == "text/html"
    assert get(cloud, site, "web/app.js")["ContentType"] == "text/javascript"
    assert get(cloud, site, "web/img/logo.svg")["ContentType"] == "image/svg+xml"
    assert get(cloud, site, "web/config.json")["ContentType"] == "application/json"
    # Nothing to guess from: S3's default.
    license_file = get(cloud, site, "web/LICENSE")
    assert license_file["ContentType"] == "binary/octet-stream"
    assert license_file["Body"].read() == b"Apache-2.0"
    assert "Custom::CDKBucketDeployment" not in {kind for _, _, kind in cloud.skipped}


def test_the_tokens_of_json_data_are_the_deployed_names(cloud: LocalCloud, stack: Stack) -> None:
    deployed = cloud.deploy(stack)

    config = json.loads(get(cloud, deployed.physical_id("Site"), "web/config.json")["Body"].read())

    assert config == {"bucket": deployed.physical_id("Other"), "region": "us-east-1"}


def test_the_deployed_bucket_is_the_destination(cloud: LocalCloud, stack: Stack) -> None:
    deployed = cloud.deploy(stack)

    assert deployed.outputs["DeployedBucket"] == deployed.physical_id("Site")


def test_json_escaped_markers_keep_the_json_valid(cloud: LocalCloud, stack: Stack) -> None:
    deployed = cloud.deploy(stack)

    body = get(cloud, deployed.physical_id("Site"), "web/greeting.json")["Body"].read()

    assert json.loads(body) == {"greeting": GREETING}


def test_data_without_a_prefix_lands_at_the_root_with_its_metadata(
    cloud: LocalCloud, stack: Stack
) -> None:
    deployed = cloud.deploy(stack)
    other = deployed.physical_id("Other")

    notes = get(cloud, other, "notes.txt")

    assert keys(cloud, other) == ["notes.txt"]
    assert notes["Body"].read().decode() == f"site bucket: {deployed.physical_id('Site')}"
    assert notes["ContentType"] == "text/plain"
    assert notes["CacheControl"] == "max-age=300"
    assert notes["Metadata"] == {"team": "web"}


def existing_bucket_stack(*, prune: bool, extract: bool = True) -> Stack:
    """Deploy a zip of an existing bucket into another existing bucket (both imported)."""
    stack = new_stack("Existing")
    s3_deployment.BucketDeployment(
        stack,
        "Deploy",
        destination_bucket=s3.Bucket.from_bucket_name(stack, "Destination", "existing-site"),
        destination_key_prefix="web/",
        sources=[
            s3_deployment.Source.bucket(
                s3.Bucket.from_bucket_name(stack, "Sources", "existing-sources"), "bundle.zip"
            )
        ],
        prune=prune,
        extract=extract,
        exclude=["*.log"],
    )
    return stack


def bundle() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # A fixed time: the bytes must be the same whenever the bundle is built.
        for name, text in (
            ("index.html", INDEX),
            ("css/", ""),
            ("css/site.css", "body{}"),
            ("debug.log", "never deployed"),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def existing_buckets(cloud: LocalCloud) -> None:
    s3_client = cloud.client("s3")
    s3_client.create_bucket(Bucket="existing-sources")
    s3_client.put_object(Bucket="existing-sources", Key="bundle.zip", Body=bundle())
    s3_client.create_bucket(Bucket="existing-site")
    for key in ("web/stale.html", "web/old/page.html", "web/kept.log", "elsewhere/page.html"):
        s3_client.put_object(Bucket="existing-site", Key=key, Body=b"before")


def test_prune_deletes_what_no_source_has_under_the_prefix_but_excluded_files(
    cloud: LocalCloud,
) -> None:
    existing_buckets(cloud)

    cloud.deploy(existing_bucket_stack(prune=True))

    assert keys(cloud, "existing-site") == [
        "elsewhere/page.html",
        "web/css/site.css",
        "web/index.html",
        "web/kept.log",
    ]
    assert get(cloud, "existing-site", "web/css/site.css")["ContentType"] == "text/css"
    assert get(cloud, "existing-site", "web/kept.log")["Body"].read() == b"before"


def test_without_prune_what_was_there_stays(cloud: LocalCloud) -> None:
    existing_buckets(cloud)

    cloud.deploy(existing_bucket_stack(prune=False))

    assert keys(cloud, "existing-site") == [
        "elsewhere/page.html",
        "web/css/site.css",
        "web/index.html",
        "web/kept.log",
        "web/old/page.html",
        "web/stale.html",
    ]


def test_without_extract_the_zip_itself_is_copied(cloud: LocalCloud) -> None:
    existing_buckets(cloud)

    cloud.deploy(existing_bucket_stack(prune=False, extract=False))

    copied = get(cloud, "existing-site", "web/bundle.zip")
    assert copied["ContentType"] == "application/zip"
    assert copied["Body"].read() == bundle()
    assert "web/index.html" not in keys(cloud, "existing-site")


def test_a_source_that_is_nowhere_fails_the_deploy(cloud: LocalCloud) -> None:
    cloud.client("s3").create_bucket(Bucket="existing-site")

    with pytest.raises(ValueError, match=r"s3://existing-sources/bundle\.zip is neither"):
        cloud.deploy(existing_bucket_stack(prune=True))


def test_markers_are_replaced_in_every_file_of_their_source_only() -> None:
    files = {"a.txt": b"<<marker:0xbaba:0>>/<<marker:0xbaba:1>>", "b.txt": b"<<marker:0xbaba:1>>"}

    replaced = replace_markers(files, {"<<marker:0xbaba:0>>": "x", "<<marker:0xbaba:1>>": 'y"'})
    escaped = replace_markers(files, {"<<marker:0xbaba:1>>": 'y"'}, json_escape=True)

    assert replaced == {"a.txt": b'x/y"', "b.txt": b'y"'}
    assert escaped == {"a.txt": b'<<marker:0xbaba:0>>/y\\"', "b.txt": b'y\\"'}
    assert replace_markers(files, {}) == files


def test_the_last_matching_filter_decides_as_in_aws_s3_sync() -> None:
    filters = [(False, "*"), (True, "*.html"), (False, "drafts/*")]

    assert included("index.html", filters)
    assert included("docs/page.html", filters)  # * crosses /
    assert not included("drafts/page.html", filters)
    assert not included("app.js", filters)
    assert included("app.js", [])


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("index.html", "text/html"),
        ("app.js", "text/javascript"),
        ("module.mjs", "text/javascript"),
        ("style.CSS", "text/css"),
        ("data.json", "application/json"),
        ("README", None),
    ],
)
def test_content_types_follow_the_handlers_python(key: str, expected: str | None) -> None:
    assert content_type(key) == expected

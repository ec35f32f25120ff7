"""CDK's ``BucketDeployment`` in the local cloud: source files copied into a bucket.

``aws_s3_deployment.BucketDeployment`` synthesizes a ``Custom::CDKBucketDeployment``
resource whose function (CDK's ``bucket-deployment-handler``) unzips each source and runs
``aws s3 sync`` into the destination bucket. The local cloud does the same at deploy, in
process, and never runs the function:

* Each source (``SourceBucketNames`` and ``SourceObjectKeys``, one pair per source) is the
  zip that CDK published: a staged asset of the assembly (``Source.asset``, and
  ``Source.data``/``json_data``/``yaml_data``, which stage a generated file), or else an
  object already in moto's S3 (``Source.bucket``).
* With ``Extract`` (the default) the files of each source are unpacked in order, a later
  source's file replacing an earlier one's at the same path, and the markers of the
  source (``SourceMarkers``, ``<<marker:0xbaba:N>>`` to its resolved value) are replaced in
  its own files, JSON-escaped when its ``SourceMarkersConfig`` has ``jsonEscape``. Without
  it, each zip is copied as it is, named by the end of its object key.
* Every file is uploaded to ``DestinationBucketKeyPrefix`` + its path (a prefix without a
  trailing ``/`` gets one, ``/`` alone means none), with the content type guessed from
  its name (:func:`content_type`) unless ``SystemMetadata`` sets ``content-type``, and
  the other ``SystemMetadata`` (``cache-control``, ``content-disposition``,
  ``content-encoding``, ``content-language``, ``expires``, ``sse``, ``sse-kms-key-id``,
  ``storage-class``, ``website-redirect``, ``acl``) and ``UserMetadata``.
* ``Prune`` (the default) deletes the objects under the prefix that no source has.
  ``Exclude`` and ``Include`` filter both sides, as ``aws s3 sync`` does: every path is
  in until a pattern (``fnmatch``, ``*`` crossing ``/``) matches it; the last matching
  pattern decides, the ``Include`` patterns coming after the ``Exclude`` ones.

``Ref`` is ``aws.cdk.s3deployment.<uuid>``, and the attribute ``DestinationBucketArn``
is there when the template asks for it (CDK's ``deployed_bucket``). Not emulated: the
CloudFront invalidation of ``DistributionId`` (nothing is cached locally), the
``SourceObjectKeys`` and ``SourceObjectVersionIds`` attributes (lists), ``SignContent``,
updates and deletes (``RetainOnDelete``), and ``aws s3 sync``'s skipping of files that
are unchanged: every file is uploaded, as the handler's fresh extraction makes every file
newer than the bucket's copy.
"""

from __future__ import annotations

import fnmatch
import io
import json
import mimetypes
import posixpath
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys

#: UNSPECIFIED: the handler guesses content types with Python's ``mimetypes`` on its Lambda
#: runtime (Python 3.13). The local cloud uses the running Python's built-in table, not the
#: host's ``mime.types`` files, so that types do not depend on the machine, with the
#: entries where Python 3.13's table differs from older ones.
CONTENT_TYPE_OVERRIDES: Mapping[str, str] = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
}
#: ``SystemMetadata`` keys (``aws s3 sync`` options) and the ``PutObject`` parameter of each.
SYSTEM_METADATA: Mapping[str, str] = {
    "content-type": "ContentType",
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "expires": "Expires",
    "sse": "ServerSideEncryption",
    "sse-kms-key-id": "SSEKMSKeyId",
    "storage-class": "StorageClass",
    "website-redirect": "WebsiteRedirectLocation",
    "acl": "ACL",
}
#: ``SystemMetadata`` that has no effect on an upload (CDK maps a customer algorithm to the
#: copy-source option of ``aws s3 sync``).
IGNORED_SYSTEM_METADATA = frozenset({"sse-c-copy-source"})
_TYPES = mimetypes.MimeTypes()


def content_type(key: str) -> str | None:
    """The content type ``aws s3 sync`` gives a file, from its name; None for none.

    S3 stores an object without one as ``binary/octet-stream``.
    """
    extension = posixpath.splitext(key)[1].lower()
    if extension in CONTENT_TYPE_OVERRIDES:
        return CONTENT_TYPE_OVERRIDES[extension]
    return _TYPES.guess_type(key, strict=True)[0]


def _flag(value: Any, default: bool) -> bool:
    """A custom resource property as the handler reads it (CloudFormation sends strings)."""
    if value is None:
        return default
    return str(value).lower() == "true"


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()
        }


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _zipped(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _source(stack: Deployment, bucket: str, key: str) -> tuple[dict[str, bytes], bytes | None]:
    """The files of one source, and its zip's bytes when it is one (not a staged folder).

    Raises:
        ValueError: The source is neither an asset of the assembly nor an object in S3.
    """
    staged = stack.assets.get(key)
    if staged is not None and staged.is_dir():
        return _folder_files(staged), None
    if staged is not None:
        data = staged.read_bytes()
        return _zip_files(data), data
    s3 = stack.context.client("s3")
    try:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise ValueError(
            f"BucketDeployment source s3://{bucket}/{key} is neither an asset of the "
            f"assembly nor an object in the local cloud's S3 (stack {stack.stack_name})"
        ) from error
    return _zip_files(data), data


def replace_markers(
    files: Mapping[str, bytes], markers: Mapping[str, Any], *, json_escape: bool = False
) -> dict[str, bytes]:
    """Replace a source's markers in each of its files, as the handler does.

    Args:
        files: The source's files by path.
        markers: Marker (``<<marker:0xbaba:0>>``) to the value it stands for.
        json_escape: Escape each value as inside a JSON string (``SourceMarkersConfig``'s
            ``jsonEscape``).
    """
    if not markers:
        return dict(files)
    tokens: list[tuple[bytes, bytes]] = []
    for marker, value in markers.items():
        text = _text(value)
        if json_escape:
            serialized = json.dumps(text)
            text = serialized[1:-1]
        tokens.append((marker.encode(), text.encode()))
    replaced: dict[str, bytes] = {}
    for name, data in files.items():
        for token, value in tokens:
            data = data.replace(token, value)
        replaced[name] = data
    return replaced


def included(path: str, filters: Iterable[tuple[bool, str]]) -> bool:
    """Whether ``aws s3 sync`` acts on ``path`` (relative to the source or prefix).

    Args:
        path: The file's path, ``/``-separated.
        filters: ``(include, pattern)`` in order; the last matching one decides.
    """
    chosen = True
    for include, pattern in filters:
        if fnmatch.fnmatchcase(path, pattern):
            chosen = include
    return chosen


def _key_prefix(props: Mapping[str, Any]) -> str:
    prefix = _text(props.get("DestinationBucketKeyPrefix") or "")
    if prefix == "/":
        return ""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _upload_parameters(props: Mapping[str, Any]) -> dict[str, Any]:
    """``PutObject`` parameters of ``SystemMetadata`` and ``UserMetadata``.

    Raises:
        NotImplementedError: A ``SystemMetadata`` key the local cloud does not know.
    """
    found: dict[str, Any] = {}
    for name, value in (props.get("SystemMetadata") or {}).items():
        key = str(name).lower()
        if key in IGNORED_SYSTEM_METADATA:
            continue
        if key not in SYSTEM_METADATA:
            raise NotImplementedError(
                f"BucketDeployment SystemMetadata {name!r} is not emulated by the local cloud"
            )
        found[SYSTEM_METADATA[key]] = _text(value)
    user = props.get("UserMetadata") or {}
    if user:
        found["Metadata"] = {str(k).lower(): _text(v) for k, v in user.items()}
    return found


def _contents(stack: Deployment, props: Mapping[str, Any]) -> dict[str, bytes]:
    """What the handler's working folder holds before the sync: path to bytes."""
    buckets: Sequence[Any] = props["SourceBucketNames"]
    keys: Sequence[Any] = props["SourceObjectKeys"]
    markers: Sequence[Any] = props.get("SourceMarkers") or [{} for _ in keys]
    configs: Sequence[Any] = props.get("SourceMarkersConfig") or [{} for _ in keys]
    if not len(buckets) == len(keys) == len(markers):
        raise ValueError("'source_markers' and 's3_source_zips' must be the same length")
    extract = _flag(props.get("Extract"), True)
    contents: dict[str, bytes] = {}
    for index, (bucket, key) in enumerate(zip(buckets, keys, strict=True)):
        files, archive = _source(stack, str(bucket), str(key))
        if not extract:
            contents[posixpath.basename(str(key))] = archive or _zipped(files)
            continue
        config = configs[index] if index < len(configs) else {}
        contents.update(
            replace_markers(
                files,
                markers[index] or {},
                json_escape=_flag((config or {}).get("jsonEscape"), False),
            )
        )
    return contents


@deploys("Custom::CDKBucketDeployment")
def _bucket_deployment(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    bucket = str(props["DestinationBucketName"])
    prefix = _key_prefix(props)
    filters = [(False, str(p)) for p in props.get("Exclude") or ()] + [
        (True, str(p)) for p in props.get("Include") or ()
    ]
    uploads = _upload_parameters(props)
    s3 = stack.context.client("s3")
    contents = _contents(stack, props)
    for path, data in contents.items():
        if not included(path, filters):
            continue
        parameters = dict(uploads)
        guessed = content_type(path)
        if "ContentType" not in parameters and guessed:
            parameters["ContentType"] = guessed
        s3.put_object(Bucket=bucket, Key=prefix + path, Body=data, **parameters)
    if _flag(props.get("Prune"), True):
        stale: list[dict[str, str]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                path = str(item["Key"])[len(prefix) :]
                if path not in contents and included(path, filters):
                    stale.append({"Key": str(item["Key"])})
        for start in range(0, len(stale), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})
    attributes: dict[str, str] = {}
    if props.get("DestinationBucketArn"):
        attributes["DestinationBucketArn"] = str(props["DestinationBucketArn"])
    return Resource(
        logical_id,
        "Custom::CDKBucketDeployment",
        "",
        f"aws.cdk.s3deployment.{uuid.uuid4()}",
        attributes,
    )

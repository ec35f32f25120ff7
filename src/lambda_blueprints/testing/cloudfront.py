"""CloudFront in the local cloud: a distribution answering from its S3 and API origins.

:class:`Distributions` keeps the ``AWS::CloudFront::Distribution`` and
``AWS::CloudFront::ResponseHeadersPolicy`` resources a template deploys, and
:meth:`Distributions.request` answers a viewer request as the distribution would:

* The request path picks the cache behavior: the first of ``CacheBehaviors`` whose
  ``PathPattern`` matches (``*`` any characters, ``?`` one, case-sensitive), else the
  default behavior. A method the behavior does not allow answers ``403``.
* An S3 origin (a bucket's regional or global domain name) answers ``GET`` and ``HEAD``
  with the object at the path (``DefaultRootObject`` for ``/``) from the bucket in moto,
  with its content type; a missing object answers ``403`` with S3's ``AccessDenied`` XML,
  as a bucket behind origin access control does (the distribution cannot list it).
* An API Gateway origin (``<id>.execute-api.<region>.amazonaws.com``) answers through the
  local API Gateway: the ``OriginPath`` (``/prod``) names the stage, and the request goes
  on with its method, path, query, headers (without ``Host``) and body.
* The behavior's response headers policy adds its security headers (content security
  policy, strict transport security, content type options, frame options, referrer
  policy, XSS protection) and custom headers, replacing the origin's where it says
  ``Override``.

Not emulated: caching (every request reaches its origin), CloudFront Functions and
Lambda@Edge, signed URLs, geo restrictions, WAF, custom error responses, origin groups,
custom origins other than API Gateway, and TLS (the local server speaks plain HTTP).
"""

from __future__ import annotations

import fnmatch
import re
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.apigateway import HttpResponse, _response

if TYPE_CHECKING:
    from lambda_blueprints.testing._core import ServiceContext

#: Resource types of CloudFront the local cloud deploys.
CLOUDFRONT_TYPES = frozenset(
    {"AWS::CloudFront::Distribution", "AWS::CloudFront::ResponseHeadersPolicy"}
)
_S3_DOMAIN = re.compile(r"^(?P<bucket>.+?)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$")
_API_DOMAIN = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com$")
_ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)

#: ``ApiGateway.request``: method, path, and keywords query, headers, body, api, stage.
ApiRequest = Callable[..., HttpResponse]


@dataclass
class Distribution:
    """A deployed distribution: its id, domain and configuration (resolved)."""

    id: str
    domain_name: str
    logical_id: str
    config: Mapping[str, Any]
    origins: dict[str, Mapping[str, Any]] = field(default_factory=dict)


class Distributions:
    """The local CloudFront: deployed distributions, answering viewer requests."""

    def __init__(self, context: ServiceContext, api_request: ApiRequest) -> None:
        self._context = context
        self._api_request = api_request
        #: Distributions by id.
        self.distributions: dict[str, Distribution] = {}
        #: Response headers policies by id.
        self.policies: dict[str, Mapping[str, Any]] = {}

    def deploy(self, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
        """Deploy a distribution or a response headers policy from its resolved properties."""
        if kind == "AWS::CloudFront::ResponseHeadersPolicy":
            policy_id = _new_id(36, string.ascii_lowercase + string.digits)
            self.policies[policy_id] = dict(props.get("ResponseHeadersPolicyConfig") or {})
            return Resource(logical_id, kind, "", policy_id, {"Id": policy_id})
        config = dict(props.get("DistributionConfig") or {})
        distribution_id = "E" + _new_id(13, string.ascii_uppercase + string.digits)
        domain = f"d{_new_id(13, string.ascii_lowercase + string.digits)}.cloudfront.net"
        distribution = Distribution(distribution_id, domain, logical_id, config)
        for origin in config.get("Origins") or ():
            distribution.origins[str(origin["Id"])] = dict(origin)
        self.distributions[distribution_id] = distribution
        return Resource(
            logical_id, kind, "", distribution_id, {"Id": distribution_id, "DomainName": domain}
        )

    def find(self, distribution: str | None = None) -> Distribution:
        """The distribution of an id, domain name or logical id; the only one for None.

        Raises:
            ValueError: None match, or several when ``distribution`` is None.
        """
        found = [
            d
            for d in self.distributions.values()
            if distribution in (None, d.id, d.domain_name, d.logical_id)
        ]
        if len(found) != 1:
            known = sorted(f"{d.logical_id} ({d.id})" for d in self.distributions.values())
            wanted = "one" if distribution is None else repr(distribution)
            raise ValueError(f"{len(found)} distributions match {wanted}: {known}")
        return found[0]

    # -- requests ------------------------------------------------------------------------

    def request(
        self,
        distribution: Distribution,
        method: str,
        path: str,
        *,
        query: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        """Answer a viewer request to ``distribution`` as CloudFront would (see the module).

        Raises:
            NotImplementedError: The behavior's origin is neither S3 nor API Gateway.
        """
        behavior = _behavior(distribution.config, path)
        allowed = [str(m).upper() for m in behavior.get("AllowedMethods") or ("GET", "HEAD")]
        if method.upper() not in allowed:
            response = _response(403, {"Content-Type": "text/plain"}, {}, b"Method not allowed")
        else:
            origin = distribution.origins[str(behavior["TargetOriginId"])]
            response = self._from_origin(
                distribution, origin, method.upper(), path, query or {}, headers or {}, body
            )
        policy = self.policies.get(str(behavior.get("ResponseHeadersPolicyId") or ""))
        return _with_policy(response, policy) if policy else response

    def _from_origin(
        self,
        distribution: Distribution,
        origin: Mapping[str, Any],
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> HttpResponse:
        domain = str(origin.get("DomainName") or "")
        origin_path = str(origin.get("OriginPath") or "")
        bucket = _S3_DOMAIN.match(domain)
        if bucket is not None:
            return self._object(distribution, bucket.group("bucket"), origin_path, method, path)
        api = _API_DOMAIN.match(domain)
        if api is not None:
            stage, _, rest = origin_path.strip("/").partition("/")
            forwarded = {k: v for k, v in headers.items() if k.lower() != "host"}
            return self._api_request(
                method,
                (f"/{rest}" if rest else "") + path,
                query=dict(query),
                headers=forwarded,
                body=body,
                api=api.group("api"),
                stage=stage,
            )
        raise NotImplementedError(
            f"{distribution.logical_id}: origin {origin.get('Id')!r} ({domain}) is neither an "
            "S3 bucket nor an API Gateway REST API; other origins are not emulated"
        )

    def _object(
        self, distribution: Distribution, bucket: str, origin_path: str, method: str, path: str
    ) -> HttpResponse:
        key = path.lstrip("/")
        if not key:
            key = str(distribution.config.get("DefaultRootObject") or "")
        key = f"{origin_path.strip('/')}/{key}".lstrip("/")
        s3 = self._context.client("s3")
        try:
            found = s3.get_object(Bucket=bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            return _response(403, {"Content-Type": "application/xml"}, {}, _ACCESS_DENIED)
        content = found["Body"].read()
        headers = {
            "Content-Type": found.get("ContentType") or "binary/octet-stream",
            "ETag": found.get("ETag", ""),
            "X-Cache": "Miss from cloudfront",
        }
        return _response(200, headers, {}, b"" if method == "HEAD" else content)


def _behavior(config: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """The cache behavior of a path: the first pattern that matches, else the default."""
    for behavior in config.get("CacheBehaviors") or ():
        pattern = str(behavior.get("PathPattern") or "")
        if not pattern.startswith("/"):
            pattern = "/" + pattern
        if fnmatch.fnmatchcase(path, pattern):
            return dict(behavior)
    return dict(config.get("DefaultCacheBehavior") or {})


_SECURITY_HEADERS: tuple[tuple[str, str, Callable[[Mapping[str, Any]], str]], ...] = (
    (
        "ContentSecurityPolicy",
        "Content-Security-Policy",
        lambda c: str(c.get("ContentSecurityPolicy", "")),
    ),
    (
        "StrictTransportSecurity",
        "Strict-Transport-Security",
        lambda c: "; ".join(
            [f"max-age={c.get('AccessControlMaxAgeSec', 0)}"]
            + (["includeSubDomains"] if c.get("IncludeSubdomains") else [])
            + (["preload"] if c.get("Preload") else [])
        ),
    ),
    ("ContentTypeOptions", "X-Content-Type-Options", lambda c: "nosniff"),
    ("FrameOptions", "X-Frame-Options", lambda c: str(c.get("FrameOption", ""))),
    ("ReferrerPolicy", "Referrer-Policy", lambda c: str(c.get("ReferrerPolicy", ""))),
    (
        "XSSProtection",
        "X-XSS-Protection",
        lambda c: (
            "1"
            + ("; mode=block" if c.get("ModeBlock") else "")
            + (f"; report={c['ReportUri']}" if c.get("ReportUri") else "")
            if c.get("Protection")
            else "0"
        ),
    ),
)


def _with_policy(response: HttpResponse, policy: Mapping[str, Any]) -> HttpResponse:
    """The response with a response headers policy's security and custom headers."""
    headers = {name: list(values) for name, values in response.multi_value_headers.items()}

    def put(name: str, value: str, override: bool) -> None:
        existing = [key for key in headers if key.lower() == name.lower()]
        if existing and not override:
            return
        for key in existing:
            del headers[key]
        headers[name] = [value]

    security = policy.get("SecurityHeadersConfig") or {}
    for key, name, render in _SECURITY_HEADERS:
        setting = security.get(key)
        if setting:
            put(name, render(setting), bool(setting.get("Override")))
    for custom in (policy.get("CustomHeadersConfig") or {}).get("Items") or ():
        put(str(custom["Header"]), str(custom["Value"]), bool(custom.get("Override")))
    return _response(response.status, {}, headers, response.content)


def _new_id(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@deploys(*CLOUDFRONT_TYPES)
def _cloudfront(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    return stack.service(Distributions).deploy(kind, logical_id, props)

"""LocalCloud.serve: deployed REST APIs answered over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest
from aws_cdk import App, DefaultStackSynthesizer, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_

from lambda_blueprints.testing import Clock, DeployedStack, LocalCloud, LocalServer
from tests.conftest import CDK_CONTEXT
from tests.testing.test_apigateway import build_stack

#: Sockets may reach the loopback address only.
LOOPBACK = pytest.mark.allow_hosts(["127.0.0.1"])

#: Counts the invocations running at once; a second one overlapping the first shows.
PROBE = textwrap.dedent(
    """
    import json, time

    RUNNING = [0]
    PEAK = [0]

    def handler(event, context):
        RUNNING[0] += 1
        PEAK[0] = max(PEAK[0], RUNNING[0])
        try:
            time.sleep(float((event["queryStringParameters"] or {}).get("sleep", "0.05")))
        finally:
            RUNNING[0] -= 1
        return {
            "statusCode": 200,
            "body": json.dumps(
                {
                    "n": (event["queryStringParameters"] or {}).get("n"),
                    "peak": PEAK[0],
                    "stage": event["requestContext"]["stage"],
                }
            ),
        }
    """
)


def build_served_stack() -> Stack:
    """An API with two stages and a function that notices concurrent invocations."""
    stack = Stack(
        App(context=CDK_CONTEXT),
        "Served",
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    probe = lambda_.Function(
        stack,
        "Probe",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(PROBE),
    )
    api = apigateway.RestApi(
        stack,
        "ServedApi",
        rest_api_name="served",
        deploy_options=apigateway.StageOptions(stage_name="live"),
    )
    api.root.add_resource("probe").add_method("GET", apigateway.LambdaIntegration(probe))
    apigateway.Stage(stack, "Beta", deployment=api.latest_deployment, stage_name="beta")
    return stack


@pytest.fixture(scope="module")
def shop_stack() -> Stack:
    return build_stack()


@pytest.fixture(scope="module")
def served_stack() -> Stack:
    return build_served_stack()


@pytest.fixture
def shop(shop_stack: Stack) -> Iterator[tuple[LocalCloud, DeployedStack]]:
    with LocalCloud(clock=Clock(1_700_000_000.0)) as cloud:
        yield cloud, cloud.deploy(shop_stack)


@pytest.fixture
def server(shop: tuple[LocalCloud, DeployedStack]) -> Iterator[LocalServer]:
    cloud, _ = shop
    with cloud.serve() as serving:
        yield serving


@pytest.fixture
def served(served_stack: Stack) -> Iterator[tuple[LocalCloud, LocalServer]]:
    with LocalCloud(clock=Clock(1_700_000_000.0)) as cloud:
        cloud.deploy(served_stack)
        with cloud.serve() as serving:
            yield cloud, serving


class Reply:
    """A response as the client saw it: status, header lines and body."""

    def __init__(self, status: int, headers: Message, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


#: A client that ignores any proxy the environment names.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(  # noqa: S310 - the URL is checked above
        url, data=body, method=method, headers=dict(headers or {})
    )
    try:
        with OPENER.open(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` as it is and read everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def refuses_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


# --------------------------------------------------------------------------- answers


@LOOPBACK
def test_a_proxy_route_answers_over_http_with_status_headers_and_json(
    shop: tuple[LocalCloud, DeployedStack], server: LocalServer
) -> None:
    cloud, stack = shop

    reply = fetch(server.url + "v1/items/42?view=full", headers={"X-Trace": "t-1"})

    assert reply.status == 200
    assert reply.headers["X-Item"] == "42"
    assert reply.headers["Content-Type"] == "application/json"
    # Two values of a header are two header lines, as API Gateway sends them.
    assert reply.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    seen = reply.json()
    assert seen["resource"] == "/items/{id}"
    assert seen["path"] == "/items/42"
    assert seen["method"] == "GET"
    assert seen["pathParameters"] == {"id": "42"}
    assert seen["trace"] == "t-1"
    assert seen["stage"] == "v1"
    assert seen["stageVariables"] == {"env": "test"}
    assert seen["apiId"] == stack.physical_id("Api")
    (invocation,) = cloud.log.invocations(function=stack.physical_id("Items"))
    assert invocation.source == "apigateway"


@LOOPBACK
def test_the_stage_root_is_served_with_or_without_a_trailing_slash(server: LocalServer) -> None:
    # The shop API's root has no method: the API's own (404) gateway response answers.
    for url in (server.url + "v1", server.url + "v1/"):
        reply = fetch(url)

        assert reply.status == 404
        assert reply.json() == {"error": "Missing Authentication Token"}


@LOOPBACK
def test_repeated_query_keys_reach_the_function_as_multiple_values(server: LocalServer) -> None:
    reply = fetch(
        server.url + "v1/items/42?view=full&tag=a&tag=b&note=two+words%21&empty=",
        headers={"X-Trace": "t"},
    )

    seen = reply.json()
    assert seen["multiQuery"] == {
        "view": ["full"],
        "tag": ["a", "b"],
        "note": ["two words!"],
        "empty": [""],
    }
    assert seen["query"] == {"view": "full", "tag": "b", "note": "two words!", "empty": ""}


@LOOPBACK
def test_a_post_body_reaches_the_function(server: LocalServer) -> None:
    reply = fetch(
        server.url + "v1/files/notes/today.json",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b'{"name": "lamp"}',
    )

    seen = reply.json()
    assert seen["method"] == "POST"
    assert seen["pathParameters"] == {"proxy": "notes/today.json"}
    assert seen["body"] == '{"name": "lamp"}'
    assert seen["isBase64Encoded"] is False


@LOOPBACK
def test_a_request_without_a_body_reaches_the_function_with_a_null_body(
    server: LocalServer,
) -> None:
    reply = fetch(server.url + "v1/files/notes", method="DELETE")

    assert reply.json()["body"] is None


@LOOPBACK
def test_a_binary_body_round_trips_byte_for_byte(server: LocalServer) -> None:
    image = bytes(range(256)) + b"\x89PNG\r\n\x1a\n\x00\xff"

    reply = fetch(
        server.url + "v1/upload",
        method="POST",
        headers={"Content-Type": "image/png", "Accept": "image/png"},
        body=image,
    )

    assert reply.status == 201
    assert reply.headers["Content-Type"] == "image/png"
    assert reply.body == image[::-1]


@LOOPBACK
def test_repeated_request_headers_reach_the_function_joined(server: LocalServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("GET", "/v1/items/42?view=full")
    connection.putheader("X-Trace", "t-1")
    connection.putheader("X-Trace", "t-2")
    connection.endheaders()
    response = connection.getresponse()

    assert response.status == 200
    assert json.loads(response.read())["trace"] == "t-1, t-2"
    connection.close()


# --------------------------------------------------------------------------- gateway errors


@LOOPBACK
@pytest.mark.parametrize("path", ["prod/items/42", "", "items/42", "V1/items/42"])
def test_a_first_path_segment_that_is_not_a_stage_is_forbidden(
    shop: tuple[LocalCloud, DeployedStack], server: LocalServer, path: str
) -> None:
    cloud, _ = shop

    reply = fetch(server.url + path + "?view=full", headers={"X-Trace": "t"})

    assert reply.status == 403
    assert reply.body == b'{"message":"Forbidden"}'
    assert reply.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert reply.headers["Content-Type"] == "application/json"
    assert cloud.log.invocations() == []


@LOOPBACK
def test_an_unrouted_path_gets_the_apis_own_gateway_response(
    shop: tuple[LocalCloud, DeployedStack], server: LocalServer
) -> None:
    cloud, _ = shop

    reply = fetch(server.url + "v1/nowhere")

    # The shop API turns API Gateway's 403 into a 404 with its own template and header.
    assert reply.status == 404
    assert reply.json() == {"error": "Missing Authentication Token"}
    assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert cloud.log.invocations() == []


@LOOPBACK
def test_a_head_request_gets_the_headers_and_no_body(
    shop: tuple[LocalCloud, DeployedStack], server: LocalServer
) -> None:
    cloud, stack = shop
    expected = len(cloud.http("HEAD", "/files/report.csv").content)
    cloud.log.clear()

    # http.client never reads a HEAD body, so the raw bytes are read instead.
    received = raw_exchange(
        server.port, b"HEAD /v1/files/report.csv HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )

    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"Content-Length: {expected}".encode() in head.split(b"\r\n")
    assert expected > 0
    assert rest == b""
    (invocation,) = cloud.log.invocations(function=stack.physical_id("Items"))
    assert invocation.event["httpMethod"] == "HEAD"


@LOOPBACK
def test_a_chunked_request_body_is_411_length_required(
    shop: tuple[LocalCloud, DeployedStack], server: LocalServer
) -> None:
    cloud, _ = shop
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)

    connection.request(
        "POST", "/v1/files/notes", body=iter([b'{"a": ', b"1}"]), encode_chunked=True
    )
    response = connection.getresponse()

    assert response.status == 411
    assert json.loads(response.read()) == {"message": "Length Required"}
    assert cloud.log.invocations() == []
    connection.close()


@LOOPBACK
def test_a_bad_content_length_is_400(server: LocalServer) -> None:
    received = raw_exchange(
        server.port,
        b"POST /v1/files/notes HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n",
    )

    assert received.startswith(b"HTTP/1.1 400 ")


# --------------------------------------------------------------------------- local cloud errors


@LOOPBACK
def test_an_integration_that_is_not_emulated_is_a_500_kept_in_errors(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="lambda_blueprints.testing.http_server"):
        failed = fetch(server.url + "v1/outside")

    assert failed.status == 500
    assert failed.headers["Content-Type"] == "application/json"
    assert "HTTP_PROXY integrations are not emulated" in failed.json()["message"]
    (error,) = server.errors
    assert isinstance(error, NotImplementedError)
    assert failed.json() == {"message": str(error)}
    (record,) = caplog.records
    assert record.exc_info is not None
    assert record.exc_info[1] is error
    # The server goes on answering.
    assert fetch(server.url + "v1/items/special").json() == {"special": True}
    assert len(server.errors) == 1


@LOOPBACK
def test_any_exception_of_the_local_cloud_is_a_500_and_the_server_keeps_serving(
    shop: tuple[LocalCloud, DeployedStack], server: LocalServer
) -> None:
    cloud, stack = shop

    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the mutator broke")

    cloud.faults.inject(stack.physical_id("Items"), mutate=broken)

    first = fetch(server.url + "v1/files/a")
    second = fetch(server.url + "v1/files/b")
    cloud.faults.clear()
    third = fetch(server.url + "v1/files/c")

    assert (first.status, second.status, third.status) == (500, 500, 200)
    assert first.json() == {"message": "the mutator broke"}
    assert [type(e) for e in server.errors] == [RuntimeError, RuntimeError]
    assert third.json()["pathParameters"] == {"proxy": "c"}


@LOOPBACK
def test_access_logs_go_to_logging_at_debug_not_to_stderr(
    server: LocalServer, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="lambda_blueprints.testing.http_server"):
        answered = fetch(server.url + "v1/items/special")
        forbidden = fetch(server.url + "prod/items/special")
        # A method http.server does not dispatch: its own error page, and its own log line.
        unknown = fetch(server.url + "v1/items/special", method="BREW")

    assert (answered.status, forbidden.status, unknown.status) == (200, 403, 501)
    assert capfd.readouterr().err == ""
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any('"GET /v1/items/special HTTP/1.1" 200' in line for line in logged)
    assert any('"GET /prod/items/special HTTP/1.1" 403' in line for line in logged)
    assert any("501" in line for line in logged)


# --------------------------------------------------------------------------- one at a time


@LOOPBACK
def test_concurrent_requests_are_answered_one_at_a_time_and_all_correctly(
    served: tuple[LocalCloud, LocalServer],
) -> None:
    _, server = served
    replies: dict[int, Reply] = {}

    def call(n: int) -> None:
        replies[n] = fetch(server.stage_url("live") + f"probe?n={n}")

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(replies) == list(range(8))
    for n, reply in replies.items():
        assert reply.status == 200
        assert reply.json()["n"] == str(n)
        # No invocation ever overlapped another.
        assert reply.json()["peak"] == 1


@LOOPBACK
def test_the_serving_threads_are_daemon_threads(served: tuple[LocalCloud, LocalServer]) -> None:
    _, server = served
    before = set(threading.enumerate())
    client = threading.Thread(target=fetch, args=(server.stage_url("live") + "probe?sleep=1",))
    client.start()
    deadline = time.monotonic() + 5
    started: set[threading.Thread] = set()
    while not started and time.monotonic() < deadline:
        started = set(threading.enumerate()) - before - {client}
        time.sleep(0.01)
    client.join(timeout=10)

    assert started, "no thread answered the request"
    assert all(thread.daemon for thread in started)
    assert all(thread.daemon for thread in before if thread.name.startswith("LocalServer"))


# --------------------------------------------------------------------------- APIs and stages


@LOOPBACK
def test_stage_url_is_the_base_url_of_a_stage(server: LocalServer) -> None:
    assert server.stage_url() == server.url + "v1/"
    assert server.stage_url("v1") == server.url + "v1/"
    with pytest.raises(ValueError, match=r"no stage 'prod'.*v1"):
        server.stage_url("prod")


@LOOPBACK
def test_every_stage_of_the_api_is_served(served: tuple[LocalCloud, LocalServer]) -> None:
    _, server = served

    with pytest.raises(ValueError, match=r"\['beta', 'live'\]"):
        server.stage_url()
    beta = fetch(server.stage_url("beta") + "probe")
    live = fetch(server.stage_url("live") + "probe")

    assert server.stage_url("beta") == server.url + "beta/"
    assert (beta.json()["stage"], live.json()["stage"]) == ("beta", "live")
    assert fetch(server.url + "prod/probe").status == 403


@LOOPBACK
def test_serve_picks_the_api_as_http_does(
    shop_stack: Stack, served_stack: Stack, capfd: pytest.CaptureFixture[str]
) -> None:
    with LocalCloud() as cloud:
        shop = cloud.deploy(shop_stack)
        cloud.deploy(served_stack)

        with pytest.raises(ValueError, match="cannot pick a single REST API"):
            cloud.serve()
        with pytest.raises(ValueError, match="cannot pick REST API 'other'"):
            cloud.serve("other")
        by_name = cloud.serve("served")
        by_id = cloud.serve(shop.physical_id("Api"))
        by_logical_id = cloud.serve(shop.resource("Api").logical_id)

        assert fetch(by_name.url + "live/probe").status == 200
        assert fetch(by_name.url + "v1/items/special").status == 403
        assert fetch(by_id.url + "v1/items/special").json() == {"special": True}
        assert by_logical_id.stage_url() == by_logical_id.url + "v1/"
        by_name.close()
        by_id.close()
        by_logical_id.close()


def test_serve_needs_an_entered_cloud(shop_stack: Stack) -> None:
    cloud = LocalCloud()
    with pytest.raises(RuntimeError, match="context manager"):
        cloud.serve()


# --------------------------------------------------------------------------- lifecycle


@LOOPBACK
def test_close_frees_the_port(shop: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, _ = shop
    server = cloud.serve()
    port = server.port
    assert fetch(server.url + "v1/items/special").status == 200

    server.close()
    server.close()  # closing twice is harmless

    assert server.closed
    assert refuses_connections("127.0.0.1", port)
    with cloud.serve(port=port) as again:
        assert again.port == port
        assert again.url == f"http://127.0.0.1:{port}/"
        assert fetch(again.url + "v1/items/special").status == 200


@LOOPBACK
def test_close_waits_for_the_request_being_answered_and_refuses_the_waiting_ones(
    served: tuple[LocalCloud, LocalServer],
) -> None:
    cloud, server = served
    replies: dict[str, Reply] = {}

    def call(name: str, query: str) -> None:
        replies[name] = fetch(server.stage_url("live") + "probe?" + query)

    slow = threading.Thread(target=call, args=("slow", "n=1&sleep=1"))
    waiting = threading.Thread(target=call, args=("waiting", "n=2"))
    slow.start()
    time.sleep(0.2)
    waiting.start()
    time.sleep(0.3)

    server.close()

    # close() returned once the slow request was answered; the waiting one is refused.
    (invocation,) = cloud.log.invocations()
    assert invocation.event["queryStringParameters"]["n"] == "1"
    slow.join(timeout=10)
    waiting.join(timeout=10)
    assert replies["slow"].status == 200
    assert replies["slow"].json()["n"] == "1"
    assert replies["waiting"].status == 503
    assert replies["waiting"].json() == {"message": "the local server is closed"}


@LOOPBACK
def test_leaving_the_with_block_closes_the_server(shop: tuple[LocalCloud, DeployedStack]) -> None:
    cloud, _ = shop

    with cloud.serve() as server:
        assert fetch(server.stage_url() + "items/special").status == 200

    assert server.closed
    assert refuses_connections("127.0.0.1", server.port)


@LOOPBACK
def test_leaving_the_local_cloud_closes_its_servers(shop_stack: Stack) -> None:
    with LocalCloud() as cloud:
        cloud.deploy(shop_stack)
        server = cloud.serve()
        assert fetch(server.url + "v1/items/special").status == 200

    assert server.closed
    assert refuses_connections("127.0.0.1", server.port)


@LOOPBACK
def test_a_port_in_use_cannot_be_served(server: LocalServer, shop: tuple[LocalCloud, Any]) -> None:
    cloud, _ = shop

    with pytest.raises(OSError, match="in use"):
        cloud.serve(port=server.port)


@pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2"])
def test_the_server_listens_on_127_0_0_1_only(server: LocalServer) -> None:
    assert urlsplit(server.url).hostname == "127.0.0.1"
    assert urlsplit(server.url).port == server.port
    assert fetch(server.url + "v1/items/special").status == 200
    # Another address of the loopback network: a server bound to 0.0.0.0 would answer it.
    assert refuses_connections("127.0.0.2", server.port)

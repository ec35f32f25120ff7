"""The leaderboard API under hostile requests: a few hundred, generated, never a 5XX.

Every request is either answered 200 with JSON, or 400/404 with a JSON ``message`` giving
the reason. The requests are generated with Hypothesis, derandomized so that every run
sends the same ones: forged and mangled ``next`` tokens (this API's form with parts out of
range, the earlier JSON form with start keys of every shape, random bytes), limits and race
ids of every kind.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from lambda_blueprints.runtime.alleycat.final_results import handler as final_results
from lambda_blueprints.runtime.alleycat.leaderboard_api import handler as api
from lambda_blueprints.runtime.alleycat.publisher import handler as publisher
from lambda_blueprints.runtime.alleycat.race import encode_standings
from lambda_blueprints.testing import (
    LambdaContext,
    api_gateway_rest_event,
    kinesis_event,
    kinesis_record,
)
from tests.conftest import create_pk_sk_table

pytestmark = pytest.mark.hostile

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/alleycat"
MODULES = (api, final_results, publisher)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


#: Decimal-looking text: digits, signs, points, exponents, and the odd other character.
number_text = st.one_of(
    st.from_regex(r"-?[0-9]{0,45}(\.[0-9]{0,180})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-0", "0", "1E+2", "\u0663", "\uff13", " 1", "1 ", ""]),
    st.text(max_size=12),
)
#: The three parts of this API's tokens, each valid or not.
token_text = st.builds(
    lambda offset, racer, score, separator: separator.join([offset, racer, score]),
    number_text,
    number_text,
    number_text,
    st.sampled_from([":", ":", ":", ";", "::", ""]),
)

#: Start keys of the earlier JSON token form: right names, wrong types, wrong values.
attribute = st.one_of(
    st.fixed_dictionaries({"S": st.text(max_size=20)}),
    st.fixed_dictionaries({"N": number_text}),
    st.dictionaries(st.sampled_from(["S", "N", "B", "M", "L"]), st.text(max_size=8), max_size=2),
    st.text(max_size=8),
    st.integers(),
    st.none(),
)
old_key = st.dictionaries(
    st.sampled_from(["pk", "sk", "raceKey", "score", "extra"]), attribute, max_size=5
)
old_token = st.builds(
    lambda key, offset: b64(json.dumps({"key": key, "offset": offset}).encode()),
    old_key,
    st.one_of(st.integers(-(10**20), 10**20), st.booleans(), st.text(max_size=4), st.none()),
)
next_token = st.one_of(
    token_text.map(lambda text: b64(text.encode())),
    old_token,
    st.binary(max_size=64).map(b64),
    st.binary(max_size=64).map(lambda data: b64(data).rstrip("=")),
    st.text(max_size=64),
    st.just(b64(b"[" * 3000)),
    st.just("A" * 5000),
)
limit = st.one_of(
    st.integers(-5, 2000).map(str),
    st.text(max_size=8),
    st.sampled_from(["1" * 5000, "\u00b2", "1e3", "100.0", " 10"]),
)
race_id = st.one_of(
    st.sampled_from(["42", "43", "0", "-42", "042", "9007199254740991", "9007199254740992"]),
    st.integers(-(10**20), 10**20).map(str),
    st.text(alphabet=st.characters(blacklist_characters="/?#"), min_size=1, max_size=20),
)
request = st.fixed_dictionaries(
    {"route": st.sampled_from(["standings", "results"]), "race": race_id},
    optional={"limit": limit, "next": next_token},
)


def seed_race() -> list[str]:
    """Race 42: two standings pages and five final results; returns its real tokens."""
    create_pk_sk_table("races", score_index="ByScore")
    for page in (0, 1):
        boto3.client("dynamodb").put_item(
            TableName="races",
            Item={
                "pk": {"S": "race#42"},
                "sk": {"S": f"standings#shardId-000000000000#{page:05d}"},
                "classId": {"N": "3"},
                "page": {"N": str(page)},
                "standings": {"B": encode_standings({str(page): [9, f"{page}5.5", "R"]})},
                "updatedAt": {"S": "2026-01-01T00:00:15Z"},
                "version": {"N": "1"},
            },
        )
    finishes = [
        {
            "event": "finish",
            "raceId": 42,
            "classId": 3,
            "racerId": racer,
            "second": 300,
            "cadence": 80,
            "resistance": 50,
            "total": 1000 + racer,
        }
        for racer in range(5)
    ]
    final_results.lambda_handler(
        kinesis_event(
            *[
                kinesis_record(m, sequence_number=i + 1, stream_arn=STREAM)
                for i, m in enumerate(finishes)
            ]
        ),
        LambdaContext(function_name="final"),
    )
    tokens = []
    status, page = call({"route": "results", "race": "42", "limit": "2"})
    while status == 200 and "next" in page:
        tokens.append(page["next"])
        status, page = call({"route": "results", "race": "42", "limit": "2", "next": tokens[-1]})
    assert tokens, "the seeded race must page"
    return tokens


def call(request: dict[str, Any]) -> tuple[int, Any]:
    race = request["race"]
    path = f"/races/{race}/{request['route']}"
    query = {name: request[name] for name in ("limit", "next") if name in request}
    event = api_gateway_rest_event(
        "GET",
        path,
        resource=f"/races/{{raceId}}/{request['route']}",
        path_parameters={"raceId": race},
        query=query or None,
    )
    response = api.lambda_handler(event, LambdaContext(function_name="api"))
    return response["statusCode"], json.loads(response["body"])


def test_hostile_requests_are_answered_200_400_or_404_never_5xx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RESULTS_TABLE_NAME", "races")
    monkeypatch.setenv("RESULTS_INDEX_NAME", "ByScore")
    for module in MODULES:
        module.dynamodb_client.cache_clear()
    with mock_aws():
        real_tokens = seed_race()
        answered: dict[int, int] = {}

        @settings(
            max_examples=300,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(
            st.one_of(
                request,
                st.builds(
                    lambda token, size: {
                        "route": "results",
                        "race": "42",
                        "next": token,
                        "limit": size,
                    },
                    st.sampled_from(real_tokens),
                    st.sampled_from(["1", "2", "1000"]),
                ),
            )
        )
        def answers_without_a_server_error(hostile: dict[str, Any]) -> None:
            status, body = call(hostile)

            assert status in (200, 400, 404), (hostile, status, body)
            answered[status] = answered.get(status, 0) + 1
            if status == 200:
                assert int(body["raceId"]) == int(hostile["race"])
            else:
                assert isinstance(body["message"], str) and body["message"], body

        answers_without_a_server_error()
    for module in MODULES:
        module.dynamodb_client.cache_clear()
    # The requests reached every kind of answer, not just the first check.
    assert set(answered) == {200, 400, 404}
    assert sum(answered.values()) >= 300

"""API Gateway mapping templates rendered with Velocity and API Gateway's variables."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from lambda_blueprints.testing.mapping_templates import (
    MappingTemplateError,
    escape_javascript,
    render_template,
    select,
)

# The template API Gateway's documentation gives for passing every parameter on.
ALL_PARAMS = """#set($allParams = $input.params())
{
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"body" : $input.json('$'),
"stage" : "$context.stage",
"table" : "$stageVariables.table"
}"""

# A Twilio SMS webhook posts a form; this turns it into JSON.
TWILIO_FORM_TO_JSON = """#set($fields = {})
#foreach($pair in $input.path('$').split('&'))
#set($kv = $pair.split('='))
#if($kv.size() == 2)
#set($ignored = $fields.put($util.urlDecode($kv.get(0)), $util.urlDecode($kv.get(1))))
#end
#end
{
  "from": "$util.escapeJavaScript($fields.get('From'))",
  "body": "$util.escapeJavaScript($fields.get('Body'))",
  "sid": "$fields.get('MessageSid')"
}"""


def test_every_parameter_reaches_the_template_by_type_and_name() -> None:
    rendered = render_template(
        ALL_PARAMS,
        body='{"message": "hi"}',
        path_parameters={"room": "lobby"},
        query={"limit": "10"},
        headers={"Accept": "application/json"},
        context={"stage": "prod"},
        stage_variables={"table": "Messages"},
    )
    assert json.loads(rendered.text) == {
        "params": {
            "path": {"room": "lobby"},
            "querystring": {"limit": "10"},
            "header": {"Accept": "application/json"},
        },
        "body": {"message": "hi"},
        "stage": "prod",
        "table": "Messages",
    }


def test_a_form_post_becomes_json_with_decoded_fields() -> None:
    form = urlencode(
        {"From": "+15005550006", "Body": 'Zombies at "the mall" & north/side', "MessageSid": "SM1"}
    )
    rendered = render_template(TWILIO_FORM_TO_JSON, body=form)
    assert json.loads(rendered.text) == {
        "from": "+15005550006",
        "body": 'Zombies at "the mall" & north/side',
        "sid": "SM1",
    }


def test_a_reference_to_nothing_renders_as_nothing() -> None:
    rendered = render_template(
        "[$input.path('$.missing')][$nothing][$input.params('absent')]", body='{"a": 1}'
    )
    assert rendered.text == "[][][]"


def test_values_render_as_java_writes_them() -> None:
    body = json.dumps({"yes": True, "no": False, "half": 1.5, "big": 1e20, "map": {"a": 1}})
    rendered = render_template(
        "$input.path('$.yes') $input.path('$.no') $input.path('$.half') "
        "$input.path('$.big') $input.path('$.map') $input.path('$.map').keySet()",
        body=body,
    )
    assert rendered.text == "true false 1.5 1.0E20 {a=1} [a]"


def test_json_gives_json_text_and_path_gives_objects() -> None:
    body = json.dumps({"items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}]})
    rendered = render_template(
        "$input.json('$.items[0]')|$input.path('$.items').size()|$input.path('$.items[-1].id')"
        "|$input.json('$.items[*].id')",
        body=body,
    )
    assert rendered.text == '{"id":"a","n":1}|2|b|["a","b"]'


def test_an_empty_body_is_an_empty_object() -> None:
    assert render_template("$input.json('$')", body="").text == "{}"


def test_a_body_that_is_not_json_is_a_string_at_the_root_only() -> None:
    rendered = render_template(
        "[$input.path('$')][$input.path('$.a')][$input.json('$')]", body="a=1&b=2"
    )
    assert rendered.text == '[a=1&b=2][]["a=1&b=2"]'


def test_params_by_name_look_in_path_then_query_then_headers() -> None:
    template = "$input.params('id')/$input.params('q')/$input.params('x-trace')"
    rendered = render_template(
        template,
        path_parameters={"id": "from-path"},
        query={"id": "from-query", "q": "query"},
        headers={"X-Trace": "header", "q": "from-header"},
    )
    assert rendered.text == "from-path/query/header"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ('say "hi"', 'say \\"hi\\"'),
        ("it's", "it\\'s"),
        ("a/b\\c", "a\\/b\\\\c"),
        ("line\nnext\ttab\r", "line\\nnext\\ttab\\r"),
        ("\x01", "\\u0001"),
        ("café", "caf\\u00E9"),
        ("🧟", "\\uD83E\\uDDDF"),
    ],
)
def test_escape_javascript_follows_javascript_string_rules(text: str, escaped: str) -> None:
    assert escape_javascript(text) == escaped
    assert render_template("$util.escapeJavaScript($input.body)", body=text).text == escaped


def test_url_encoding_follows_javas_url_encoder() -> None:
    rendered = render_template(
        "$util.urlEncode($input.body)|$util.urlDecode('a+b%7E%2A')", body="a b~*._-é"
    )
    assert rendered.text == "a+b%7E*._-%C3%A9|a b~*"


def test_base64_round_trips_text() -> None:
    rendered = render_template(
        "$util.base64Encode($input.body)|$util.base64Decode($util.base64Encode($input.body))",
        body="héllo",
    )
    assert rendered.text == "aMOpbGxv|héllo"


def test_parse_json_gives_an_object_with_java_methods() -> None:
    rendered = render_template(
        "#set($doc = $util.parseJson($input.path('$.raw')))$doc.items.size() $doc.items.get(1)",
        body=json.dumps({"raw": json.dumps({"items": ["x", "y"]})}),
    )
    assert rendered.text == "2 y"


@pytest.mark.parametrize(
    ("text", "pattern", "parts"),
    [
        ("a,b,,", ",", ["a", "b"]),
        (",a", ",", ["", "a"]),
        ("a1b2c", "\\d", ["a", "b", "c"]),
        ("a1b", "(\\d)", ["a", "b"]),
        ("abc", "", ["a", "b", "c"]),
        ("", ",", [""]),
        (",,", ",", []),
    ],
)
def test_split_follows_java(text: str, pattern: str, parts: list[str]) -> None:
    rendered = render_template(
        "#foreach($p in $input.path('$.t').split($input.path('$.p')))[$p]#end",
        body=json.dumps({"t": text, "p": pattern}),
    )
    assert rendered.text == "".join(f"[{p}]" for p in parts)


def test_java_string_methods_on_request_values() -> None:
    rendered = render_template(
        "$input.body.length() $input.body.substring(0, 3) $input.body.indexOf('-') "
        "$input.body.toUpperCase() $input.body.replaceAll('([a-z]+)-([a-z]+)', '$2-$1') "
        "$input.body.matches('[a-z-]+') $input.body.trim().startsWith('zom')",
        body="zombie-alert",
    )
    assert rendered.text == "12 zom 6 ZOMBIE-ALERT alert-zombie true true"


def test_backslashes_in_string_literals_stay_as_written() -> None:
    # The usual idiom: escapeJavaScript escapes ' as \', which JSON refuses; undo it.
    rendered = render_template(
        '{"text": "$util.escapeJavaScript($input.body).replaceAll("\\\\\'", "\'")"}',
        body='it\'s "here"',
    )
    assert json.loads(rendered.text) == {"text": 'it\'s "here"'}
    assert render_template("'\\n' is #set($s = '\\n')$s.length()").text == "'\\n' is 2"


def test_a_template_may_override_the_status_and_headers() -> None:
    rendered = render_template(
        "#set($context.responseOverride.status = 429)"
        "#set($context.responseOverride.header.Retry_After = '5')slow down",
        context={"requestId": "r-1"},
    )
    assert (rendered.text, rendered.status, rendered.headers) == (
        "slow down",
        429,
        {"Retry_After": "5"},
    )


def test_a_status_override_that_is_not_a_number_fails() -> None:
    with pytest.raises(MappingTemplateError, match="not a status code"):
        render_template("#set($context.responseOverride.status = 'soon')")


@pytest.mark.parametrize("template", ["#if($x", "#foreach($a in)", "${unclosed"])
def test_a_template_that_does_not_parse_fails_clearly(template: str) -> None:
    with pytest.raises(MappingTemplateError, match="does not parse"):
        render_template(template)


def test_a_failure_while_rendering_is_a_mapping_template_error() -> None:
    with pytest.raises(MappingTemplateError, match="failed"):
        render_template("$util.parseJson($input.body)", body="not json")


@pytest.mark.parametrize(
    ("expression", "found"),
    [
        ("$", {"a": {"b-c": [1, 2, 3]}, "x y": 5}),
        ("$.a['b-c'][1]", 2),
        ('$["x y"]', 5),
        ("$.a.*", [[1, 2, 3]]),
        ("$.a['b-c'][*]", [1, 2, 3]),
        ("$.a['b-c'][3]", None),
        ("$.nothing.below", None),
    ],
)
def test_jsonpath_selections(expression: str, found: object) -> None:
    assert select({"a": {"b-c": [1, 2, 3]}, "x y": 5}, expression) == found


@pytest.mark.parametrize("expression", ["a.b", "$..a", "$[?(@.a)]", "$.a[1:2]"])
def test_jsonpath_outside_the_subset_is_refused(expression: str) -> None:
    with pytest.raises(ValueError, match="JSONPath"):
        select({}, expression)

from notes_api_app import stack

from lambda_blueprints.testing import LocalCloud


def test_a_note_written_is_read_back():
    with LocalCloud() as cloud:
        cloud.deploy(stack)
        created = cloud.http("POST", "/notes", body='{"text": "water at the mill"}')
        note = created.json()
        read = cloud.http("GET", f"/notes/{note['noteId']}")
        missing = cloud.http("GET", "/notes/nothing")
        refused = cloud.http("POST", "/notes", body="not json")
    assert created.status == 201
    assert read.json() == {"noteId": note["noteId"], "text": "water at the mill"}
    assert missing.status == 404
    assert refused.status == 400

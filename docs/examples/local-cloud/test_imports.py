from app import ScoresStack
from aws_cdk import App

from lambda_blueprints.testing.lambda_imports import import_in_lambda


def test_every_handler_imports_with_what_lambda_gives_it():
    app = App()
    ScoresStack(app, "Scores")
    assembly = app.synth()
    results = import_in_lambda(assembly.directory, "Scores")
    assert results and all(error is None for error in results.values())

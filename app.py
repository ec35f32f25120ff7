#!/usr/bin/env python3
"""CDK entry point: every example stack, environment-agnostic, with cdk-nag checks on."""

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from examples import add_example_stacks

app = App()
add_example_stacks(app)
Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
app.synth()

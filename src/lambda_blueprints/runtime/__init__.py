"""Lambda handler code: one package per function plus shared helpers.

This package is the Lambda asset of every function the library builds: it imports as
``runtime`` in Lambda and as ``lambda_blueprints.runtime`` in tests, so modules inside it
import each other relatively. It never imports aws_cdk.
"""

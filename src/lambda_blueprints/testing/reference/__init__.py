"""Reference models: results computed apart from the code under test, for tests to compare with.

A reference shares no code with what it checks, so a bug in the pipeline cannot hide by
appearing in both. :mod:`lambda_blueprints.testing.reference.alleycat` holds the Alleycat
racing results (leaderboards, final standings, personal bests) worked out from the
messages sent.
"""

"""Scenarios of features/generate_otp.feature."""

from pytest_bdd import scenarios

scenarios("generate_otp.feature")

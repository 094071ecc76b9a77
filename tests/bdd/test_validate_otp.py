"""Scenarios of features/validate_otp.feature."""

from pytest_bdd import scenarios

scenarios("validate_otp.feature")

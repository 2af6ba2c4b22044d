"""Hypothesis settings shared by the property tests of outside data
(parsers, webhook payloads, CSV rows, condition trees): the same examples on
every run (derandomized, no example database), no deadline (a request on a
busy CI machine may take a second), and the health checks that would fail a
test for using Django's fixtures or generating large inputs off."""
from hypothesis import HealthCheck, settings


def property_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )

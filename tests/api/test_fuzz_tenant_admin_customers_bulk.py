"""The API's generated contract tests (tests/api/contract_fuzzing.py) as a tenant admin, for
the operations of COVERAGE_SHARES["customers-bulk"]; the role's other operations and its stateful
run are in test_fuzz_tenant_admin.py."""

from tests.api.contract_fuzzing import (  # noqa: F401 (fixtures)
    PYTESTMARK,
    api_data,
    api_schema,
    contract_tests,
    delivered_order,
    file_return,
    no_rate_limits,
    policy_a,
    quiet_request_log,
    wsgi_app,
)

pytestmark = PYTESTMARK

credential, test_every_operation_keeps_the_contract, _ = contract_tests(
    "tenant_admin", "customers-bulk"
)

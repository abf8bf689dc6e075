"""The API's generated contract tests (tests/api/contract_fuzzing.py) as a tenant admin, the
role of the coverage phase in the bounded run: the operations outside COVERAGE_SHARES (those
are in test_fuzz_tenant_admin_<share>.py) and the stateful run."""

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

(
    credential,
    test_every_operation_keeps_the_contract,
    test_linked_calls_keep_the_contract,
) = contract_tests("tenant_admin")

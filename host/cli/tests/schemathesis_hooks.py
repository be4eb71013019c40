# Schemathesis hooks for host/cli/tests/schemathesis.rs (loaded through
# SCHEMATHESIS_HOOKS by that test; not a module of its own).
#
# One hook: it drops "schema-valid request rejected" failures
# (positive_data_acceptance) in the few places where the request is well
# formed but names something the server does not have, which no schema can
# know. Each entry says which operation, which error code, and why; any
# other rejection, and every other check, still fails the run. The codes
# are matched exactly, so a rejection for another reason (a 400
# `bad_request`, say) is still reported.

import json

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

# (operationId, error code) -> why the rejection is right although the
# request matches the document.
ACCEPTED_REJECTIONS = {
    # A cursor is a position the list handed out (`next_cursor`); the
    # document gives its alphabet and length, but which strings the server
    # handed out is state, not shape.
    ("listAutomations", "invalid_cursor"): "a cursor this list did not hand out",
    ("listRuns", "invalid_cursor"): "a cursor this list did not hand out",
    ("listConnections", "invalid_cursor"): "a cursor this list did not hand out",
    ("listConnectors", "invalid_cursor"): "a cursor this list did not hand out",
    ("listAudit", "invalid_cursor"): "a cursor this list did not hand out",
    # The state is a one-time value from an authorize URL.
    ("oauthCallback", "oauth_state_invalid"): "a state this server did not hand out",
    # The document schema says what is well formed; the validator also
    # checks the graph (one start block, edges between existing blocks),
    # references and formulas, installed connectors and their blocks, and
    # the owner's connections, which JSON Schema cannot express.
    ("createAutomation", "invalid_automation"): "graph and reference rules beyond JSON Schema",
    ("importAutomation", "invalid_automation"): "graph and reference rules beyond JSON Schema",
    ("updateAutomation", "invalid_automation"): "graph and reference rules beyond JSON Schema",
    # An import names connections by reference; which ones the caller has
    # is state.
    ("importAutomation", "connections_required"): "connections the caller does not have",
    # Which connectors are installed, and which auth kinds each declares,
    # is the server's configuration.
    ("createConnection", "invalid_connection"): "a connector or auth kind this server does not have",
    ("updateConnection", "invalid_connection"): "a connector or auth kind this server does not have",
    # The body must be a WebAssembly component (signed, if the server
    # requires signatures); which bytes are one only loading them can tell.
    ("installConnector", "invalid_component"): "bytes that are not a loadable component",
    # A signature is checked against the bytes and the trusted keys.
    ("installConnector", "invalid_signature"): "a signature that is not one of these bytes",
    # Grant entries are in allow-list syntax (scheme, host with an optional
    # `*.` wildcard, port), checked by the allow-list parser; the document
    # names the syntax but a pattern would be a second parser to keep equal.
    ("putConnectorGrants", "invalid_grant"): "an allow-list entry that does not parse",
    # Which users exist is state.
    ("patchAutomation", "unknown_user"): "an owner who is not a user of this server",
    # State limits are server settings (`[run_limits] state`), counted in
    # bytes of the key and of the value's JSON, and the key count is state.
    ("putAutomationStateKey", "state_key_too_long"): "a key longer than the server's max_key_bytes",
    ("putAutomationStateKey", "state_value_too_large"): "a value larger than the server's max_value_bytes",
    ("putAutomationStateKey", "state_too_many_keys"): "an automation already at the server's max_keys",
}


def _error_code(response):
    try:
        return json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure except the accepted rejections above."""
    if not isinstance(failure, RejectedPositiveData):
        return True
    key = (case.operation.definition.raw.get("operationId"), _error_code(response))
    return key not in ACCEPTED_REJECTIONS

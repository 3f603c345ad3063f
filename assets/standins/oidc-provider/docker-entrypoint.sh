#!/bin/sh
# Entry point of the test OpenID provider: says what it is, then runs it.
set -eu
cat >&2 <<'BANNER'
**********************************************************************
*  STAND-IN IMAGE: this is NOT Keycloak. It is the oidc-provider     *
*  library (npm) serving an issuer under Keycloak's paths, for tests *
*  where Keycloak cannot run. No admin API, no realms, no LDAP       *
*  federation. Do not use it in production.                          *
**********************************************************************
BANNER
exec "$@"

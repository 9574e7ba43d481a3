#!/usr/bin/env bash
# kube_client.sh - fidelity check of the Kubernetes API fixture: the official
# Python client (Debian python3-kubernetes) lists pods with limit/continue and
# custom resources, reads, deletes with preconditions and scales, over TLS with
# a bearer token and a CA, configured by an ordinary kubeconfig file
# (tests/integration/kube_client.py does the checking).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/kube.sh"

"$KUBE_PY" -c 'import kubernetes' 2>/dev/null ||
	tu_fail "python3-kubernetes is not installed for $KUBE_PY (ops/install-deps.sh)"
tu_setup
kube_certs
kube_start "$KUBE_FIXTURE/seed.json" client-token

cat >"$TU_TMP/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: fixture
    cluster:
      server: $KUBE_URL
      certificate-authority: $KUBE_CA
users:
  - name: trueup
    user:
      token: client-token
contexts:
  - name: fixture
    context: { cluster: fixture, user: trueup }
current-context: fixture
EOF

"$KUBE_PY" "$(dirname "$0")/kube_client.py" "$TU_TMP/kubeconfig" ||
	tu_fail "the official client disagrees with the fixture"
tu_log "PASS"

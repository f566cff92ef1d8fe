"""A real Kubernetes control plane for arena-run's tests, built from Go modules.

No Docker here, so no kind/k3s/minikube: like controller-runtime's envtest we
run etcd and kube-apiserver as plain processes, and add kube-controller-manager
(Deployments, garbage collection, namespaces), kube-scheduler (binding) and
kwok (fake GPU nodes that report pods Running) so that workloads behave as on
a real cluster.

Modules:
  versions  pinned versions, cache locations
  build     go build of the binaries into ~/.cache/arena-run (cached)
  gomodules locating CRDs and kwok stages in the Go module cache
  certs     a throwaway CA and certificates (openssl CLI)
  procs     starting/stopping daemons by PID, readiness polling
  cluster   `up` and `down` themselves; the Cluster handle tests use
"""

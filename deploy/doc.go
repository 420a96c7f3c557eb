// Package deploy holds the deployment files of Pedigree (Dockerfile,
// compose files, Kubernetes manifests, NATS cluster configuration) and the
// tests that check them offline, with no cluster and no network:
//
//   - every Kubernetes manifest parses strictly (an unknown or repeated
//     field fails) into the k8s.io/api type of its kind;
//   - the StatefulSet runs three clustered nodes whose routes name its
//     pods through its headless Service, with probes on paths a running
//     node serves, a persistent volume on the data directory and a
//     PodDisruptionBudget of two that selects its pods;
//   - every compose file parses strictly, and its nodes form one cluster;
//   - every `pedigree serve` command line and PEDIGREE_* variable in them
//     parses against the flags of the pedigree binary built from this
//     module.
package deploy

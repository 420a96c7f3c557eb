package deploy

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// manifests holds the objects of every file in kubernetes/, by kind.
type manifests struct {
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
}

// docSeparator splits a file of several YAML documents.
var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// loadManifests parses every .yaml file under kubernetes/ strictly: an
// unknown field, a repeated field or a kind not listed here fails.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in kubernetes/: %v", err)
	}
	var m manifests
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			where := fmt.Sprintf("%s document %d", f, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 StatefulSet":
				s := &appsv1.StatefulSet{}
				m.statefulSets, obj = append(m.statefulSets, s), s
			case "v1 Service":
				s := &corev1.Service{}
				m.services, obj = append(m.services, s), s
			case "policy/v1 PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				m.pdbs, obj = append(m.pdbs, p), p
			default:
				t.Fatalf("%s: kind %q of %q: not one the test knows", where, tm.Kind, tm.APIVersion)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s (%s): %v", where, tm.Kind, err)
			}
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for l := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

func TestKubernetesManifestsParseStrictly(t *testing.T) {
	m := loadManifests(t)
	if len(m.statefulSets) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("%d StatefulSets and %d PodDisruptionBudgets, want one of each", len(m.statefulSets), len(m.pdbs))
	}
	// Strictness itself: an unknown field fails.
	bad := bytes.Replace([]byte("apiVersion: apps/v1\nkind: StatefulSet\nspec:\n  replicas: 3\n"), []byte("replicas"), []byte("replica"), 1)
	if err := yaml.UnmarshalStrict(bad, &appsv1.StatefulSet{}); err == nil {
		t.Fatal("an unknown field parsed")
	}
}

// TestKubernetesStatefulSetRunsAThreeNodeCluster checks the invariants of
// the StatefulSet and of what goes with it.
func TestKubernetesStatefulSetRunsAThreeNodeCluster(t *testing.T) {
	m := loadManifests(t)
	ss := m.statefulSets[0]
	where := "StatefulSet " + ss.Name
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 3 {
		t.Fatalf("%s: replicas %v, want 3", where, ss.Spec.Replicas)
	}
	podLabels := labels.Set(ss.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(ss.Spec.Selector)
	if err != nil || !sel.Matches(podLabels) {
		t.Fatalf("%s: selector %v does not select its pods' labels %v: %v", where, ss.Spec.Selector, podLabels, err)
	}
	if len(ss.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", where, len(ss.Spec.Template.Spec.Containers))
	}
	c := ss.Spec.Template.Spec.Containers[0]

	// The command: every flag parses, with the pod's name substituted.
	args := expandPodEnv(t, c, ss.Name+"-0")
	checkServeArgs(t, where, args)
	want := map[string]string{"stream-replicas": "3", "genesis-node": ss.Name + "-0", "node-name": ss.Name + "-0"}
	for name, v := range want {
		if got, ok := flagValue(args, name); !ok || got != v {
			t.Errorf("%s: --%s %q, want %q", where, name, got, v)
		}
	}
	for _, name := range []string{"nats-cluster-listen", "nats-routes", "nats-cluster-credentials", "data", "http"} {
		if _, ok := flagValue(args, name); !ok {
			t.Errorf("%s: no --%s", where, name)
		}
	}

	// Routes name every pod through the headless Service, on the route port.
	headless := findService(m, ss.Spec.ServiceName)
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Fatalf("%s: serviceName %q: want a headless Service (clusterIP None) that publishes not-ready pods", where, ss.Spec.ServiceName)
	}
	if !labels.SelectorFromSet(headless.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service %s does not select the StatefulSet's pods", headless.Name)
	}
	listen, _ := flagValue(args, "nats-cluster-listen")
	_, routePort, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("%s: --nats-cluster-listen %q: %v", where, listen, err)
	}
	routes, _ := flagValue(args, "nats-routes")
	var hosts []string
	for _, r := range strings.Split(routes, ",") {
		mm := routeHost.FindStringSubmatch(r)
		if mm == nil || mm[2] != routePort {
			t.Errorf("%s: route %q: want nats://host:%s", where, r, routePort)
			continue
		}
		hosts = append(hosts, mm[1])
	}
	for i := range 3 {
		h := fmt.Sprintf("%s-%d.%s", ss.Name, i, headless.Name)
		if !contains(hosts, h) {
			t.Errorf("%s: --nats-routes %q does not name pod %d (%s)", where, routes, i, h)
		}
	}
	checkContainerPort(t, where, c, routePort)

	// Probes on paths a node serves, on its HTTP port.
	httpAddr, _ := flagValue(args, "http")
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", where, name)
			continue
		}
		checkProbePath(t, where+" "+name+" probe", p.HTTPGet.Path)
		if port := resolvePort(c, p.HTTPGet.Port.String()); port != httpPort {
			t.Errorf("%s: %s probe on port %s, the node's HTTP port is %s", where, name, port, httpPort)
		}
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("%s: readiness probe on %s, want /readyz", where, c.ReadinessProbe.HTTPGet.Path)
	}

	// The data directory is on a persistent volume, the route secret on a
	// mounted Secret.
	dataDir, _ := flagValue(args, "data")
	claims := map[string]bool{}
	for _, pvc := range ss.Spec.VolumeClaimTemplates {
		claims[pvc.Name] = true
	}
	if mount := mountOf(c, dataDir); mount == nil || !claims[mount.Name] {
		t.Errorf("%s: --data %s is not on a volume claim template (%v)", where, dataDir, claims)
	}
	cred, _ := flagValue(args, "nats-cluster-credentials")
	mount := mountOf(c, path.Dir(cred))
	if mount == nil || !hasSecretVolume(ss, mount.Name) {
		t.Errorf("%s: --nats-cluster-credentials %s is not in a mounted Secret", where, cred)
	}

	// Two of three stay up through voluntary disruptions.
	pdb := m.pdbs[0]
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 2 {
		t.Errorf("PodDisruptionBudget %s: minAvailable %v, want 2", pdb.Name, pdb.Spec.MinAvailable)
	}
	if psel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || psel.Empty() || !psel.Matches(podLabels) {
		t.Errorf("PodDisruptionBudget %s: selector %v does not select the StatefulSet's pods %v", pdb.Name, pdb.Spec.Selector, podLabels)
	}
}

// expandPodEnv returns c's args with $(VAR) of its environment expanded,
// metadata.name as pod.
func expandPodEnv(t *testing.T, c corev1.Container, pod string) []string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = pod
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	args := append(append([]string(nil), c.Command...), c.Args...)
	for i, a := range args {
		args[i] = os.Expand(strings.NewReplacer("$(", "${", ")", "}").Replace(a), func(k string) string {
			v, ok := env[k]
			if !ok {
				t.Errorf("container %s: $(%s) is not in its environment", c.Name, k)
			}
			return v
		})
	}
	return append(args, envArgs(env)...)
}

func findService(m manifests, name string) *corev1.Service {
	for _, s := range m.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resolvePort returns the number of a named container port, or port.
func resolvePort(c corev1.Container, port string) string {
	for _, p := range c.Ports {
		if p.Name == port {
			return fmt.Sprint(p.ContainerPort)
		}
	}
	return port
}

func checkContainerPort(t *testing.T, where string, c corev1.Container, port string) {
	t.Helper()
	for _, p := range c.Ports {
		if fmt.Sprint(p.ContainerPort) == port {
			return
		}
	}
	t.Errorf("%s: no container port %s", where, port)
}

// mountOf returns the volume mount at dir.
func mountOf(c corev1.Container, dir string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) == path.Clean(dir) {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func hasSecretVolume(ss *appsv1.StatefulSet, name string) bool {
	for _, v := range ss.Spec.Template.Spec.Volumes {
		if v.Name == name && v.Secret != nil {
			return true
		}
	}
	return false
}

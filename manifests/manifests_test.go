// Package manifests holds paylink's Kubernetes manifests (kustomize) and the test that
// builds them and decodes every object strictly into the Kubernetes API types. It is
// its own module, so the Kubernetes libraries stay out of the bot's.
package manifests

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The binary's contract (see the project README and cmd/paylink/config.go).
var (
	envNames = []string{
		"PORT", "LOG_LEVEL", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL",
		"DOJO_API_KEY", "DOJO_WEBHOOK_SECRET", "DOJO_API_URL", "DOJO_API_VERSION", "DOJO_CHECKOUT_URL",
		"DOJO_PAYMENT_SOURCE", "DOJO_TIMEOUT", "REDIS_URL", "PAYLINK_REDIS_PREFIX", "PAYLINK_MAX_AMOUNT",
		"PAYLINK_ACK_BUDGET", "PAYLINK_SLOW_NOTICE", "PAYLINK_MAX_IN_FLIGHT", "PAYLINK_RETYPE_WINDOW", "PAYLINK_NOTIFY_WORKERS", "PAYLINK_NOTIFY_CLAIM_IDLE",
		"PAYLINK_NOTIFY_RETRY_BASE", "PAYLINK_NOTIFY_RETRY_MAX", "PAYLINK_NOTIFY_MAX_ATTEMPTS",
		"PAYLINK_RECONCILE_INTERVAL", "PAYLINK_RECONCILE_RATE", "PAYLINK_ALLOWED_CHANNELS",
		"PAYLINK_ALLOWED_USERS", "PAYLINK_ALLOWED_USERGROUPS", "PAYLINK_ADMINS", "PAYLINK_RATE_LIMIT",
		"PAYLINK_DEBUG_ADDR",
	}
	secretNames = []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DOJO_API_KEY", "DOJO_WEBHOOK_SECRET"}
	publicPaths = []string{"/slack/commands", "/slack/interactions", "/dojo/webhooks"}
)

const port = 8080

// objects is a kustomization's output, decoded strictly by kind.
type objects struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	ingresses   []*networkingv1.Ingress
	policies    []*networkingv1.NetworkPolicy
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

// build runs kustomize on dir and decodes every object into its API type, refusing
// unknown fields.
func build(t *testing.T, dir string) objects {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := objects{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
	for _, res := range resMap.Resources() {
		raw, err := res.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var into any
		switch kind := res.GetKind(); kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			into, out.deployments[res.GetName()] = d, d
		case "Service":
			s := &corev1.Service{}
			into, out.services[res.GetName()] = s, s
		case "ConfigMap":
			c := &corev1.ConfigMap{}
			into, out.configMaps[res.GetName()] = c, c
		case "Ingress":
			i := &networkingv1.Ingress{}
			into, out.ingresses = i, append(out.ingresses, i)
		case "NetworkPolicy":
			p := &networkingv1.NetworkPolicy{}
			into, out.policies = p, append(out.policies, p)
		case "PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			into, out.pdbs = p, append(out.pdbs, p)
		case "HorizontalPodAutoscaler":
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			into, out.hpas = h, append(out.hpas, h)
		default:
			t.Fatalf("%s: unexpected kind %s", dir, kind)
		}
		strict(t, res.GetKind()+"/"+res.GetName(), raw, into)
	}
	return out
}

// strict decodes JSON into v, failing on any field the API type doesn't have.
func strict(t *testing.T, what string, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode strictly: %v", what, err)
	}
}

func TestBase(t *testing.T) {
	o := build(t, "base")
	d := o.deployments["paylink"]
	if d == nil {
		t.Fatal("no paylink Deployment")
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *d.Spec.Replicas)
	}
	checkPod(t, d)
	pod := d.Spec.Template.Spec
	if len(pod.TopologySpreadConstraints) == 0 {
		t.Errorf("no topology spread")
	}

	svc := o.services["paylink"]
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service %+v does not target the http port", svc)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the pods", k, v)
		}
	}

	cm := o.configMaps["paylink"]
	if cm == nil {
		t.Fatal("no ConfigMap")
	}
	checkConfigMap(t, cm)

	if len(o.ingresses) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(o.ingresses))
	}
	ing := o.ingresses[0]
	if len(ing.Spec.TLS) == 0 {
		t.Errorf("Ingress without TLS")
	}
	var paths []string
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			paths = append(paths, p.Path)
			if p.Backend.Service == nil || p.Backend.Service.Name != "paylink" {
				t.Errorf("path %s does not reach the paylink Service", p.Path)
			}
		}
	}
	for _, want := range publicPaths {
		if !slices.Contains(paths, want) {
			t.Errorf("Ingress does not expose %s", want)
		}
	}
	for _, p := range paths {
		if p == "/" || strings.HasPrefix(p, "/metrics") || strings.HasPrefix(p, "/healthz") || strings.HasPrefix(p, "/readyz") || strings.HasPrefix(p, "/debug") {
			t.Errorf("Ingress exposes %s", p)
		}
	}

	if len(o.pdbs) != 1 || o.pdbs[0].Spec.MinAvailable == nil || o.pdbs[0].Spec.MinAvailable.IntValue() != 1 || o.pdbs[0].Spec.Selector == nil {
		t.Errorf("PodDisruptionBudget %+v, want minAvailable 1 with a selector", o.pdbs)
	}
	if len(o.hpas) != 1 || *o.hpas[0].Spec.MinReplicas != 2 || o.hpas[0].Spec.ScaleTargetRef.Name != "paylink" {
		t.Errorf("HorizontalPodAutoscaler %+v", o.hpas)
	}
	if len(o.policies) != 1 || len(o.policies[0].Spec.Ingress) == 0 || len(o.policies[0].Spec.Egress) == 0 {
		t.Fatalf("NetworkPolicy %+v, want ingress and egress rules", o.policies)
	}
	for _, rule := range o.policies[0].Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port.IntValue() != port {
				t.Errorf("NetworkPolicy admits port %s", p.Port.String())
			}
		}
	}
}

// checkPod checks the paylink pod against the binary: probes, port, environment,
// hardening, graceful shutdown.
func checkPod(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	var http *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "http" {
			http = &c.Ports[i]
		}
	}
	if http == nil || http.ContainerPort != port {
		t.Fatalf("no http port %d", port)
	}
	for name, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("probe for %s: %+v", name, probe)
		}
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= 20 {
		t.Errorf("terminationGracePeriodSeconds must exceed paylink's 20 s drain")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container security context %+v", sc)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("pod does not run as non-root")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	var secretRef bool
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == "paylink" {
			secretRef = true
		}
	}
	if !secretRef {
		t.Errorf("the container does not take its secrets from the Secret paylink")
	}
	for _, e := range c.Env {
		if !slices.Contains(envNames, e.Name) {
			t.Errorf("env %s is not a variable paylink reads", e.Name)
		}
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("the service account token is mounted")
	}
}

// checkConfigMap: only variables paylink reads, and no secret.
func checkConfigMap(t *testing.T, cm *corev1.ConfigMap) {
	t.Helper()
	for k := range cm.Data {
		if !slices.Contains(envNames, k) {
			t.Errorf("ConfigMap key %s is not a variable paylink reads", k)
		}
		if slices.Contains(secretNames, k) {
			t.Errorf("ConfigMap holds the secret %s", k)
		}
	}
	if cm.Data["PORT"] != "8080" {
		t.Errorf("PORT %q", cm.Data["PORT"])
	}
}

func TestDevOverlay(t *testing.T) {
	o := build(t, "overlays/dev")
	d := o.deployments["paylink"]
	if d == nil || *d.Spec.Replicas != 1 {
		t.Fatalf("dev paylink Deployment %+v, want 1 replica", d)
	}
	checkPod(t, d)
	if r := o.deployments["redis"]; r == nil || *r.Spec.Replicas != 1 {
		t.Errorf("no single-replica redis Deployment")
	}
	if o.services["redis"] == nil {
		t.Errorf("no redis Service")
	}
	cm := o.configMaps["paylink"]
	checkConfigMap(t, cm)
	if !strings.HasPrefix(cm.Data["REDIS_URL"], "redis://redis:6379") {
		t.Errorf("dev REDIS_URL %q", cm.Data["REDIS_URL"])
	}
	if *o.hpas[0].Spec.MinReplicas != 1 {
		t.Errorf("dev HPA min replicas %d", *o.hpas[0].Spec.MinReplicas)
	}
}

// TestSecretTemplate: the template decodes as a Secret and holds no real value.
func TestSecretTemplate(t *testing.T) {
	raw, err := os.ReadFile("base/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var s corev1.Secret
	strict(t, "secret.example.yaml", js, &s)
	if s.Name != "paylink" {
		t.Errorf("Secret name %q, want paylink", s.Name)
	}
	for k, v := range s.StringData {
		if v != "REPLACE_ME" {
			t.Errorf("%s holds %q, want the placeholder REPLACE_ME", k, v)
		}
		if !slices.Contains(envNames, k) {
			t.Errorf("%s is not a variable paylink reads", k)
		}
	}
	for _, name := range []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "DOJO_API_KEY"} {
		if _, ok := s.StringData[name]; !ok {
			t.Errorf("the template lacks %s", name)
		}
	}
	kust, _ := os.ReadFile("base/kustomization.yaml")
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(kust, &k); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(k.Resources, "secret.example.yaml") {
		t.Errorf("the Secret template is applied by the kustomization")
	}
}

// Package manifests holds paylink's Kubernetes manifests (kustomize) and the test that
// builds them and decodes every object strictly into the Kubernetes API types. It is
// its own module, so the Kubernetes libraries stay out of the bot's.
package manifests

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The binary's contract (see the README's Configuration and cmd/paylink/config.go).
var (
	// envNames: every variable paylink reads.
	envNames = []string{
		"PORT", "LOG_LEVEL",
		"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL",
		"DOJO_API_KEY", "DOJO_WEBHOOK_SECRET", "DOJO_API_URL", "DOJO_API_VERSION", "DOJO_CHECKOUT_URL",
		"DOJO_PAYMENT_SOURCE", "DOJO_TIMEOUT",
		"REDIS_URL", "PAYLINK_REDIS_PREFIX",
		"PAYLINK_MAX_AMOUNT", "PAYLINK_ACK_BUDGET", "PAYLINK_SLOW_NOTICE", "PAYLINK_MAX_IN_FLIGHT",
		"PAYLINK_RETYPE_WINDOW",
		"PAYLINK_NOTIFY_WORKERS", "PAYLINK_NOTIFY_CLAIM_IDLE", "PAYLINK_NOTIFY_RETRY_BASE",
		"PAYLINK_NOTIFY_RETRY_MAX", "PAYLINK_NOTIFY_MAX_ATTEMPTS",
		"PAYLINK_RECONCILE_INTERVAL", "PAYLINK_RECONCILE_RATE",
		"PAYLINK_ALLOWED_CHANNELS", "PAYLINK_ALLOWED_USERS", "PAYLINK_ALLOWED_USERGROUPS",
		"PAYLINK_ADMINS", "PAYLINK_RATE_LIMIT", "PAYLINK_DEBUG_ADDR",
	}
	// runtimeEnv: read by the Go runtime rather than by paylink; allowed in the pod's env.
	runtimeEnv = []string{"GOMEMLIMIT", "GOMAXPROCS", "GOGC", "GODEBUG"}
	// secretNames never appear in a ConfigMap.
	secretNames = []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DOJO_API_KEY", "DOJO_WEBHOOK_SECRET"}
	// requiredSecrets: what the Secret must hold in the cluster (REDIS_URL too: without
	// it paylink would run an embedded Redis that no other replica sees).
	requiredSecrets = []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "DOJO_API_KEY", "REDIS_URL"}
	publicPaths     = []string{"/slack/commands", "/slack/interactions", "/slack/events", "/dojo/webhooks"}
	privatePaths    = []string{"/", "/metrics", "/healthz", "/readyz", "/debug/pprof/"}
)

const (
	port          = 8080 // containerPort, and PORT in the ConfigMap
	uid           = 65532
	drainSeconds  = 20 // paylink's drain after SIGTERM
	host          = "paylink.example.com"
	placeholder   = "REPLACE_ME"
	secretName    = "paylink"
	appName       = "paylink"
	redisName     = "redis"
	devRedisURL   = "redis://redis:6379/0"
	ingressNS     = "ingress-nginx"
	monitoringNS  = "monitoring"
	prometheusAnn = "prometheus.io/"
)

// objects is a kustomization's output, decoded strictly by kind and indexed by name.
type objects struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	ingresses   map[string]*networkingv1.Ingress
	policies    map[string]*networkingv1.NetworkPolicy
	pdbs        map[string]*policyv1.PodDisruptionBudget
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
}

// build runs kustomize on dir and decodes every object into its API type, refusing
// unknown fields.
func build(t *testing.T, dir string) objects {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	o := objects{
		deployments: map[string]*appsv1.Deployment{},
		services:    map[string]*corev1.Service{},
		configMaps:  map[string]*corev1.ConfigMap{},
		ingresses:   map[string]*networkingv1.Ingress{},
		policies:    map[string]*networkingv1.NetworkPolicy{},
		pdbs:        map[string]*policyv1.PodDisruptionBudget{},
		hpas:        map[string]*autoscalingv2.HorizontalPodAutoscaler{},
	}
	for _, res := range resMap.Resources() {
		raw, err := res.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("%s: %s %s/%s", dir, res.GetApiVersion(), res.GetKind(), res.GetName())
		var into any
		switch gvk := res.GetApiVersion() + " " + res.GetKind(); gvk {
		case "apps/v1 Deployment":
			into = put(o.deployments, res.GetName())
		case "v1 Service":
			into = put(o.services, res.GetName())
		case "v1 ConfigMap":
			into = put(o.configMaps, res.GetName())
		case "networking.k8s.io/v1 Ingress":
			into = put(o.ingresses, res.GetName())
		case "networking.k8s.io/v1 NetworkPolicy":
			into = put(o.policies, res.GetName())
		case "policy/v1 PodDisruptionBudget":
			into = put(o.pdbs, res.GetName())
		case "autoscaling/v2 HorizontalPodAutoscaler":
			into = put(o.hpas, res.GetName())
		default:
			t.Fatalf("%s: unexpected kind (a Secret, say, must not be applied by kustomize)", what)
		}
		if err := strict(raw, into); err != nil {
			t.Fatalf("%s does not decode strictly: %v", what, err)
		}
	}
	return o
}

// put makes a new T, files it under name and returns it to decode into.
func put[T any](m map[string]*T, name string) *T {
	v := new(T)
	m[name] = v
	return v
}

// strict decodes JSON into v as the API server's strict field validation does: field
// names match case-sensitively, and an unknown or duplicated field is an error.
func strict(raw []byte, v any) error {
	strictErrs, err := json.UnmarshalStrict(raw, v, json.DisallowDuplicateFields, json.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("%v", strictErrs)
	}
	return nil
}

// strictYAML converts YAML (refusing duplicate keys) and decodes it strictly.
func strictYAML(raw []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	return strict(js, v)
}

// TestStrictDecoding: the decoder the other tests rely on refuses what the API server
// would refuse, including what encoding/json lets through (a field's case).
func TestStrictDecoding(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		ok         bool
	}{
		{"valid", "spec: {replicas: 2, template: {spec: {automountServiceAccountToken: false}}}", true},
		{"unknown field", "spec: {replica: 2}", false},
		{"unknown nested field", "spec: {template: {spec: {automountToken: false}}}", false},
		{"wrong case", "spec: {Replicas: 2}", false},
		{"duplicate key", "spec: {replicas: 2, replicas: 3}", false},
		{"wrong type", "spec: {replicas: two}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := strictYAML([]byte(tc.yaml), &appsv1.Deployment{})
			if (err == nil) != tc.ok {
				t.Errorf("strict decoding of %q: %v, want ok=%v", tc.yaml, err, tc.ok)
			}
		})
	}
}

// TestOverlays builds each kustomization and checks it against the binary's contract.
func TestOverlays(t *testing.T) {
	for _, tc := range []struct {
		dir      string
		replicas int32
		// autoscaled: an HPA (2-10 on CPU) and a PDB (minAvailable 1) come with it.
		autoscaled bool
		// redisURL: what the ConfigMap says; "" means REDIS_URL must come from the Secret.
		redisURL string
		// ownRedis: the kustomization runs a Redis of its own.
		ownRedis bool
		// host and class: the Ingress's host and ingress class; "" for the base's.
		host, class string
	}{
		{dir: "base", replicas: 2, autoscaled: true},
		{dir: "overlays/dev", replicas: 1, redisURL: devRedisURL, ownRedis: true},
		{dir: "overlays/example", replicas: 2, autoscaled: true, host: "pay.example.org", class: "traefik"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			o := build(t, tc.dir)
			d := o.deployments[appName]
			if d == nil {
				t.Fatal("no paylink Deployment")
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.replicas {
				t.Errorf("replicas %d, want %d", ptr(d.Spec.Replicas), tc.replicas)
			}
			checkPod(t, d)
			cm := checkConfigMap(t, o, d)
			if got := cm.Data["REDIS_URL"]; got != tc.redisURL {
				t.Errorf("ConfigMap REDIS_URL %q, want %q", got, tc.redisURL)
			}
			checkService(t, o, d)
			wantHost, wantClass := cmp.Or(tc.host, host), cmp.Or(tc.class, "nginx")
			checkIngress(t, o, wantHost, wantClass)
			checkNetworkPolicy(t, o, d)
			if tc.autoscaled {
				checkScaling(t, o, d)
			} else {
				for _, h := range o.hpas {
					if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas > tc.replicas {
						t.Errorf("HPA %s keeps %d replicas, more than %d", h.Name, *h.Spec.MinReplicas, tc.replicas)
					}
				}
				for _, p := range o.pdbs {
					if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntValue() >= int(tc.replicas) {
						t.Errorf("PDB %s with minAvailable %s would block every eviction", p.Name, p.Spec.MinAvailable)
					}
				}
			}
			if tc.ownRedis {
				checkDevRedis(t, o)
			} else if len(o.deployments) != 1 {
				t.Errorf("%d Deployments, want paylink's alone", len(o.deployments))
			}
		})
	}
}

// checkPod checks the paylink pod against the binary: port, probes, environment,
// hardening, graceful shutdown, scheduling, metrics.
func checkPod(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("%d containers and %d init containers, want paylink alone", len(pod.Containers), len(pod.InitContainers))
	}
	c := pod.Containers[0]
	if c.Image == "" || len(c.Command) != 0 || len(c.Args) != 0 {
		t.Errorf("image %q, command %q, args %q: want the image's entrypoint", c.Image, c.Command, c.Args)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != port {
		t.Fatalf("ports %+v, want http %d alone", c.Ports, port)
	}

	// Probes: /healthz and /readyz on the http port.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startup", c.StartupProbe, "/healthz"},
		{"liveness", c.LivenessProbe, "/healthz"},
		{"readiness", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe on %s, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if got := containerPort(c, p.probe.HTTPGet.Port); got != port {
			t.Errorf("%s probe on port %s (%d), want the http port %d", p.name, p.probe.HTTPGet.Port.String(), got, port)
		}
	}
	if s := c.StartupProbe; s != nil && s.PeriodSeconds*s.FailureThreshold < 30 {
		t.Errorf("startup probe gives %d s, want at least 30", s.PeriodSeconds*s.FailureThreshold)
	}
	if l := c.LivenessProbe; l != nil && l.FailureThreshold < 3 {
		t.Errorf("liveness failureThreshold %d: one slow answer would restart the pod", l.FailureThreshold)
	}

	// Graceful shutdown: the preStop pause and the drain fit in the grace period.
	var preStop int64
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		t.Errorf("no preStop sleep: endpoints may still send traffic after SIGTERM")
	} else {
		preStop = c.Lifecycle.PreStop.Sleep.Seconds
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= drainSeconds || *g <= preStop+drainSeconds {
		t.Errorf("terminationGracePeriodSeconds %v must exceed the %d s preStop plus paylink's %d s drain", g, preStop, drainSeconds)
	}

	// Hardening.
	psc := pod.SecurityContext
	if psc == nil || !isTrue(psc.RunAsNonRoot) || !is(psc.RunAsUser, uid) || !is(psc.RunAsGroup, uid) ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v, want non-root %d:%d and seccomp RuntimeDefault", psc, uid, uid)
	}
	sc := c.SecurityContext
	if sc == nil || !isTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		isTrue(sc.Privileged) || (sc.RunAsUser != nil && *sc.RunAsUser == 0) {
		t.Errorf("container security context %+v", sc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("the service account token is mounted")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("service links put PAYLINK_* variables of Kubernetes' own in paylink's environment")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC || len(pod.Volumes) != 0 {
		t.Errorf("the pod shares the host's namespaces or mounts volumes")
	}

	// Resources: requests for scheduling and the HPA; a memory limit, and the Go
	// runtime's soft limit under it.
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v, want CPU and memory requests and a memory limit", c.Resources)
	}
	for _, e := range c.Env {
		if !slices.Contains(envNames, e.Name) && !slices.Contains(runtimeEnv, e.Name) {
			t.Errorf("env %s is not a variable paylink reads", e.Name)
		}
		if slices.Contains(secretNames, e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("env %s is a secret written into the Deployment", e.Name)
		}
		if e.Name == "GOMEMLIMIT" {
			if limit := c.Resources.Limits.Memory().Value(); goBytes(t, e.Value) >= limit {
				t.Errorf("GOMEMLIMIT %s is not under the memory limit %s", e.Value, c.Resources.Limits.Memory())
			}
		}
	}

	// The Secret "paylink", after the ConfigMap so that it wins.
	var sawConfigMap, sawSecret bool
	for _, e := range c.EnvFrom {
		switch {
		case e.ConfigMapRef != nil:
			sawConfigMap = true
		case e.SecretRef != nil && e.SecretRef.Name == secretName && !isTrue(e.SecretRef.Optional):
			sawSecret = sawConfigMap
		}
	}
	if !sawSecret {
		t.Errorf("envFrom %+v: want the ConfigMap, then the Secret %q (not optional)", c.EnvFrom, secretName)
	}

	// Spread over zones and nodes, selecting the pods themselves.
	keys := map[string]bool{}
	for _, tsc := range pod.TopologySpreadConstraints {
		keys[tsc.TopologyKey] = selects(t, tsc.LabelSelector, d.Spec.Template.Labels)
	}
	for _, k := range []string{"topology.kubernetes.io/zone", "kubernetes.io/hostname"} {
		if !keys[k] {
			t.Errorf("no topology spread over %s selecting the pods", k)
		}
	}
	if !selects(t, d.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("the Deployment's selector does not select its pods")
	}

	// Prometheus: scrape annotations for /metrics on the container port.
	ann := d.Spec.Template.Annotations
	for k, want := range map[string]string{"scrape": "true", "path": "/metrics", "port": strconv.Itoa(port)} {
		if got := ann[prometheusAnn+k]; got != want {
			t.Errorf("pod annotation %s%s %q, want %q", prometheusAnn, k, got, want)
		}
	}

	if s := d.Spec.Strategy; s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable == nil || s.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v: want maxUnavailable 0", s)
	}
}

// checkConfigMap finds the ConfigMap the Deployment refers to (kustomize gives it a hash
// suffix) and checks it holds only variables paylink reads, no secret, and valid values.
func checkConfigMap(t *testing.T, o objects, d *appsv1.Deployment) *corev1.ConfigMap {
	t.Helper()
	var cm *corev1.ConfigMap
	for _, e := range d.Spec.Template.Spec.Containers[0].EnvFrom {
		if e.ConfigMapRef != nil {
			if cm = o.configMaps[e.ConfigMapRef.Name]; cm == nil {
				t.Fatalf("the Deployment refers to the ConfigMap %s, which is not there", e.ConfigMapRef.Name)
			}
		}
	}
	if cm == nil {
		t.Fatal("the Deployment takes no ConfigMap")
	}
	if !strings.HasPrefix(cm.Name, appName+"-") {
		t.Errorf("ConfigMap %s has no content hash: a change would not roll the pods", cm.Name)
	}
	if len(cm.BinaryData) != 0 {
		t.Errorf("ConfigMap has binaryData")
	}
	for k, v := range cm.Data {
		if !slices.Contains(envNames, k) {
			t.Errorf("ConfigMap key %s is not a variable paylink reads", k)
		}
		if slices.Contains(secretNames, k) {
			t.Errorf("ConfigMap holds the secret %s", k)
		}
		if err := validValue(k, v); err != nil {
			t.Errorf("ConfigMap %s=%q: %v", k, v, err)
		}
	}
	if cm.Data["PORT"] != strconv.Itoa(port) {
		t.Errorf("PORT %q, want %d (the container port)", cm.Data["PORT"], port)
	}
	if cm.Data["DOJO_API_VERSION"] != "2026-02-27" {
		t.Errorf("DOJO_API_VERSION %q", cm.Data["DOJO_API_VERSION"])
	}
	return cm
}

var (
	durations    = []string{"DOJO_TIMEOUT", "PAYLINK_ACK_BUDGET", "PAYLINK_SLOW_NOTICE", "PAYLINK_RETYPE_WINDOW", "PAYLINK_NOTIFY_CLAIM_IDLE", "PAYLINK_NOTIFY_RETRY_BASE", "PAYLINK_NOTIFY_RETRY_MAX", "PAYLINK_RECONCILE_INTERVAL"}
	positiveInts = []string{"PAYLINK_NOTIFY_WORKERS", "PAYLINK_NOTIFY_MAX_ATTEMPTS", "PAYLINK_RECONCILE_RATE", "PAYLINK_MAX_IN_FLIGHT"}
	baseURLs     = []string{"SLACK_API_URL", "DOJO_API_URL", "DOJO_CHECKOUT_URL"}
	idLists      = []string{"PAYLINK_ALLOWED_CHANNELS", "PAYLINK_ALLOWED_USERS", "PAYLINK_ALLOWED_USERGROUPS", "PAYLINK_ADMINS"}
	amount       = `[0-9]+(\.[0-9]{1,2})?`
	maxAmountRE  = regexp.MustCompile(`^(` + amount + `|[A-Z]{3}:` + amount + `(,[A-Z]{3}:` + amount + `)*)$`)
	rateLimitRE  = regexp.MustCompile(`^(off|[1-9][0-9]*/[mhd])$`)
	idListRE     = regexp.MustCompile(`^[A-Z0-9]+(,[A-Z0-9]+)*$`)
)

// validValue checks a setting's syntax as paylink's config loader would.
func validValue(k, v string) error {
	switch {
	case slices.Contains(durations, k):
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			return fmt.Errorf("not a positive duration")
		}
	case slices.Contains(positiveInts, k):
		if n, err := strconv.Atoi(v); err != nil || n <= 0 {
			return fmt.Errorf("not a positive whole number")
		}
	case slices.Contains(baseURLs, k):
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("not an https URL")
		}
	case slices.Contains(idLists, k):
		if !idListRE.MatchString(v) {
			return fmt.Errorf("not a comma-separated list of Slack ids")
		}
	case k == "LOG_LEVEL":
		if !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
			return fmt.Errorf("not a log level")
		}
	case k == "PAYLINK_MAX_AMOUNT":
		if !maxAmountRE.MatchString(v) {
			return fmt.Errorf("not an amount or a CUR:amount list")
		}
	case k == "PAYLINK_RATE_LIMIT":
		if !rateLimitRE.MatchString(v) {
			return fmt.Errorf("not N/m, N/h, N/d or off")
		}
	case k == "REDIS_URL":
		if u, err := url.Parse(v); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return fmt.Errorf("not a redis:// or rediss:// URL")
		}
	case k == "PAYLINK_REDIS_PREFIX":
		if v == "" {
			return fmt.Errorf("empty")
		}
	}
	return nil
}

// checkService: port 80 to the container's http port, selecting the paylink pods.
func checkService(t *testing.T, o objects, d *appsv1.Deployment) {
	t.Helper()
	svc := o.services[appName]
	if svc == nil {
		t.Fatal("no paylink Service")
	}
	if svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service type %s: reach paylink through the Ingress", svc.Spec.Type)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].Name != "http" ||
		containerPort(d.Spec.Template.Spec.Containers[0], svc.Spec.Ports[0].TargetPort) != port {
		t.Errorf("Service ports %+v, want http 80 to the container port %d", svc.Spec.Ports, port)
	}
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the pods", svc.Spec.Selector)
	}
}

// checkIngress: nginx, TLS, and only the paths Slack and Dojo call.
func checkIngress(t *testing.T, o objects, host, class string) {
	t.Helper()
	if len(o.ingresses) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(o.ingresses))
	}
	ing := o.ingresses[appName]
	if ing == nil {
		t.Fatal("no paylink Ingress")
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != class {
		t.Errorf("ingressClassName %v, want %s", ptr(ing.Spec.IngressClassName), class)
	}
	if ing.Spec.DefaultBackend != nil {
		t.Errorf("a default backend exposes every path")
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName == "" || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{host}) {
		t.Errorf("TLS %+v, want %s with a secret", ing.Spec.TLS, host)
	}
	type path struct {
		path string
		typ  networkingv1.PathType
	}
	var paths []path
	for _, r := range ing.Spec.Rules {
		if r.Host != host || r.HTTP == nil {
			t.Errorf("rule for host %q, want %s", r.Host, host)
			continue
		}
		for _, p := range r.HTTP.Paths {
			paths = append(paths, path{p.Path, ptr(p.PathType)})
			b := p.Backend.Service
			if b == nil || b.Name != appName || (b.Port.Name != "http" && b.Port.Number != 80) {
				t.Errorf("path %s does not reach the paylink Service's http port: %+v", p.Path, p.Backend)
			}
		}
	}
	exposes := func(request string) bool {
		return slices.ContainsFunc(paths, func(p path) bool { return matches(p.path, p.typ, request) })
	}
	for _, want := range publicPaths {
		if !exposes(want) {
			t.Errorf("Ingress does not expose %s", want)
		}
	}
	for _, private := range privatePaths {
		if exposes(private) {
			t.Errorf("Ingress exposes %s", private)
		}
	}
}

// matches says whether an Ingress path of the given type routes the request path.
// ImplementationSpecific counts as the broader Prefix.
func matches(path string, typ networkingv1.PathType, request string) bool {
	if typ == networkingv1.PathTypeExact {
		return request == path
	}
	if path == "/" {
		return true
	}
	p := strings.TrimSuffix(path, "/")
	return request == p || strings.HasPrefix(request, p+"/")
}

func TestIngressPathMatching(t *testing.T) {
	for _, tc := range []struct {
		path    string
		typ     networkingv1.PathType
		request string
		want    bool
	}{
		{"/slack/commands", networkingv1.PathTypeExact, "/slack/commands", true},
		{"/slack/commands", networkingv1.PathTypeExact, "/slack/commands/x", false},
		{"/slack", networkingv1.PathTypePrefix, "/slack/interactions", true},
		{"/slack", networkingv1.PathTypePrefix, "/slackers", false},
		{"/", networkingv1.PathTypePrefix, "/metrics", true},
		{"/", networkingv1.PathTypeImplementationSpecific, "/readyz", true},
	} {
		if got := matches(tc.path, tc.typ, tc.request); got != tc.want {
			t.Errorf("%s %s routes %s: %v, want %v", tc.typ, tc.path, tc.request, got, tc.want)
		}
	}
}

// checkNetworkPolicy: in only to 8080 from the ingress controller's and monitoring's
// namespaces; out only to DNS, Redis and HTTPS.
func checkNetworkPolicy(t *testing.T, o objects, d *appsv1.Deployment) {
	t.Helper()
	np := o.policies[appName]
	if np == nil {
		t.Fatal("no paylink NetworkPolicy")
	}
	if !selects(t, &np.Spec.PodSelector, d.Spec.Template.Labels) {
		t.Errorf("NetworkPolicy does not select the paylink pods")
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Errorf("policyTypes %v, want Ingress and Egress", np.Spec.PolicyTypes)
	}
	namespaces := map[string]bool{}
	for _, rule := range np.Spec.Ingress {
		if len(rule.From) == 0 || len(rule.Ports) == 0 {
			t.Errorf("ingress rule %+v admits any source or any port", rule)
		}
		for _, p := range rule.Ports {
			if p.Port == nil || p.Port.IntValue() != port || p.EndPort != nil {
				t.Errorf("ingress admits port %v, want %d alone", p.Port, port)
			}
		}
		for _, f := range rule.From {
			if f.NamespaceSelector == nil || f.IPBlock != nil || len(f.NamespaceSelector.MatchLabels) == 0 {
				t.Errorf("ingress from %+v, want a namespace by name", f)
				continue
			}
			namespaces[f.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]] = true
		}
	}
	if !namespaces[ingressNS] || !namespaces[monitoringNS] || len(namespaces) != 2 {
		t.Errorf("ingress from namespaces %v, want %s and %s", namespaces, ingressNS, monitoringNS)
	}
	allowed := map[string]bool{"UDP/53": false, "TCP/53": false, "TCP/6379": false, "TCP/443": false, "TCP/26379": true}
	for _, rule := range np.Spec.Egress {
		if len(rule.Ports) == 0 {
			t.Errorf("egress rule %+v admits every port", rule)
		}
		for _, p := range rule.Ports {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			key := fmt.Sprintf("%s/%d", proto, p.Port.IntValue())
			if _, ok := allowed[key]; !ok || p.EndPort != nil {
				t.Errorf("egress to %s: want DNS, Redis (and Sentinel) and HTTPS only", key)
			}
			allowed[key] = true
		}
	}
	for key, seen := range allowed {
		if !seen {
			t.Errorf("no egress to %s", key)
		}
	}
}

// checkScaling: an HPA of 2 to 10 on 70% CPU, and a PDB keeping one pod.
func checkScaling(t *testing.T, o objects, d *appsv1.Deployment) {
	t.Helper()
	pdb := o.pdbs[appName]
	if len(o.pdbs) != 1 || pdb == nil || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 ||
		pdb.Spec.MaxUnavailable != nil || !selects(t, pdb.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("PodDisruptionBudget %+v, want minAvailable 1 selecting the pods", pdb)
	}
	h := o.hpas[appName]
	if len(o.hpas) != 1 || h == nil {
		t.Fatalf("HorizontalPodAutoscalers %v, want paylink's", o.hpas)
	}
	ref := h.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA scales %+v, want the paylink Deployment", ref)
	}
	if !is(h.Spec.MinReplicas, 2) || h.Spec.MaxReplicas != 10 || *d.Spec.Replicas < *h.Spec.MinReplicas {
		t.Errorf("HPA %v-%d, want 2-10 with the Deployment's replicas within", h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
		h.Spec.Metrics[0].Resource.Target.Type != autoscalingv2.UtilizationMetricType || !is(h.Spec.Metrics[0].Resource.Target.AverageUtilization, 70) {
		t.Errorf("HPA metrics %+v, want 70%% CPU", h.Spec.Metrics)
	}
}

// checkDevRedis: one hardened Redis behind the Service "redis", reachable by paylink.
func checkDevRedis(t *testing.T, o objects) {
	t.Helper()
	r := o.deployments[redisName]
	if r == nil || r.Spec.Replicas == nil || *r.Spec.Replicas != 1 {
		t.Fatalf("no single-replica redis Deployment")
	}
	pod := r.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("redis has %d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !strings.HasPrefix(c.Image, "redis:7") {
		t.Errorf("redis image %s, want redis:7", c.Image)
	}
	if pod.SecurityContext == nil || !isTrue(pod.SecurityContext.RunAsNonRoot) || pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("redis does not run as non-root")
	}
	if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("redis container security context %+v", sc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("redis mounts the service account token")
	}
	svc := o.services[redisName]
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 6379 || containerPort(c, svc.Spec.Ports[0].TargetPort) != 6379 ||
		!labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(r.Spec.Template.Labels)) {
		t.Errorf("redis Service %+v, want 6379 to the redis pods", svc)
	}
	if np := o.policies[redisName]; np != nil {
		if !selects(t, &np.Spec.PodSelector, r.Spec.Template.Labels) || len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1 ||
			np.Spec.Ingress[0].From[0].PodSelector == nil ||
			!selects(t, np.Spec.Ingress[0].From[0].PodSelector, o.deployments[appName].Spec.Template.Labels) {
			t.Errorf("redis NetworkPolicy %+v does not admit paylink alone", np.Spec)
		}
	}
}

// TestSecretTemplate: the template decodes strictly as a Secret, holds placeholders
// only, and no kustomization applies it.
func TestSecretTemplate(t *testing.T) {
	raw, err := os.ReadFile("base/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var s corev1.Secret
	if err := strictYAML(raw, &s); err != nil {
		t.Fatalf("secret.example.yaml does not decode strictly as a Secret: %v", err)
	}
	if s.APIVersion != "v1" || s.Kind != "Secret" || s.Name != secretName || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("%s %s %q of type %s, want v1 Secret %q, Opaque", s.APIVersion, s.Kind, s.Name, s.Type, secretName)
	}
	if len(s.Data) != 0 {
		t.Errorf("the template has base64 data, which could hide a real value: use stringData")
	}
	for k, v := range s.StringData {
		if v != placeholder {
			t.Errorf("%s holds %q, want the placeholder %s", k, v, placeholder)
		}
		if !slices.Contains(secretNames, k) && k != "REDIS_URL" {
			t.Errorf("%s is not one of paylink's secrets", k)
		}
	}
	for _, name := range requiredSecrets {
		if _, ok := s.StringData[name]; !ok {
			t.Errorf("the template lacks %s", name)
		}
	}
	for _, dir := range []string{"base", "overlays/dev", "overlays/example"} {
		raw, err := os.ReadFile(dir + "/kustomization.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var k kusttypes.Kustomization
		if err := strictYAML(raw, &k); err != nil {
			t.Fatalf("%s/kustomization.yaml: %v", dir, err)
		}
		for _, r := range append(k.Resources, k.Components...) {
			if strings.Contains(r, "secret") {
				t.Errorf("%s applies %s", dir, r)
			}
		}
		if len(k.SecretGenerator) != 0 {
			t.Errorf("%s generates a Secret", dir)
		}
	}
}

// TestDockerfile: the image agrees with the manifests: static build, distroless,
// the same user and port.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, want := range []string{
		"FROM --platform=$BUILDPLATFORM golang:1.26 AS build",
		"--mount=type=cache,target=/go/pkg/mod go mod download",
		`CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /paylink ./cmd/paylink`,
		"COPY --from=build /src/README.md /README.md",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		fmt.Sprintf("USER %d:%d", uid, uid),
		fmt.Sprintf("EXPOSE %d", port),
		`ENTRYPOINT ["/paylink"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		switch line = strings.TrimSpace(line); line {
		case "go.mod", "go.sum", "cmd", "bot", "dojo", "store", "*", "**", "README.md":
			t.Errorf(".dockerignore leaves out %s, which the build needs", line)
		}
	}
	if strings.Contains(string(ignore), "*.md") && !strings.Contains(string(ignore), "!README.md") {
		t.Errorf(".dockerignore leaves out README.md, which the image carries")
	}
}

// containerPort resolves a probe's or a Service's port (a name or a number) to the
// container's port number, or 0.
func containerPort(c corev1.Container, p intstr.IntOrString) int32 {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort
		}
	}
	return 0
}

// selects says whether the label selector is set and matches the labels.
func selects(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("selector %+v: %v", sel, err)
		return false
	}
	return s.Matches(labels.Set(l))
}

// goBytes parses a GOMEMLIMIT value (bytes, or a number with B, KiB, MiB, GiB or TiB).
func goBytes(t *testing.T, v string) int64 {
	t.Helper()
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			if x, err := strconv.ParseInt(n, 10, 64); err == nil && x > 0 {
				return x * u.mult
			}
		}
	}
	t.Errorf("GOMEMLIMIT %q is not a size Go understands", v)
	return 1 << 62
}

func isTrue(b *bool) bool { return b != nil && *b }

func is[T comparable](p *T, want T) bool { return p != nil && *p == want }

func ptr[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Command kueue runs Kueue's controller manager (sigs.k8s.io/kueue: its
// queue manager and scheduler, core controllers, job integrations and
// webhooks) and its visibility API server against the test control plane,
// out of cluster.
//
// Why not cmd/kueue itself: without its in-cluster certificate management
// (which signs for the in-cluster Service names), it reads the metrics
// server's certificate from the fixed /etc/kueue/metrics/certs and the
// visibility server's from the fixed /visibility, paths shared by every
// control plane on the machine. This main wires Kueue's own packages the
// same way, with the webhook server on 127.0.0.1 (host, port and certificate
// directory from the Configuration file), metrics off, and the visibility
// server on 127.0.0.1 with the test PKI's certificate; `up` registers the
// webhooks and conversion webhooks by URL and the visibility APIService
// through an ExternalName Service for localhost.
package main

import (
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/compatibility"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	configapi "sigs.k8s.io/kueue/apis/config/v1beta2"
	kueuev1beta1 "sigs.k8s.io/kueue/apis/kueue/v1beta1"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"
	generatedopenapi "sigs.k8s.io/kueue/apis/visibility/openapi"
	visibilityv1beta1 "sigs.k8s.io/kueue/apis/visibility/v1beta1"
	visibilityv1beta2 "sigs.k8s.io/kueue/apis/visibility/v1beta2"
	qcache "sigs.k8s.io/kueue/pkg/cache/queue"
	schdcache "sigs.k8s.io/kueue/pkg/cache/scheduler"
	"sigs.k8s.io/kueue/pkg/config"
	"sigs.k8s.io/kueue/pkg/constants"
	"sigs.k8s.io/kueue/pkg/controller/core"
	"sigs.k8s.io/kueue/pkg/controller/core/indexer"
	"sigs.k8s.io/kueue/pkg/controller/jobframework"
	"sigs.k8s.io/kueue/pkg/metrics"
	"sigs.k8s.io/kueue/pkg/resources"
	"sigs.k8s.io/kueue/pkg/scheduler"
	preemptexpectations "sigs.k8s.io/kueue/pkg/scheduler/preemption/expectations"
	"sigs.k8s.io/kueue/pkg/util/kubeversion"
	"sigs.k8s.io/kueue/pkg/version"
	"sigs.k8s.io/kueue/pkg/visibility/storage"
	"sigs.k8s.io/kueue/pkg/webhooks"

	// Kueue's job integrations register themselves (TFJob, PyTorchJob,
	// MPIJob, TrainJob, ...); the Configuration enables some of them.
	_ "sigs.k8s.io/kueue/pkg/controller/jobs"
)

var log = ctrl.Log.WithName("setup")

func fail(err error, msg string) {
	if err != nil {
		log.Error(err, msg)
		os.Exit(1)
	}
}

func main() {
	var configFile, visibilityAddr, visibilityCertDir string
	var visibilityPort int
	flag.StringVar(&configFile, "config", "", "Kueue's Configuration file")
	flag.StringVar(&visibilityAddr, "visibility-bind-address", "127.0.0.1", "visibility server address")
	flag.IntVar(&visibilityPort, "visibility-port", 8082, "visibility server port")
	flag.StringVar(&visibilityCertDir, "visibility-cert-dir", "", "directory with the visibility server's tls.crt and tls.key")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(kueue.AddToScheme(scheme))
	utilruntime.Must(kueuev1beta1.AddToScheme(scheme))
	utilruntime.Must(configapi.AddToScheme(scheme))
	utilruntime.Must(jobframework.ForEachIntegration(func(_ string, cb jobframework.IntegrationCallbacks) error {
		if cb.AddToScheme != nil {
			return cb.AddToScheme(scheme)
		}
		return nil
	}))

	options, cfg, err := config.Load(scheme, configFile)
	fail(err, "configuration")
	fail(config.LoadAndValidateFeatureGates("", cfg.FeatureGates).ToAggregate(), "feature gates")
	fail(config.Validate(&cfg, scheme).ToAggregate(), "configuration")
	fail(config.AddWebhookSettingsTo(&options, &cfg), "webhook server")
	options.Metrics = metricsserver.Options{BindAddress: "0"} // off
	metrics.Register()

	kubeConfig := ctrl.GetConfigOrDie()
	ctx := ctrl.SetupSignalHandler()
	mgr, err := ctrl.NewManager(kubeConfig, options)
	fail(err, "manager")
	fail(mgr.AddHealthzCheck("healthz", healthz.Ping), "healthz")
	fail(mgr.AddReadyzCheck("readyz", mgr.GetWebhookServer().StartedChecker()), "readyz")

	// All-or-nothing admission: with waitForPodsReady.blockAdmission, no other
	// workload is admitted while an admitted one waits for its pods.
	blockForPodsReady := cfg.WaitForPodsReady != nil && cfg.WaitForPodsReady.BlockAdmission != nil &&
		*cfg.WaitForPodsReady.BlockAdmission
	requeueAt := configapi.EvictionTimestamp
	if w := cfg.WaitForPodsReady; w != nil && w.RequeuingStrategy != nil && w.RequeuingStrategy.Timestamp != nil {
		requeueAt = *w.RequeuingStrategy.Timestamp
	}
	formatter := resources.NewResourceFormatter()
	cCache := schdcache.New(mgr.GetClient(),
		schdcache.WithPodsReadyTracking(blockForPodsReady),
		schdcache.WithResourceFormatter(formatter))
	requeuer := qcache.NewRequeuer()
	fail(mgr.Add(requeuer), "requeuer")
	expectations := preemptexpectations.New()
	queues := qcache.NewManager(mgr.GetClient(), cCache, requeuer,
		qcache.WithPodsReadyRequeuingTimestamp(requeueAt),
		qcache.WithPreemptionExpectations(expectations),
		qcache.WithResourceFormatter(formatter))

	fail(indexer.Setup(ctx, mgr.GetFieldIndexer()), "indexes")
	fail(jobframework.SetupIndexes(ctx, mgr.GetFieldIndexer(),
		jobframework.WithEnabledFrameworks(cfg.Integrations.Frameworks)), "job indexes")

	disc, err := discovery.NewDiscoveryClientForConfig(kubeConfig)
	fail(err, "discovery client")
	serverVersion := kubeversion.NewServerVersionFetcher(disc)
	fail(mgr.Add(serverVersion), "server version fetcher")
	fail(serverVersion.FetchServerVersion(), "server version")

	failed, err := core.SetupControllers(mgr, queues, cCache, &cfg, core.SetupControllersOpts{
		PreemptionExpectations: expectations, ResourceFormatter: formatter,
	})
	fail(err, "controller "+failed)
	fail(jobframework.SetupControllers(ctx, mgr, log,
		jobframework.WithManageJobsWithoutQueueName(cfg.ManageJobsWithoutQueueName),
		jobframework.WithWaitForPodsReady(cfg.WaitForPodsReady),
		jobframework.WithKubeServerVersion(serverVersion),
		jobframework.WithEnabledFrameworks(cfg.Integrations.Frameworks),
		jobframework.WithManagerName(constants.KueueName),
		jobframework.WithCache(cCache),
		jobframework.WithQueues(queues),
		jobframework.WithObjectRetentionPolicies(cfg.ObjectRetentionPolicies),
	), "job controllers")
	failed, err = webhooks.Setup(mgr, nil)
	fail(err, "webhook "+failed)

	fail(mgr.Add(scheduler.New(queues, cCache, mgr.GetClient(), mgr.GetEventRecorder(constants.AdmissionName),
		scheduler.WithPodsReadyRequeuingTimestamp(requeueAt),
		scheduler.WithFairSharing(cfg.FairSharing),
		scheduler.WithPreemptionExpectations(expectations),
		scheduler.WithResourceFormatter(formatter))), "scheduler")

	go queues.CleanUpOnContext(ctx)
	go cCache.CleanUpOnContext(ctx)
	if visibilityCertDir != "" {
		go func() {
			fail(serveVisibility(ctx, queues, kubeConfig, visibilityAddr, visibilityPort, visibilityCertDir),
				"visibility server")
		}()
	}
	log.Info("starting", "version", version.GitVersion, "frameworks", cfg.Integrations.Frameworks)
	fail(mgr.Start(ctx), "manager")
}

// serveVisibility serves visibility.kueue.x-k8s.io (pending workloads, with
// their positions, of a ClusterQueue or LocalQueue) from Kueue's queue
// manager, an aggregated API server authenticating and authorising through
// the kube-apiserver.
func serveVisibility(ctx context.Context, queues *qcache.Manager, kubeConfig *rest.Config,
	addr string, port int, certDir string) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(visibilityv1beta2.AddToScheme(scheme))
	utilruntime.Must(visibilityv1beta1.AddToScheme(scheme))
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	codecs := serializer.NewCodecFactory(scheme)

	o := genericoptions.NewRecommendedOptions("", codecs.LegacyCodec(
		visibilityv1beta2.SchemeGroupVersion, visibilityv1beta1.SchemeGroupVersion))
	o.Etcd = nil
	o.SecureServing.BindAddress = net.ParseIP(addr)
	o.SecureServing.BindPort = port
	o.SecureServing.ServerCert.CertKey.CertFile = filepath.Join(certDir, "tls.crt")
	o.SecureServing.ServerCert.CertKey.KeyFile = filepath.Join(certDir, "tls.key")
	if f := flag.Lookup("kubeconfig"); f != nil {
		o.Authentication.RemoteKubeConfigFile = f.Value.String()
		o.Authorization.RemoteKubeConfigFile = f.Value.String()
		o.CoreAPI.CoreAPIKubeconfigPath = f.Value.String()
	}
	// No admission: the API is read-only.
	o.Admission = nil

	c := genericapiserver.NewRecommendedConfig(codecs)
	c.EffectiveVersion = compatibility.NewEffectiveVersionFromString("1.36", "", "")
	namer := openapinamer.NewDefinitionNamer(scheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIConfig.Info.Title = "Kueue visibility"
	c.OpenAPIV3Config.Info.Title = "Kueue visibility"
	c.ClientConfig = rest.CopyConfig(kubeConfig)
	if err := o.ApplyTo(c); err != nil {
		return err
	}
	server, err := c.Complete().New("kueue-visibility", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(visibilityv1beta2.SchemeGroupVersion.Group, scheme,
		runtime.NewParameterCodec(scheme), codecs)
	store := storage.NewStorage(queues)
	group.VersionedResourcesStorageMap[visibilityv1beta2.SchemeGroupVersion.Version] = store
	group.VersionedResourcesStorageMap[visibilityv1beta1.SchemeGroupVersion.Version] = store
	group.PrioritizedVersions = []schema.GroupVersion{visibilityv1beta2.SchemeGroupVersion,
		visibilityv1beta1.SchemeGroupVersion}
	if err := server.InstallAPIGroups(&group); err != nil {
		return err
	}
	return server.PrepareRun().RunWithContext(ctx)
}

// Command trainer-controller-manager runs the Kubeflow Trainer v2 controller
// manager (TrainJob, TrainingRuntime, ClusterTrainingRuntime in
// trainer.kubeflow.org/v1alpha1) and its webhooks against the test control
// plane, out of cluster.
//
// Why not cmd/trainer-controller-manager itself: its webhook server reads its
// certificate from controller-runtime's fixed /tmp/k8s-webhook-server
// directory (shared by every control plane on the machine) unless the
// in-cluster certificate rotator runs, which signs for the in-cluster Service
// name. This main does what upstream's does, with the trainer's own
// packages (config, runtimes, controllers, webhooks), and a webhook server on
// 127.0.0.1 with the test PKI's certificate; `up` registers the webhooks by
// URL. The JobSet controller that runs what a TrainJob becomes is the
// sigs.k8s.io/jobset version this module's go.mod resolves (Trainer's own).
package main

import (
	"flag"
	"os"

	apiruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlpkg "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	jobsetv1alpha2 "sigs.k8s.io/jobset/api/jobset/v1alpha2"
	schedulerpluginsv1alpha1 "sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"
	volcanov1beta1 "volcano.sh/apis/pkg/apis/scheduling/v1beta1"

	configapi "github.com/kubeflow/trainer/v2/pkg/apis/config/v1alpha1"
	trainer "github.com/kubeflow/trainer/v2/pkg/apis/trainer/v1alpha1"
	"github.com/kubeflow/trainer/v2/pkg/config"
	"github.com/kubeflow/trainer/v2/pkg/controller"
	runtimecore "github.com/kubeflow/trainer/v2/pkg/runtime/core"
	"github.com/kubeflow/trainer/v2/pkg/webhooks"
)

func main() {
	var probeAddr, certDir string
	var webhookPort int
	flag.StringVar(&probeAddr, "health-probe-bind-address", "127.0.0.1:0", "healthz/readyz address")
	flag.IntVar(&webhookPort, "webhook-server-port", 9443, "webhook port on 127.0.0.1")
	flag.StringVar(&certDir, "webhook-cert-dir", "", "directory with the webhook's tls.crt and tls.key")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	fail := func(err error, msg string) {
		if err != nil {
			log.Error(err, msg)
			os.Exit(1)
		}
	}

	scheme := apiruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(configapi.AddToScheme(scheme))
	utilruntime.Must(trainer.AddToScheme(scheme))
	utilruntime.Must(jobsetv1alpha2.AddToScheme(scheme))
	utilruntime.Must(schedulerpluginsv1alpha1.AddToScheme(scheme))
	utilruntime.Must(volcanov1beta1.AddToScheme(scheme))

	// The trainer's defaults (as with no --config), then ours for where it listens.
	options, cfg, err := config.Load(scheme, "")
	fail(err, "configuration")
	fail(utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates), "feature gates")
	options.LeaderElection = false
	options.HealthProbeBindAddress = probeAddr
	options.Metrics = metricsserver.Options{BindAddress: "0"} // off
	options.WebhookServer = webhook.NewServer(webhook.Options{
		Host: "127.0.0.1", Port: webhookPort, CertDir: certDir,
	})
	restCfg := ctrl.GetConfigOrDie()
	config.ApplyClientConnection(restCfg, &cfg)
	mgr, err := ctrl.NewManager(restCfg, options)
	fail(err, "unable to create the manager")
	fail(mgr.AddHealthzCheck("healthz", healthz.Ping), "healthz")
	fail(mgr.AddReadyzCheck("readyz", mgr.GetWebhookServer().StartedChecker()), "readyz")

	ctx := ctrl.SetupSignalHandler()
	runtimes, err := runtimecore.New(ctx, mgr.GetClient(), mgr.GetFieldIndexer(), &cfg)
	fail(err, "runtimes")
	name, err := controller.SetupControllers(mgr, runtimes, ctrlpkg.Options{})
	fail(err, "controller "+name)
	name, err = webhooks.Setup(mgr, runtimes)
	fail(err, "webhook "+name)
	log.Info("starting")
	fail(mgr.Start(ctx), "manager")
}

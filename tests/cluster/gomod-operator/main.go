// Command training-operator runs the Kubeflow training operator v1's TFJob and
// PyTorchJob controllers and validating webhooks against the test control
// plane, out of cluster.
//
// Why not cmd/training-operator.v1 itself: its webhook server listens on all
// interfaces (no host flag) and gets its certificate from a rotator that
// signs for the in-cluster Service name and writes to a fixed
// /tmp/k8s-webhook-server directory. The test control plane serves only on
// 127.0.0.1 and calls the webhooks by URL, so this main wires the same
// controllers and webhooks (the operator's own packages) with a loopback
// webhook server and the test PKI's certificate.
package main

import (
	"flag"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	kubeflowv1 "github.com/kubeflow/training-operator/pkg/apis/kubeflow.org/v1"
	"github.com/kubeflow/training-operator/pkg/config"
	controllerv1 "github.com/kubeflow/training-operator/pkg/controller.v1"
	"github.com/kubeflow/training-operator/pkg/controller.v1/common"
	"github.com/kubeflow/training-operator/pkg/webhooks"
)

func main() {
	var metricsAddr, probeAddr, certDir string
	var webhookPort int
	var schemes controllerv1.EnabledSchemes
	flag.StringVar(&metricsAddr, "metrics-bind-address", "127.0.0.1:0", "metrics address")
	flag.StringVar(&probeAddr, "health-probe-bind-address", "127.0.0.1:8081", "healthz/readyz address")
	flag.IntVar(&webhookPort, "webhook-server-port", 9443, "webhook port on 127.0.0.1")
	flag.StringVar(&certDir, "webhook-cert-dir", "", "directory with the webhook's tls.crt and tls.key")
	flag.Var(&schemes, "enable-scheme", "job kind to run, repeatable (tfjob, pytorchjob, ...)")
	config.Config.PyTorchInitContainerImage = config.PyTorchInitContainerImageDefault
	config.Config.PyTorchInitContainerTemplateFile = config.PyTorchInitContainerTemplateFileDefault
	config.Config.PyTorchInitContainerMaxTries = config.PyTorchInitContainerMaxTriesDefault
	config.Config.MPIKubectlDeliveryImage = config.MPIKubectlDeliveryImageDefault
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

	scheme := runtime.NewScheme()
	fail(clientgoscheme.AddToScheme(scheme), "scheme")
	fail(kubeflowv1.AddToScheme(scheme), "scheme")

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: "127.0.0.1", Port: webhookPort, CertDir: certDir,
		}),
	})
	fail(err, "unable to create the manager")
	fail(mgr.AddHealthzCheck("healthz", healthz.Ping), "healthz")
	fail(mgr.AddReadyzCheck("readyz", mgr.GetWebhookServer().StartedChecker()), "readyz")

	if schemes.Empty() {
		schemes.FillAll()
	}
	gang := common.GenNonGangSchedulerSetupFunc()
	for _, kind := range schemes {
		fail(controllerv1.SupportedSchemeReconciler[kind](mgr, gang, 1), "controller "+kind)
		fail(webhooks.SupportedSchemeWebhook[kind](mgr), "webhook "+kind)
	}
	log.Info("starting", "schemes", schemes.String())
	fail(mgr.Start(ctrl.SetupSignalHandler()), "manager")
}

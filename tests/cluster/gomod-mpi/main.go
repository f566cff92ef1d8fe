// Command mpi-operator runs the Kubeflow mpi-operator's MPIJob controller
// (kubeflow.org/v2beta1) against the test control plane, out of cluster.
//
// Why not cmd/mpi-operator itself: it serves its health check on the fixed
// port 8080 of every interface (two control planes on one machine would
// clash, and the second operator exits) and only runs after winning a
// leader election in a namespace it does not create. This main builds the
// same controller (the operator's own package) with the same informers and
// runs it directly; the health check is ours, on 127.0.0.1 and a port `up`
// chooses.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgokubescheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	schedclientset "sigs.k8s.io/scheduler-plugins/pkg/generated/clientset/versioned"
	volcanoclient "volcano.sh/apis/pkg/client/clientset/versioned"

	"github.com/kubeflow/mpi-operator/cmd/mpi-operator/app/options"
	mpijobclientset "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	kubeflowscheme "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned/scheme"
	informers "github.com/kubeflow/mpi-operator/pkg/client/informers/externalversions"
	controllersv1 "github.com/kubeflow/mpi-operator/pkg/controller"
)

func main() {
	klog.InitFlags(nil)
	opt := options.NewServerOption()
	opt.AddFlags(flag.CommandLine)
	probe := flag.String("health-probe-bind-address", "127.0.0.1:0", "address of /healthz")
	flag.Parse()
	if err := run(opt, *probe); err != nil {
		klog.Fatalf("%v", err)
	}
}

func run(opt *options.ServerOption, probe string) error {
	cfg, err := clientcmd.BuildConfigFromFlags(opt.MasterURL, opt.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(opt.QPS), opt.Burst
	kubeClient, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	mpiClient, err := mpijobclientset.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// Only used with --gang-scheduling; the controller takes them regardless.
	volcanoClient, err := volcanoclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	schedClient, err := schedclientset.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// As cmd/mpi-operator: events about MPIJobs need their types in the scheme.
	if err := kubeflowscheme.AddToScheme(clientgokubescheme.Scheme); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	kubeInformers := kubeinformers.NewSharedInformerFactory(kubeClient, 0)
	mpiInformers := informers.NewSharedInformerFactory(mpiClient, 0)
	controller, err := controllersv1.NewMPIJobController(ctx, kubeClient, mpiClient, volcanoClient, schedClient,
		kubeInformers.Core().V1().ConfigMaps(),
		kubeInformers.Core().V1().Secrets(),
		kubeInformers.Core().V1().Services(),
		kubeInformers.Batch().V1().Jobs(),
		kubeInformers.Core().V1().Pods(),
		kubeInformers.Scheduling().V1().PriorityClasses(),
		mpiInformers.Kubeflow().V2beta1().MPIJobs(),
		opt)
	if err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	kubeInformers.Start(ctx.Done())
	mpiInformers.Start(ctx.Done())

	// Ready once the controller's caches have synced (Run waits for them).
	ln, err := net.Listen("tcp", probe)
	if err != nil {
		return err
	}
	ready := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-ready:
			fmt.Fprint(w, "ok")
		default:
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
		}
	})
	go func() { _ = http.Serve(ln, mux) }()
	go func() {
		kubeInformers.WaitForCacheSync(ctx.Done())
		mpiInformers.WaitForCacheSync(ctx.Done())
		close(ready)
	}()
	klog.Infof("starting the MPIJob controller; health on %s", ln.Addr())
	err = controller.Run(opt.Threadiness, ctx.Done())
	if ctx.Err() != nil {
		os.Exit(0)
	}
	return err
}

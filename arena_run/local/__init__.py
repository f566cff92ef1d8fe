"""The local target (`--local`): an experiment's rendered objects run as processes on this machine.

Beside arena_run.cluster and below the planner: it never imports the
kubernetes client.  It executes what render produced (the replicas'
commands, env, working directory, volumes, the code-sync init container),
keeps its state under $XDG_STATE_HOME/arena-run/ (`state`), supervises the
processes with one small detached process per experiment (`supervisor`,
hosting a job controller `jobs`, a Deployment controller `components` and a
`kubelet` that starts containers through a `runner`), and
shows that state as Kubernetes-shaped live objects (`view`), so the one
planner and the status, logs and top code of the cluster target read it
unchanged.

Nothing is imported here: `python -m arena_run.local.sandbox`, which runs
inside every replica's namespaces, must start with as little as possible.
"""

"""Pure types shared by the planner and the targets it plans for.

Keys of objects, the live state a plan is made against, and the ApplySet
labels and parent record: no I/O and no Kubernetes client, so the planner
stays target-neutral (`arena_run.cluster` reads live state into these types;
other targets may too).
"""

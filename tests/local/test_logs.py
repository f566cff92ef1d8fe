"""logs --local: the replica Arena's rule picks, or the one named; --tail, --point, -f."""

from __future__ import annotations

from .conftest import wait_until

SWEEP = '''
name = "lg"
[[data]]
pvc = "lg"
mount = "/out"
[job]
image = "python:3.12"
command = "for i in 1 2 3; do echo {{word}} $i; done; while [ ! -e /out/go ]; do sleep 0.05; done; echo {{word}} done"
[sweep]
word = ["alpha", "beta"]
'''


def test_point_tail_and_follow(local):
    f = local.write("lg", SWEEP)
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    store = local.store()
    jobs = sorted(e["object"]["metadata"]["name"] for e in store.objects("lg"))
    alpha = next(e["object"]["metadata"]["name"] for e in store.objects("lg")
                 if '"alpha"' in e["object"]["metadata"]["annotations"]["arena-run.io/sweep-params"])
    suffix = alpha.rsplit("-", 1)[1]
    wait_until(lambda: "alpha 3" in local.cli("logs", "--local", "lg", "--point", suffix).stdout, what="alpha's lines")
    assert local.cli("logs", "--local", "lg", "--point", suffix, "--tail", "1").stdout == "alpha 3\n"
    assert local.cli("logs", "--local", alpha).stdout.startswith("alpha 1\n")  # a point's job name finds it too
    follow = local.popen("logs", "--local", "lg", "--point", suffix, "-f")
    (local.volume("lg") / "go").touch()
    out, err = follow.communicate(timeout=60)  # -f ends when the replica does
    assert follow.returncode == 0, err
    assert out == "alpha 1\nalpha 2\nalpha 3\nalpha done\n"
    assert len(jobs) == 2
    bad = local.cli("logs", "--local", "lg", "--point", "nope")
    assert bad.returncode == 1 and "no sweep point 'nope'" in bad.stderr
    since = local.cli("logs", "--local", "lg", "--point", suffix, "--since", "1m")
    assert since.returncode == 2 and "not with --local" in since.stderr

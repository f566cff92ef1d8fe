"""A volume's subPath in a container never follows a link a job left in the volume (issue 18 item 2,
kubelet's CVE-2017-1002101), on real Podman: the engine would follow it out of the volume onto the host."""

from __future__ import annotations

FILE = '''
name = "sub"
[[data]]
pvc = "out"
mount = "/out"
sub_path = "{sub}"
[job]
image = "{image}"
image_pull_policy = "Never"
command = "echo written > /out/f"
'''


def test_a_sub_path_through_a_link_in_the_volume_is_refused_and_nothing_reaches_the_host(clocal, engine, busybox_image,
                                                                                        tmp_path):
    host = tmp_path / "host-dir"
    host.mkdir()
    volume = tmp_path / "vol"
    (volume / "real").mkdir(parents=True)
    (volume / "sub").symlink_to(host)  # left by an earlier job
    for sub in ("sub", "sub/deeper"):
        f = clocal.write("sub", FILE.format(sub=sub, image=busybox_image))
        result = clocal.cli("apply", "--local", "--container", "-y", "--wait", "--volume", f"out={volume}", f,
                            timeout=240)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "sub is a symbolic link in the volume" in result.stderr, result.stderr
        assert list(host.iterdir()) == []
        assert clocal.cli("delete", "--local", "-y", "sub").returncode == 0
    f = clocal.write("sub", FILE.format(sub="real", image=busybox_image))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", "--volume", f"out={volume}", f, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (volume / "real" / "f").read_text() == "written\n" and list(host.iterdir()) == []

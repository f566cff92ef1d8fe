"""A throwaway PKI for one control plane, made with the openssl CLI.

One CA signs the apiserver's serving certificate and the client
certificates; Kubernetes takes the user name from a client certificate's CN
and its groups from O, so O=system:masters makes the admin a cluster admin
without any RBAC binding. ECDSA P-256 keys: quick to generate, and accepted
by the apiserver for service-account token signing as well.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

from .versions import KUEUE_NAMESPACE, KUEUE_VISIBILITY_SERVICE

ADMIN_USER = "arena-run-admin"
LIMITED_USER = "arena-run-limited"

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{proc.stderr}")


def _ext_file(pki: Path, name: str, lines: list[str]) -> Path:
    # Our own extension section, so the system openssl.cnf defaults don't mix in.
    path = pki / f"{name}.ext"
    path.write_text("[ext]\n" + "\n".join(lines) + "\n")
    return path


def _ca(pki: Path, name: str, cn: str) -> None:
    ext = _ext_file(pki, name, [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        "subjectKeyIdentifier=hash",
    ])
    _openssl("req", "-x509", "-new", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.crt",
             "-days", "3650", "-subj", f"/CN={cn}",
             "-config", ext.name, "-extensions", "ext", cwd=pki)
    ext.unlink()


def _leaf(pki: Path, name: str, subject: str, ext: list[str], ca: str = "ca") -> None:
    _openssl("req", "-new", *_EC, "-keyout", f"{name}.key", "-subj", subject,
             "-out", f"{name}.csr", cwd=pki)
    extfile = _ext_file(pki, name, ext)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-set_serial", "0x" + secrets.token_hex(16), "-days", "3650",
             "-extfile", extfile.name, "-extensions", "ext", "-out", f"{name}.crt", cwd=pki)
    (pki / f"{name}.csr").unlink()
    extfile.unlink()


def _client(pki: Path, name: str, user: str, groups: list[str]) -> None:
    subject = "".join(f"/O={g}" for g in groups) + f"/CN={user}"
    _leaf(pki, name, subject, [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
    ])


def make_pki(pki: Path, service_ip: str) -> None:
    """Write ca, apiserver, webhook, admin, limited and service-account keys to pki/."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make the test cluster's certificates")
    pki.mkdir(parents=True, exist_ok=True)
    _ca(pki, "ca", "arena-run-test-ca")
    # A second CA for the apiserver's front proxy (request-header
    # authentication), as kubeadm sets up; without it the controller manager
    # and scheduler log errors about a missing requestheader CA.
    _ca(pki, "front-proxy-ca", "arena-run-test-front-proxy-ca")
    _leaf(pki, "front-proxy-client", "/CN=front-proxy-client", [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
    ], ca="front-proxy-ca")
    _leaf(pki, "apiserver", "/CN=kube-apiserver", [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
        f"DNS:kubernetes.default.svc.cluster.local,IP:{service_ip}",
    ])
    # The operators' webhook servers, which the apiserver calls by URL, and
    # Kueue's visibility server, which the aggregator reaches through a
    # Service and checks for that Service's name.
    _leaf(pki, "webhook", "/CN=training-operator-webhook", [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,"
        f"DNS:{KUEUE_VISIBILITY_SERVICE}.{KUEUE_NAMESPACE}.svc",
    ])
    _client(pki, "admin", ADMIN_USER, ["system:masters"])
    _client(pki, "limited", LIMITED_USER, [])
    # Service-account token signing key pair (apiserver signs, both verify).
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key", cwd=pki)
    _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)

"""Validates the Kubernetes manifests in docker/kubernetes/ (issue 5).

Each sub-directory (ingress/, sidecar/) is one deployable set. For each:
every YAML document parses and is a known kind; the airgate container has
liveness /healthz and readiness /readyz probes on the admin port, resources,
and a non-root, read-only, no-privilege securityContext; every ConfigMap /
Secret (and key) referenced by a volume or env exists in the set; every file
the config names is provided by a mounted volume; selectors of Service, PDB
and HPA find the Deployment; and the config in the ConfigMap passes
`airgate check` ($AIRGATE_BIN, set by ctest) with stand-in certificate, key
and users files where the volumes would put them.

Needs PyYAML (Debian: python3-yaml).
"""

import os
import posixpath
import subprocess
import tempfile
import unittest

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(REPO, "docker", "kubernetes")
SETS = ["ingress", "sidecar"]

API_VERSIONS = {
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Certificate": "cert-manager.io/v1",
}
REQUIRED_KINDS = {
    "ingress": {"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget",
                "HorizontalPodAutoscaler"},
    "sidecar": {"ConfigMap", "Secret", "Deployment", "Service"},
}
CONFIG_PATH = "/etc/airgate/airgate.yaml"  # the image's default AIRGATE_CONFIG


def airgate_bin():
    b = os.environ.get("AIRGATE_BIN")
    if b:
        return b
    local = os.path.join(REPO, "build", "airgate")
    return local if os.access(local, os.X_OK) else None


def load_set(name):
    """[(file, index, doc)] for every document of every .yaml file of a set."""
    docs = []
    d = os.path.join(K8S, name)
    for fn in sorted(os.listdir(d)):
        if not fn.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(d, fn), encoding="utf-8") as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if doc is not None:
                    docs.append((fn, i, doc))
    return docs


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def is_airgate(container):
    return "airgate" in container.get("image", "")


@unittest.skipIf(yaml is None, "PyYAML missing: apt-get install python3-yaml (scripts/install-deps)")
class K8sManifests(unittest.TestCase):
    def setUp(self):
        self.sets = {s: load_set(s) for s in SETS}

    def objects(self, s, kind):
        return [d for _, _, d in self.sets[s] if d.get("kind") == kind]

    def by_name(self, s, kind, name):
        for d in self.objects(s, kind):
            if d["metadata"]["name"] == name:
                return d
        return None

    def keys_of(self, obj):
        return set((obj.get("data") or {}).keys()) | set((obj.get("stringData") or {}).keys())

    # -- parsing and kinds ------------------------------------------------------

    def test_documents_parse_with_known_kinds(self):
        for s, docs in self.sets.items():
            self.assertTrue(docs, f"{s}: no documents")
            kinds = set()
            for fn, i, d in docs:
                where = f"{s}/{fn} document {i}"
                self.assertIsInstance(d, dict, where)
                kind = d.get("kind")
                self.assertIn(kind, API_VERSIONS, f"{where}: unexpected kind {kind!r}")
                self.assertEqual(d.get("apiVersion"), API_VERSIONS[kind], f"{where}: apiVersion")
                self.assertTrue(d.get("metadata", {}).get("name"), f"{where}: metadata.name")
                kinds.add(kind)
            missing = REQUIRED_KINDS[s] - kinds
            self.assertFalse(missing, f"{s}: missing kinds {sorted(missing)}")
            names = [(d["kind"], d["metadata"]["name"]) for _, _, d in docs]
            self.assertEqual(len(names), len(set(names)), f"{s}: duplicate objects {names}")

    # -- the airgate container ----------------------------------------------------

    def airgate_containers(self, s):
        out = []
        for dep in self.objects(s, "Deployment"):
            pod = dep["spec"]["template"]["spec"]
            for c in pod["containers"]:
                if is_airgate(c):
                    out.append((dep, pod, c))
        return out

    def test_probes_on_admin_port(self):
        for s in SETS:
            found = self.airgate_containers(s)
            self.assertEqual(len(found), 1, f"{s}: expected one airgate container")
            dep, pod, c = found[0]
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            self.assertEqual(ports.get("https"), 8443, f"{s}: https port")
            self.assertEqual(ports.get("admin"), 9901, f"{s}: admin port")
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                p = c.get(probe)
                self.assertIsNotNone(p, f"{s}: {probe} missing")
                get = p["httpGet"]
                self.assertEqual(get["path"], path, f"{s}: {probe} path")
                port = get["port"]
                port = ports.get(port, port) if isinstance(port, str) else port
                self.assertEqual(port, 9901, f"{s}: {probe} must target the admin port")
                self.assertNotEqual(get.get("scheme", "HTTP"), "HTTPS", f"{s}: admin is plain HTTP")

    def test_resources(self):
        for s in SETS:
            _, _, c = self.airgate_containers(s)[0]
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                self.assertIn("memory", res.get(part, {}), f"{s}: resources.{part}.memory")
            self.assertIn("cpu", res.get("requests", {}), f"{s}: resources.requests.cpu")

    def test_security_context(self):
        for s in SETS:
            _, pod, c = self.airgate_containers(s)[0]
            psc = pod.get("securityContext", {})
            sc = c.get("securityContext", {})

            def eff(key):
                return sc.get(key, psc.get(key))

            self.assertIs(eff("runAsNonRoot"), True, f"{s}: runAsNonRoot")
            self.assertEqual(eff("runAsUser"), 10001, f"{s}: runAsUser")
            self.assertIs(sc.get("allowPrivilegeEscalation"), False, f"{s}: allowPrivilegeEscalation")
            self.assertIs(sc.get("readOnlyRootFilesystem"), True, f"{s}: readOnlyRootFilesystem")
            self.assertIn("ALL", sc.get("capabilities", {}).get("drop", []), f"{s}: drop ALL")
            self.assertNotIn("add", sc.get("capabilities", {}), f"{s}: no added capabilities")
            self.assertFalse(sc.get("privileged", False), f"{s}: privileged")
            self.assertNotIn("hostNetwork", pod, f"{s}: hostNetwork")

    # -- references -------------------------------------------------------------

    def referenced(self, pod, c):
        """[(kind, name, key or None, optional)] referenced by the container."""
        refs = []
        for e in c.get("env", []):
            vf = e.get("valueFrom", {})
            for k, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                if k in vf:
                    refs.append((kind, vf[k]["name"], vf[k]["key"], vf[k].get("optional", False)))
        for e in c.get("envFrom", []):
            for k, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if k in e:
                    refs.append((kind, e[k]["name"], None, e[k].get("optional", False)))
        return refs

    def volume_sources(self, vol):
        """[(kind, name, items or None, optional)] of a volume."""
        out = []
        if "configMap" in vol:
            v = vol["configMap"]
            out.append(("ConfigMap", v["name"], v.get("items"), v.get("optional", False)))
        if "secret" in vol:
            v = vol["secret"]
            out.append(("Secret", v["secretName"], v.get("items"), v.get("optional", False)))
        for src in vol.get("projected", {}).get("sources", []):
            if "configMap" in src:
                v = src["configMap"]
                out.append(("ConfigMap", v["name"], v.get("items"), v.get("optional", False)))
            if "secret" in src:
                v = src["secret"]
                out.append(("Secret", v["name"], v.get("items"), v.get("optional", False)))
        return out

    def provided_files(self, s, pod, c):
        """{absolute path in the container: (kind, name, key)} from mounted volumes."""
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        files = {}
        for m in c.get("volumeMounts", []):
            self.assertIn(m["name"], vols, f"{s}: volumeMount {m['name']} has no volume")
            if m.get("subPath"):
                continue
            for kind, name, items, _ in self.volume_sources(vols[m["name"]]):
                obj = self.by_name(s, kind, name)
                if obj is None:
                    continue
                if items:
                    for it in items:
                        files[posixpath.join(m["mountPath"], it["path"])] = (kind, name, it["key"])
                else:
                    for k in self.keys_of(obj):
                        files[posixpath.join(m["mountPath"], k)] = (kind, name, k)
        return files

    def test_referenced_configmaps_and_secrets_exist(self):
        for s in SETS:
            for dep in self.objects(s, "Deployment"):
                pod = dep["spec"]["template"]["spec"]
                vols = pod.get("volumes", [])
                refs = []
                for v in vols:
                    for kind, name, items, optional in self.volume_sources(v):
                        if items:
                            refs += [(kind, name, it["key"], optional) for it in items]
                        else:
                            refs.append((kind, name, None, optional))
                for c in pod["containers"]:
                    refs += self.referenced(pod, c)
                for kind, name, key, optional in refs:
                    obj = self.by_name(s, kind, name)
                    if optional and obj is None:
                        continue
                    self.assertIsNotNone(obj, f"{s}: {dep['metadata']['name']} references {kind} {name}, not defined")
                    if key is not None:
                        self.assertIn(key, self.keys_of(obj), f"{s}: {kind} {name} has no key {key!r}")
            for sec in self.objects(s, "Secret"):
                if sec.get("type") == "kubernetes.io/tls":
                    self.assertLessEqual({"tls.crt", "tls.key"}, self.keys_of(sec),
                                         f"{s}: TLS secret {sec['metadata']['name']}")
            for cert in self.objects(s, "Certificate"):
                name = cert["spec"]["secretName"]
                sec = self.by_name(s, "Secret", name)
                self.assertIsNotNone(sec, f"{s}: Certificate writes {name}, which nothing mounts")
                self.assertEqual(sec.get("type"), "kubernetes.io/tls")

    def test_selectors_find_the_deployment(self):
        for s in SETS:
            deps = self.objects(s, "Deployment")
            for dep in deps:
                self.assertTrue(matches(dep["spec"]["selector"]["matchLabels"],
                                        dep["spec"]["template"]["metadata"]["labels"]),
                                f"{s}: Deployment selector does not match its pods")
            dep, pod, c = self.airgate_containers(s)[0]
            labels = dep["spec"]["template"]["metadata"]["labels"]
            port_names = {p["name"] for p in c["ports"]}
            for svc in self.objects(s, "Service"):
                self.assertTrue(matches(svc["spec"]["selector"], labels), f"{s}: Service selector")
                for p in svc["spec"]["ports"]:
                    tp = p["targetPort"]
                    self.assertIn(tp if isinstance(tp, str) else None, port_names | {None})
                    self.assertIn(tp, ("https", 8443), f"{s}: Service must reach airgate's TLS port, not {tp}")
            for pdb in self.objects(s, "PodDisruptionBudget"):
                self.assertTrue(matches(pdb["spec"]["selector"]["matchLabels"], labels), f"{s}: PDB selector")
            for hpa in self.objects(s, "HorizontalPodAutoscaler"):
                ref = hpa["spec"]["scaleTargetRef"]
                self.assertEqual((ref["kind"], ref["name"]), ("Deployment", dep["metadata"]["name"]))
                self.assertGreaterEqual(hpa["spec"]["minReplicas"], 2, f"{s}: HPA minReplicas (PDB needs > 1)")
                self.assertLessEqual(hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])

    # -- the airgate configuration ----------------------------------------------

    def config_of(self, s):
        """(container config path, ConfigMap text, provided files) for the set."""
        dep, pod, c = self.airgate_containers(s)[0]
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        path = env.get("AIRGATE_CONFIG") or CONFIG_PATH
        for a in c.get("args", []):
            self.assertNotIn(a, ("-c", "--config"), f"{s}: use AIRGATE_CONFIG, the test follows it")
        files = self.provided_files(s, pod, c)
        self.assertIn(path, files, f"{s}: the config file {path} is not mounted")
        kind, name, key = files[path]
        self.assertEqual(kind, "ConfigMap", f"{s}: config should come from a ConfigMap")
        obj = self.by_name(s, kind, name)
        return path, obj["data"][key], files, c

    def test_config_files_are_mounted_and_admin_reachable(self):
        for s in SETS:
            path, text, files, c = self.config_of(s)
            cfg = yaml.safe_load(text) or {}
            base = posixpath.dirname(path)

            def resolve(p):
                return p if p.startswith("/") else posixpath.normpath(posixpath.join(base, p))

            named = []
            for lst in cfg.get("listen", []):
                tls = lst.get("tls") or {}
                named += [tls.get("certificate"), tls.get("private_key"), tls.get("client_ca")]
                for sni in tls.get("sni", []) or []:
                    named += [sni.get("certificate"), sni.get("private_key")]
            basic = (cfg.get("auth") or {}).get("basic") or {}
            named.append(basic.get("users_file"))
            named.append(((cfg.get("auth") or {}).get("session") or {}).get("secret_file"))
            named.append((cfg.get("upstream") or {}).get("ca_file"))
            for p in filter(None, named):
                self.assertFalse(p.startswith("/"), f"{s}: {p}: use paths relative to the config's directory")
                self.assertIn(resolve(p), files, f"{s}: config names {p}, no volume provides it")
            # Certificates and keys come from a Secret, not a ConfigMap.
            for p in filter(None, named):
                self.assertEqual(files[resolve(p)][0], "Secret", f"{s}: {p} should come from a Secret")

            admin = (cfg.get("admin") or {}).get("address")
            self.assertEqual(admin, "0.0.0.0:9901", f"{s}: kubelet probes need admin on the pod IP")
            listen_ports = {int(l["address"].rsplit(":", 1)[1]) for l in cfg.get("listen", [])}
            container_ports = {p["containerPort"] for p in c["ports"]}
            self.assertLessEqual(listen_ports | {9901}, container_ports, f"{s}: ports")
            self.assertTrue(all(l.get("tls") is not None or l.get("redirect_to_https")
                                for l in cfg.get("listen", [])), f"{s}: every listener terminates TLS")

    def materialize(self, d, path, files):
        """Writes the pod's /etc/airgate into d: the config and a stand-in for
        every mounted Secret file (`airgate check` reads certificates, keys and
        users files). Returns the config path in d."""
        base = posixpath.dirname(path)
        cert = key = None
        for cpath, (kind, _, k) in sorted(files.items()):
            if not cpath.startswith(base + "/"):
                continue
            local = os.path.join(d, posixpath.relpath(cpath, base))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            if cpath == path:
                continue
            if k == "session.key":
                data = os.urandom(32)
            elif k.endswith(".crt") or k.endswith(".key"):
                if cert is None:
                    cert, key = os.path.join(d, ".standin.crt"), os.path.join(d, ".standin.key")
                    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                                   check=True, capture_output=True, timeout=60)
                with open(cert if k.endswith(".crt") else key, "rb") as src:
                    data = src.read()
            elif k == "htpasswd":
                h = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input="standin-password-123\n",
                                   check=True, capture_output=True, text=True, timeout=60).stdout.strip()
                data = ("admin:" + h + "\n").encode()
            else:
                data = b""
            with open(local, "wb") as out:
                out.write(data)
            os.chmod(local, 0o600)
        return os.path.join(d, posixpath.relpath(path, base))

    def test_config_passes_airgate_check(self):
        b = airgate_bin()
        if not b:
            self.skipTest("AIRGATE_BIN not set and build/airgate missing")
        for s in SETS:
            path, text, files, _ = self.config_of(s)
            with tempfile.TemporaryDirectory() as d:
                f = self.materialize(d, path, files)
                with open(f, "w", encoding="utf-8") as out:
                    out.write(text)
                env = {k: v for k, v in os.environ.items()
                       if not k.startswith(("BASIC_AUTH_", "PROXY_PASS_WEB", "AIRGATE_CONFIG"))}
                r = subprocess.run([b, "check", "-c", f], capture_output=True, text=True, env=env, timeout=60)
                self.assertEqual(r.returncode, 0, f"{s}: airgate check failed:\n{r.stdout}{r.stderr}")

    def test_image_default_config_passes_airgate_check(self):
        b = airgate_bin()
        if not b:
            self.skipTest("AIRGATE_BIN not set and build/airgate missing")
        r = subprocess.run([b, "check", "-c", os.path.join(REPO, "docker", "airgate.yaml")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()

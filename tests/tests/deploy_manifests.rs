//! The Kubernetes manifests in `deploy/kubernetes` are valid and agree
//! with each other: no cluster is needed to find a misspelt field or a
//! Deployment reading a Secret key that the Secret does not have.
//!
//! `kubernetes-validate` (pinned, installed by
//! `.ci/kubernetes-validate-install` into a virtual environment under the
//! user's cache; the README's test command runs it first) checks every
//! manifest against the API's schemas in strict mode, offline: it bundles
//! the schemas. The cross-checks then read the manifests as JSON, through
//! the PyYAML that the validator itself parses them with, so both see the
//! same documents and the suite needs no YAML crate of its own.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the manifests are held to: the oldest release
/// they are meant for (`autoscaling/v2`, `policy/v1` and the preStop
/// `sleep` action are all there), so they work on it and everything newer.
const KUBERNETES_VERSION: &str = "1.30.0";

/// The environment variables the hosts take from the Secret.
const SECRET_ENV: [&str; 2] = ["WEFT_SECRET_KEY", "WEFT_DATABASE_URL"];

/// Seconds a synchronous execute call waits when the settings leave it
/// out (`weft serve --help`).
const DEFAULT_EXECUTE_TIMEOUT_SECS: i64 = 55;

fn manifest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes")
}

/// Where `.ci/kubernetes-validate-install` puts the virtual environment
/// (the same rule as the script: `WEFT_KUBERNETES_VALIDATE_VENV`, else the
/// user's cache).
fn venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEFT_KUBERNETES_VALIDATE_VENV") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("weft").join("kubernetes-validate-venv")
}

/// A program from the venv, or a failure saying how to install it.
fn venv_bin(name: &str) -> PathBuf {
    let bin = venv().join("bin").join(name);
    assert!(
        bin.is_file(),
        "kubernetes-validate is not installed (no {}); run .ci/kubernetes-validate-install, \
         which the README's test command runs before cargo test",
        bin.display()
    );
    bin
}

/// Every Kubernetes resource file: the `.yaml` files but the
/// kustomization, which is kustomize's input, not a resource.
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifest_dir())
        .expect("read deploy/kubernetes")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in deploy/kubernetes");
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

/// The documents of one YAML file, as JSON.
fn documents(path: &Path) -> Vec<Value> {
    let out = Command::new(venv_bin("python"))
        .args([
            "-c",
            "import json, sys, yaml\n\
             with open(sys.argv[1]) as f:\n    \
                 json.dump([d for d in yaml.safe_load_all(f) if d is not None], sys.stdout)",
        ])
        .arg(path)
        .output()
        .expect("run the venv's python");
    assert!(
        out.status.success(),
        "{} is not YAML: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("PyYAML's JSON")
}

/// All resources of the directory by kind (each kind once).
fn resources() -> BTreeMap<String, Value> {
    let mut by_kind = BTreeMap::new();
    for path in manifests() {
        for doc in documents(&path) {
            let kind = doc["kind"].as_str().expect("kind").to_string();
            assert!(
                by_kind.insert(kind.clone(), doc).is_none(),
                "two {kind} resources; the checks below expect one"
            );
        }
    }
    by_kind
}

/// `(variable, secret name, secret key)` for each variable a pod spec's
/// containers take from a Secret.
fn secret_env(pod: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for container in pod["containers"].as_array().expect("containers") {
        for var in container["env"].as_array().into_iter().flatten() {
            let reference = &var["valueFrom"]["secretKeyRef"];
            if reference.is_object() {
                found.push((
                    var["name"].as_str().expect("env name").to_string(),
                    reference["name"].as_str().expect("secret name").to_string(),
                    reference["key"].as_str().expect("secret key").to_string(),
                ));
            }
        }
        assert!(
            container["envFrom"].is_null(),
            "envFrom hides which variables a container reads; list them in env"
        );
    }
    found
}

/// A container's plain `value` environment variables.
fn plain_env(container: &Value) -> BTreeMap<String, String> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|var| {
            Some((
                var["name"].as_str()?.to_string(),
                var["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .expect("selector labels")
        .iter()
        .all(|(k, v)| labels[k] == *v)
}

#[test]
fn every_manifest_passes_the_kubernetes_schemas_in_strict_mode() {
    let validator = venv_bin("kubernetes-validate");
    let files = manifests();
    let out = Command::new(&validator)
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .expect("run kubernetes-validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate refused the manifests:\n{report}"
    );
    // A kind or apiVersion it has no schema for is only a warning, and a
    // resource it did not check is no better than a wrong one.
    assert!(
        !report.contains("WARN") && !report.contains("ERROR"),
        "kubernetes-validate did not pass every resource:\n{report}"
    );
    for file in &files {
        let name = file_name(file);
        assert!(
            report
                .lines()
                .any(|l| l.contains(&name) && l.contains(" passed for resource ")),
            "kubernetes-validate checked no resource in {name}:\n{report}"
        );
    }
}

#[test]
fn the_deployment_reads_what_the_secret_and_the_config_map_hold() {
    let all = resources();
    let deployment = &all["Deployment"];
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "one weft container per pod");
    let weft = &containers[0];

    // Traffic only to hosts whose /healthz answers.
    let readiness = &weft["readinessProbe"]["httpGet"];
    assert_eq!(
        readiness["path"], "/healthz",
        "readiness probe: {readiness}"
    );
    assert!(weft["livenessProbe"].is_object(), "no liveness probe");

    // The Secret has exactly the keys the hosts read, each variable named
    // after its key.
    let secret = &all["Secret"];
    let secret_name = secret["metadata"]["name"].as_str().expect("secret name");
    let secret_keys: BTreeSet<&str> = secret["stringData"]
        .as_object()
        .expect("the Secret's stringData")
        .keys()
        .map(String::as_str)
        .collect();
    let read = secret_env(pod);
    for (var, name, key) in &read {
        assert_eq!(name, secret_name, "{var} reads another Secret");
        assert_eq!(var, key, "{var} reads Secret key {key}");
    }
    let read_keys: BTreeSet<&str> = read.iter().map(|(_, _, key)| key.as_str()).collect();
    assert_eq!(
        read_keys,
        BTreeSet::from(SECRET_ENV),
        "the Deployment's Secret variables"
    );
    assert_eq!(secret_keys, read_keys, "the Secret's keys");

    // The migration Job reads only what the Secret holds.
    let job_pod = &all["Job"]["spec"]["template"]["spec"];
    for (var, name, key) in secret_env(job_pod) {
        assert_eq!(name, secret_name, "the Job's {var} reads another Secret");
        assert!(secret_keys.contains(key.as_str()), "the Job reads {key}");
    }

    // `--config` names the ConfigMap's file where it is mounted.
    let args: Vec<&str> = weft["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("arg"))
        .collect();
    assert_eq!(args.first(), Some(&"serve"), "args: {args:?}");
    let config_path = args
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1])
        .expect("serve --config");
    let config_map = &all["ConfigMap"];
    let volumes = pod["volumes"].as_array().expect("volumes");
    let settings_volume = volumes
        .iter()
        .find(|v| v["configMap"]["name"] == config_map["metadata"]["name"])
        .expect("a volume of the ConfigMap");
    let mount = weft["volumeMounts"]
        .as_array()
        .expect("volume mounts")
        .iter()
        .find(|m| m["name"] == settings_volume["name"])
        .expect("the ConfigMap mounted");
    let (dir, key) = config_path.rsplit_once('/').expect("--config is a path");
    assert_eq!(mount["mountPath"], dir, "--config {config_path}");
    let text = config_map["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("the ConfigMap has no {key}"));
    let settings: toml::Table = toml::from_str(text).expect("the settings are TOML");

    // The host listens on the port the probes and the Service use.
    let listen = settings["listen"].as_str().expect("listen");
    let port: i64 = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("listen has a port");
    let container_port = weft["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["name"] == readiness["port"])
        .expect("the probe's port is named");
    assert_eq!(container_port["containerPort"], port, "listen = {listen}");
    let service = &all["Service"];
    assert!(
        service["spec"]["ports"]
            .as_array()
            .expect("service ports")
            .iter()
            .any(|p| p["targetPort"] == container_port["name"]),
        "the Service does not target the container's port"
    );

    // An orderly stop outlasts the longest synchronous call.
    let execute_timeout = settings
        .get("execute_timeout_secs")
        .map_or(DEFAULT_EXECUTE_TIMEOUT_SECS, |t| {
            t.as_integer().expect("execute_timeout_secs")
        });
    let grace = pod["terminationGracePeriodSeconds"]
        .as_i64()
        .expect("terminationGracePeriodSeconds");
    assert!(
        grace > execute_timeout,
        "terminationGracePeriodSeconds {grace} ≤ execute_timeout_secs {execute_timeout}"
    );

    // Read-only root: every directory the host writes is a mounted volume.
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(weft["securityContext"]["readOnlyRootFilesystem"], true);
    let mounts: Vec<&str> = weft["volumeMounts"]
        .as_array()
        .expect("volume mounts")
        .iter()
        .map(|m| m["mountPath"].as_str().expect("mountPath"))
        .collect();
    let env = plain_env(weft);
    for var in ["WEFT_DATA_DIR", "WEFT_CACHE_DIR"] {
        let dir = env
            .get(var)
            .unwrap_or_else(|| panic!("{var} is not set; its default is under $HOME"));
        assert!(
            mounts.iter().any(|m| dir.starts_with(m)),
            "{var}={dir} is on the read-only root"
        );
    }
    let resources = &weft["resources"];
    for bound in ["requests", "limits"] {
        for what in ["cpu", "memory"] {
            assert!(
                resources[bound][what].is_string(),
                "no {bound}.{what} for the weft container"
            );
        }
    }
}

#[test]
fn the_fleet_survives_losing_a_host() {
    let all = resources();
    let deployment = &all["Deployment"];
    let name = &deployment["metadata"]["name"];
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert!(
        deployment["spec"]["replicas"].as_i64() >= Some(2),
        "fewer than two replicas"
    );

    let hpa = &all["HorizontalPodAutoscaler"]["spec"];
    assert_eq!(hpa["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(&hpa["scaleTargetRef"]["name"], name);
    assert!(
        hpa["minReplicas"].as_i64() >= Some(2),
        "HPA floor below two"
    );
    assert!(
        hpa["metrics"]
            .as_array()
            .expect("HPA metrics")
            .iter()
            .any(|m| m["resource"]["name"] == "cpu"),
        "the HPA does not scale on CPU"
    );

    let pdb = &all["PodDisruptionBudget"]["spec"];
    assert!(
        labels_match(&pdb["selector"]["matchLabels"], pod_labels),
        "the PodDisruptionBudget selects no weft pod"
    );
    assert!(
        labels_match(&all["Service"]["spec"]["selector"], pod_labels),
        "the Service selects no weft pod"
    );
    assert!(
        labels_match(&deployment["spec"]["selector"]["matchLabels"], pod_labels),
        "the Deployment's selector misses its own pods"
    );
}

#[test]
fn the_kustomization_lists_every_manifest_but_the_secret_and_the_job() {
    let kustomization = documents(&manifest_dir().join("kustomization.yaml"));
    let listed: BTreeSet<&str> = kustomization[0]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("resource"))
        .collect();
    let files: Vec<String> = manifests().iter().map(|p| file_name(p)).collect();
    let expected: BTreeSet<&str> = files
        .iter()
        .map(String::as_str)
        // The Secret holds placeholders that must never overwrite the real
        // one; the Job runs once per upgrade, before the rollout.
        .filter(|f| *f != "secret.yaml" && *f != "migrate-job.yaml")
        .collect();
    assert_eq!(listed, expected, "kustomization.yaml resources");
}

